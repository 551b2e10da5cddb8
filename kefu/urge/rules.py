"""Automatic urge-to-buy (自动催拍) as pure rules — rules.md §4, seed 002.

An urge is due `urge.delay` after the latest message of a conversation in which the buyer
consulted (each new message moves the due time). When it falls due the checks run in this
order and the first that fails gives the `urge.skip` reason: `disabled`, `unanswered` (the
buyer's latest message has no answer yet — by an agent, a logged bot message or the bot's
confident FAQ answer; the person serving the conversation, if any, gets an `urge.alert` at
once instead: an urge must never read as if the shop ignored the question), `ordered` (an
order since the conversation began), `low_intent`, `cap_conversation` (one per conversation),
`cap_24h` (one per buyer per store per rolling 24 h), `aftersale` (a case open, or closed
within `aftersale_cooldown`), `no_sender` (`last_agent`, then `assistant`).

Copy never claims what the catalogue does not say (`kefu.urge.copy`).

Product: the one an agent recommended in this conversation, else the highest-intent card the
buyer sent in the last 24 h (bot conversations included), else none (generic copy).
Fallback: `urge.alert` to the human agent `alert_after` after the urge if still no order.
"""

from __future__ import annotations

import msgspec

from kefu.conversations.rules import unanswered_since
from kefu.engine import events as ev
from kefu.engine.actions import Action, UrgeAlert, UrgeSend, UrgeSkip
from kefu.engine.core import Capability, Ctx
from kefu.engine.state import Conversation, StoreState, Timer
from kefu.guide import intent
from kefu.guide.intent_model import buyer_intent
from kefu.urge.copy import urge_text

SKIP_REASONS = (
    "disabled",
    "unanswered",
    "ordered",
    "low_intent",
    "cap_conversation",
    "cap_24h",
    "aftersale",
    "no_sender",
)
DUE = "urge.due"
ALERT = "urge.alert"
DAY_MS = 86_400_000


class UrgeState(msgspec.Struct, kw_only=True):
    """What the urge rules remember per store."""

    last_urge: dict[str, int] = msgspec.field(default_factory=dict)  # buyer -> time
    last_order: dict[str, int] = msgspec.field(default_factory=dict)  # buyer -> time
    open_aftersales: dict[str, list[str]] = msgspec.field(default_factory=dict)
    aftersale_closed: dict[str, int] = msgspec.field(default_factory=dict)
    orders: dict[str, str] = msgspec.field(default_factory=dict)  # order -> buyer


def urge_state(st: StoreState) -> UrgeState:
    """This store's urge memory."""
    u: UrgeState | None = st.ext.get("urge")
    if u is None:
        u = st.ext["urge"] = UrgeState()
    return u


def on_message(st: StoreState, e: ev.Message, ctx: Ctx) -> list[Action] | None:
    """Every message of a consultation moves the urge's due time; agents' picks are noted."""
    conv = ctx.conversation
    if conv is None:
        return None
    if e.sender == "agent":
        conv.ext["urge_agent"] = e.agent
        recommended = e.products or ([e.product] if e.product else [])
        if recommended:
            conv.ext["urge_product"] = recommended[0]
    if conv.buyer_messages == 0:
        return None
    ctx.schedule(f"{DUE}:{conv.id}", ctx.now + ctx.settings.urge.ms("delay"), DUE,
                 buyer=conv.buyer, conversation=conv.id)  # fmt: skip
    return None


def _skip_reason(st: StoreState, conv: Conversation, ctx: Ctx) -> tuple[str | None, str | None]:
    """(reason to skip, sender) — reason None means send with `sender`."""
    s = ctx.settings.urge
    u = urge_state(st)
    now, buyer = ctx.now, conv.buyer
    if not s.enabled:
        return "disabled", None
    if unanswered_since(conv) is not None:
        return "unanswered", None
    if u.last_order.get(buyer, -1) >= conv.opened:
        return "ordered", None
    if s.min_intent > 0 and buyer_intent(st, buyer, ctx) < s.min_intent:
        return "low_intent", None
    if conv.ext.get("urged"):
        return "cap_conversation", None
    last = u.last_urge.get(buyer)
    if last is not None and now - last < DAY_MS:
        return "cap_24h", None
    closed = u.aftersale_closed.get(buyer)
    if u.open_aftersales.get(buyer) or (
        closed is not None and now - closed < s.ms("aftersale_cooldown")
    ):
        return "aftersale", None
    for sender in s.senders:
        if sender == "last_agent" and conv.ext.get("urge_agent"):
            return None, str(conv.ext["urge_agent"])
        if sender == "assistant" and s.assistant:
            return None, s.assistant
    return "no_sender", None


def on_due(st: StoreState, timer: Timer, ctx: Ctx) -> list[Action] | None:
    """The urge falls due: send it or say why not."""
    conv = st.last_conversation.get(timer.data["buyer"])
    if conv is None or conv.id != timer.data["conversation"]:
        return None
    reason, sender = _skip_reason(st, conv, ctx)
    if reason is not None or sender is None:
        why = reason or "no_sender"
        out: list[Action] = [UrgeSkip(ts=ctx.now, store=st.store, buyer=conv.buyer,
                                      conversation=conv.id, reason=why)]  # fmt: skip
        if reason == "unanswered" and conv.human and conv.agent and conv.closed is None:
            out.append(UrgeAlert(ts=ctx.now, store=st.store, buyer=conv.buyer,
                                 conversation=conv.id, agent=conv.agent))  # fmt: skip
        return out
    product = conv.ext.get("urge_product") or intent.best_card(st, conv.buyer, ctx.now)
    text = urge_text(st, product, ctx.settings.urge)
    conv.ext["urged"] = ctx.now
    urge_state(st).last_urge[conv.buyer] = ctx.now
    after = ctx.settings.urge.alert_after_ms
    if after is not None:
        ctx.schedule(f"{ALERT}:{conv.id}", ctx.now + after, ALERT,
                     buyer=conv.buyer, conversation=conv.id, urged=ctx.now)  # fmt: skip
    return [UrgeSend(ts=ctx.now, store=st.store, buyer=conv.buyer, conversation=conv.id,
                     sender=sender, product=product, text=text)]  # fmt: skip


def on_alert(st: StoreState, timer: Timer, ctx: Ctx) -> list[Action] | None:
    """Still no order `alert_after` after the urge: remind the human agent (never the buyer)."""
    buyer = timer.data["buyer"]
    if urge_state(st).last_order.get(buyer, -1) >= timer.data["urged"]:
        return None
    conv = st.last_conversation.get(buyer)
    agent = conv.ext.get("urge_agent") if conv is not None else None
    return [UrgeAlert(ts=ctx.now, store=st.store, buyer=buyer,
                      conversation=timer.data["conversation"], agent=agent)]  # fmt: skip


def on_order(st: StoreState, e: ev.Order, ctx: Ctx) -> list[Action] | None:
    """Remember the buyer's latest order (and whose order it is, for after-sales)."""
    u = urge_state(st)
    u.last_order[e.buyer] = ctx.now
    u.orders[e.order] = e.buyer
    return None


def on_aftersale_open(st: StoreState, e: ev.AftersaleOpen, ctx: Ctx) -> list[Action] | None:
    """A refund / return case opens: no urges while it is open."""
    cases = urge_state(st).open_aftersales.setdefault(e.buyer, [])
    if e.order not in cases:
        cases.append(e.order)
    return None


def on_aftersale_close(st: StoreState, e: ev.AftersaleClose, ctx: Ctx) -> list[Action] | None:
    """A case closes: the cooldown starts."""
    u = urge_state(st)
    cases = u.open_aftersales.get(e.buyer, [])
    if e.order in cases:
        cases.remove(e.order)
    if not cases:
        u.open_aftersales.pop(e.buyer, None)
    u.aftersale_closed[e.buyer] = ctx.now
    return None


CAPABILITY = Capability(
    name="urge",
    events={
        "message": on_message,
        "order": on_order,
        "aftersale.open": on_aftersale_open,
        "aftersale.close": on_aftersale_close,
    },
    timers={DUE: on_due, ALERT: on_alert},
)
