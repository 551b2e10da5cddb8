"""The talk-to-a-person entry (rules.md §1) and the hand-over to routing (§2), as pure rules.

Readings chosen where the rules leave room (seed 003 wins over rules.md):
- The button exists only when the conversation's first reply came from the bot (the engine's
  own `bot.reply` or a logged `sender: bot` message). Every later bot reply renews it for
  `button_ttl`; once hidden, a click is `ignored`.
- Asking in words (`handoff.keywords`, or `after_misses` unanswered questions in a row) is
  the store's no-button path and works for every buyer while `[handoff] enabled`. A click
  from a buyer who was not shown the button (outside the rollout, the "no_button" A/B arm,
  an excluded tier, an expired button) is refused on the server: `ignored`, never more.
- A click while queued, or once a person has the conversation, is `ignored` (never a second
  assignment). An agent's own message makes the conversation human ("agent_message").
- Answered (rules.md §2 reply timeout, §4 item 6): a buyer message waits for an answer until
  an agent's message, a logged bot message or the engine bot's confident FAQ answer. The
  bot's "still learning" / "not sure" replies and the transfer texts do not answer it.
  `conv.ext["awaiting"]` holds when the first unanswered buyer message came (absent: none).
  A bare acknowledgement (好的, 谢谢, 嗯嗯, 那我拍了, ok …, no question mark) asks nothing
  and waits for no answer: buyers often close a chat with one.
- Reply timeout (`routing.reassign_after` > 0): the serving person has that long from the
  later of that message and their assignment; then `routing.reassign` moves the buyer.
"""

from __future__ import annotations

import re
from datetime import datetime

import msgspec

from kefu.conversations import bot, routing
from kefu.conversations.gate import button_arm, note_reception, store_tier
from kefu.engine import events as ev
from kefu.engine.actions import Action, AgentReply, Assign, BotReply, HandoffButton
from kefu.engine.core import Capability, Ctx
from kefu.engine.grouping import agent_state
from kefu.engine.state import Conversation, StoreState, Timer

AWAITING = "awaiting"
REPLY_DUE = "reply.due"
_ACK = re.compile(
    r"^(好的?|好滴|好哒|嗯+|哦+|噢+|ok|okay|thanks?|thank you|谢谢(亲|你|啦|了)?|多谢|感谢|收到|"
    r"知道了?|明白了?|行|可以的?|了解了?|没问题|那我(先)?(拍|买|下单)了?|我再看看|晚点(再)?(拍|买)|"
    r"拜拜|再见|亲|啦|了|呀|哈+)+$",
    re.IGNORECASE,
)
_NOISE = re.compile(r"[\s,.!~，。！～、…:：;；\-—\U0001F300-\U0001FAFF]+")


def asks_something(text: str) -> bool:
    """Whether a buyer message waits for an answer (everything but a bare acknowledgement)."""
    if "?" in text or "？" in text:
        return True
    bare = _NOISE.sub("", text)
    return bool(bare) and not _ACK.match(bare)


_OFFSETS: dict[tuple[int, str], int] = {}


def _offset_ms(ctx: Ctx) -> int:
    """The store timezone's UTC offset at ctx.now (cached per hour: offsets change on hours)."""
    tz = ctx.settings.tz
    key = (ctx.now // 3_600_000, tz.key)
    off = _OFFSETS.get(key)
    if off is None:
        if len(_OFFSETS) > 50_000:
            _OFFSETS.clear()
        delta = datetime.fromtimestamp(ctx.now / 1000, tz).utcoffset()
        off = _OFFSETS[key] = int(delta.total_seconds() * 1000) if delta else 0
    return off


def _first_bot_reply(st: StoreState, conv: Conversation, ctx: Ctx) -> list[Action]:
    """The first reply came from the bot: decide (once) whether the button is shown."""
    conv.first_reply = "bot"
    shown, variant, bucket = button_arm(st, conv.buyer, ctx.settings)
    conv.button = shown
    conv.variant = variant
    return [HandoffButton(ts=ctx.now, store=st.store, buyer=conv.buyer, conversation=conv.id,
                          shown=shown, variant=variant, bucket=bucket,
                          tier=store_tier(st, ctx.settings))]  # fmt: skip


def _bot_spoke(st: StoreState, conv: Conversation, ctx: Ctx) -> list[Action]:
    out: list[Action] = []
    if conv.first_reply is None:
        out = _first_bot_reply(st, conv, ctx)
    if conv.button:
        conv.button_until = ctx.now + ctx.settings.handoff.ms("button_ttl")
    return out


def button_visible(conv: Conversation, now: int) -> bool:
    """Whether the buyer sees the 转人工 button at `now`."""
    return conv.button and now <= conv.button_until


def transfer(st: StoreState, conv: Conversation, ctx: Ctx, trigger: str) -> list[Action]:
    """A request for a person (click or words): ignored, or routed."""
    if conv.human:
        return [routing.result(st, conv, ctx.now, "ignored", agent=conv.agent)]
    if conv.queued_at is not None:
        pos = routing.position(st, conv)
        return [routing.result(st, conv, ctx.now, "ignored", position=pos)]
    return routing.route(st, conv, ctx, trigger)


def _wants_person(text: str, keywords: list[str]) -> bool:
    low = text.lower()
    return any(k and k.lower() in low for k in keywords)


def on_message(st: StoreState, e: ev.Message, ctx: Ctx) -> list[Action] | None:
    """Buyer words may ask for a person or get the bot; agents take conversations by speaking."""
    conv = ctx.conversation
    if conv is None:
        return None
    if e.sender == "buyer":
        return _armed(st, ctx, _buyer_message(st, conv, e, ctx), conv)
    if e.sender == "bot":
        _answered(conv, ctx)
        return _bot_spoke(st, conv, ctx) or None
    if e.sender == "agent" and e.agent is not None:
        if conv.first_reply is None:
            conv.first_reply = "agent"
        _answered(conv, ctx)
        agent = agent_state(st, e.agent)
        st.last_agent[conv.buyer] = (agent.agent, ctx.now)
        out: list[Action] = []
        if not conv.human or conv.agent != agent.agent:
            out.append(routing.assign(st, conv, agent, ctx.now, "agent_message"))
        out.append(_reply_out(st, conv, e, ctx))
        return out
    return None


def _reply_out(st: StoreState, conv: Conversation, e: ev.Message, ctx: Ctx) -> AgentReply:
    """The agent's message as an action: what webhooks carry to the buyer's channel."""
    files = [msgspec.to_builtins(a) for a in e.attachments] if e.attachments else None
    return AgentReply(ts=ctx.now, store=st.store, buyer=conv.buyer, conversation=conv.id,
                      agent=str(e.agent), text=e.text, products=e.products or None,
                      attachments=files)  # fmt: skip


def unanswered_since(conv: Conversation) -> int | None:
    """When the buyer's first still-unanswered message came (None: every message answered)."""
    since = conv.ext.get(AWAITING)
    return int(since) if since is not None else None


def _answered(conv: Conversation, ctx: Ctx) -> None:
    conv.ext.pop(AWAITING, None)
    ctx.cancel(f"{REPLY_DUE}:{conv.id}")


def _arm(st: StoreState, conv: Conversation, ctx: Ctx) -> None:
    """(Re)arm the reply timeout of a person-served conversation with an unanswered buyer."""
    after = ctx.settings.routing.reassign_after_ms
    since = unanswered_since(conv)
    if after <= 0 or since is None or not conv.human or conv.closed is not None:
        return
    start = max(since, conv.assigned_at or since)
    ctx.schedule(f"{REPLY_DUE}:{conv.id}", start + after, REPLY_DUE,
                 buyer=conv.buyer, conversation=conv.id)  # fmt: skip


def _armed(
    st: StoreState, ctx: Ctx, actions: list[Action] | None, conv: Conversation | None = None
) -> list[Action] | None:
    """Arm reply timeouts for `conv` and every conversation these actions assigned."""
    if ctx.settings.routing.reassign_after_ms <= 0:
        return actions
    if conv is not None:
        _arm(st, conv, ctx)
    for a in actions or ():
        if isinstance(a, Assign):
            c = st.open.get(a.buyer)
            if c is not None and c.id == a.conversation:
                _arm(st, c, ctx)
    return actions


def on_reply_due(st: StoreState, timer: Timer, ctx: Ctx) -> list[Action] | None:
    """The serving person left the buyer unanswered for `reassign_after`: move the buyer."""
    conv = st.open.get(timer.data["buyer"])
    if conv is None or conv.id != timer.data["conversation"] or not conv.human:
        return None
    since = unanswered_since(conv)
    after = ctx.settings.routing.reassign_after_ms
    if since is None or after <= 0:
        return None
    start = max(since, conv.assigned_at or since)
    if ctx.now < start + after:  # the setting grew since the timer was set
        _arm(st, conv, ctx)
        return None
    return _armed(st, ctx, routing.reassign(st, conv, ctx, ctx.now - start))


def _buyer_message(
    st: StoreState, conv: Conversation, e: ev.Message, ctx: Ctx
) -> list[Action] | None:
    note_reception(st, e.buyer, ctx.now, _offset_ms(ctx))
    if AWAITING not in conv.ext and (e.product or e.products or asks_something(e.text)):
        conv.ext[AWAITING] = ctx.now
    conv.last_text = e.text
    if e.product is not None:
        conv.last_product = e.product
    elif e.products:
        conv.last_product = e.products[0]
    if conv.human or conv.queued_at is not None:
        return None
    s = ctx.settings
    if s.handoff.enabled and _wants_person(e.text, s.handoff.keywords):
        return transfer(st, conv, ctx, "keyword")
    if not s.bot.enabled:
        return None
    out: list[Action] = []
    product = e.product or (e.products[0] if e.products else None) or conv.last_product
    found = bot.answer(st, e.text, product, s.bot.threshold)
    first = conv.first_reply is None
    entry = found if found is not None and found.confident else None
    if entry is None:
        # Unknown or unsure: counts as a miss; the reply says so and shows the button.
        conv.bot_misses += 1
        limit = s.handoff.after_misses
        if s.handoff.enabled and limit > 0 and conv.bot_misses >= limit:
            conv.bot_misses = 0
            return transfer(st, conv, ctx, "bot_misses")
        text = s.bot.miss_text if found is None else s.bot.unsure_text
    else:
        conv.bot_misses = 0
        text = entry.text
        conv.ext.pop(AWAITING, None)  # a confident FAQ answer answers the buyer
    if first and s.bot.greeting:  # on a line of its own: never glued to the answer (#16)
        text = f"{s.bot.greeting.rstrip()}\n{text}"
    out.extend(_bot_spoke(st, conv, ctx))
    out.append(BotReply(ts=ctx.now, store=st.store, buyer=e.buyer, conversation=conv.id,
                        text=text, faq=entry.faq if entry else None,
                        transfer_button=button_visible(conv, ctx.now)))  # fmt: skip
    if entry is not None and s.bot.supplementary and entry.supplementary:
        out.append(BotReply(ts=ctx.now, store=st.store, buyer=e.buyer, conversation=conv.id,
                            text=entry.supplementary, faq=entry.supplementary_faq,
                            transfer_button=button_visible(conv, ctx.now)))  # fmt: skip
    return out


def on_click(st: StoreState, e: ev.TransferClick, ctx: Ctx) -> list[Action] | None:
    """The 转人工 button: honoured only while this buyer is shown the button."""
    conv = ctx.conversation
    if conv is None:
        return None
    if not conv.human and conv.queued_at is None and not button_visible(conv, ctx.now):
        return [routing.result(st, conv, ctx.now, "ignored")]
    return _armed(st, ctx, transfer(st, conv, ctx, "button"))


def on_transfer(st: StoreState, e: ev.Transfer, ctx: Ctx) -> list[Action] | None:
    """An agent hands the conversation to a colleague (if free) or to a skill group."""
    conv = st.open.get(e.buyer)
    if conv is None:
        return None
    if e.to_agent is not None:
        target = st.agents.get(e.to_agent)
        if (
            target is None
            or target.status != "online"
            or target.open >= routing.capacity(target, ctx.settings)
        ):
            return [routing.result(st, conv, ctx.now, "failed", agent=e.to_agent,
                                   text="colleague offline or full")]  # fmt: skip
        return _armed(st, ctx, [routing.assign(st, conv, target, ctx.now, "transfer:agent")])
    agent = routing.free_agent(st, e.to_group or "", ctx.settings)
    if agent is not None:
        return _armed(st, ctx, [routing.assign(st, conv, agent, ctx.now, "transfer:group")])
    routing.release(st, conv)
    conv.human = False
    conv.agent = None
    return [routing.enqueue(st, conv, e.to_group or "", ctx.now, ctx.settings.handoff.queue_text)]


def on_capacity_change(st: StoreState, e: ev.Event, ctx: Ctx) -> list[Action] | None:
    """An agent came online or got more capacity: serve the queue."""
    return _armed(st, ctx, routing.drain(st, ctx)) or None


def on_faq(st: StoreState, e: ev.Faq, ctx: Ctx) -> list[Action] | None:
    """Store FAQ upsert for the bot."""
    bot.apply_faq(st, e)
    return None


def on_conversation_closed(st: StoreState, conv: Conversation, ctx: Ctx) -> list[Action] | None:
    """A conversation ended: free its agent, drop it from the queue, serve the queue."""
    out: list[Action] = []
    if conv.queued_at is not None:
        out.append(routing.queue_leave_action(st, conv, ctx.now, "closed"))
    routing.release(st, conv)
    ctx.cancel(f"{REPLY_DUE}:{conv.id}")
    out.extend(_armed(st, ctx, routing.drain(st, ctx)) or ())
    return out or None


CAPABILITY = Capability(
    name="conversations",
    events={
        "message": on_message,
        "transfer.click": on_click,
        "transfer": on_transfer,
        "agent": on_capacity_change,
        "agent.status": on_capacity_change,
        "faq": on_faq,
    },
    timers={REPLY_DUE: on_reply_due},
    on_close=on_conversation_closed,
)
