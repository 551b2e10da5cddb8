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
"""

from __future__ import annotations

from datetime import datetime

from kefu.conversations import bot, routing
from kefu.conversations.gate import button_arm, note_reception
from kefu.engine import events as ev
from kefu.engine.actions import Action, BotReply, HandoffButton
from kefu.engine.core import Capability, Ctx
from kefu.engine.grouping import agent_state
from kefu.engine.state import Conversation, StoreState

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
                          shown=shown, variant=variant, bucket=bucket)]  # fmt: skip


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
        return _buyer_message(st, conv, e, ctx)
    if e.sender == "bot":
        return _bot_spoke(st, conv, ctx) or None
    if e.sender == "agent" and e.agent is not None:
        if conv.first_reply is None:
            conv.first_reply = "agent"
        agent = agent_state(st, e.agent)
        st.last_agent[conv.buyer] = (agent.agent, ctx.now)
        if not conv.human or conv.agent != agent.agent:
            return [routing.assign(st, conv, agent, ctx.now, "agent_message")]
    return None


def _buyer_message(
    st: StoreState, conv: Conversation, e: ev.Message, ctx: Ctx
) -> list[Action] | None:
    note_reception(st, e.buyer, ctx.now, _offset_ms(ctx))
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
    return transfer(st, conv, ctx, "button")


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
        return [routing.assign(st, conv, target, ctx.now, "transfer:agent")]
    agent = routing.free_agent(st, e.to_group or "", ctx.settings)
    if agent is not None:
        return [routing.assign(st, conv, agent, ctx.now, "transfer:group")]
    routing.release(st, conv)
    conv.human = False
    conv.agent = None
    return [routing.enqueue(st, conv, e.to_group or "", ctx.now, ctx.settings.handoff.queue_text)]


def on_capacity_change(st: StoreState, e: ev.Event, ctx: Ctx) -> list[Action] | None:
    """An agent came online or got more capacity: serve the queue."""
    return routing.drain(st, ctx) or None


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
    out.extend(routing.drain(st, ctx))
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
    on_close=on_conversation_closed,
)
