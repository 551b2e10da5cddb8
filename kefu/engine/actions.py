"""Typed output actions: what the engine decides (`spec/events.md`, "Action types").

Actions carry `ts` as epoch milliseconds inside the engine; writers render it as RFC 3339
in the store's timezone. Fields the contract names are always present (null when unset).
"""

from __future__ import annotations

import msgspec


class Action(msgspec.Struct, tag_field="type", kw_only=True):
    """Base of every action."""

    ts: int
    store: str


class BotReply(Action, tag="bot.reply", kw_only=True):
    """The bot answered."""

    buyer: str
    conversation: str
    text: str
    faq: str | None = None
    transfer_button: bool = False


class TransferResult(Action, tag="transfer.result", kw_only=True):
    """What a transfer click led to: assigned, queued, failed or ignored."""

    buyer: str
    conversation: str
    outcome: str
    agent: str | None = None
    position: int | None = None
    text: str | None = None


class Assign(Action, tag="assign", kw_only=True):
    """The conversation was handed to a human agent."""

    buyer: str
    conversation: str
    agent: str
    reason: str


class GuidePanel(Action, tag="guide.panel", kw_only=True):
    """Shopping-guide panel shown to an agent; the inquired item first."""

    buyer: str
    conversation: str
    agent: str
    products: list[str]
    intent: float


class UrgeSend(Action, tag="urge.send", kw_only=True):
    """Automatic urge-to-buy message (自动催拍)."""

    buyer: str
    conversation: str
    sender: str
    product: str | None
    text: str


class UrgeSkip(Action, tag="urge.skip", kw_only=True):
    """An urge that was due but not sent, and why."""

    buyer: str
    conversation: str
    reason: str


class UrgeAlert(Action, tag="urge.alert", kw_only=True):
    """Internal reminder to a person; never shown to the buyer."""

    buyer: str
    conversation: str
    agent: str | None


class ConversationOpen(Action, tag="conversation.open", kw_only=True):
    """The engine opened a conversation (project addition: lets outputs group messages)."""

    buyer: str
    conversation: str


class ConversationClosed(Action, tag="conversation.closed", kw_only=True):
    """The engine closed a conversation: `reason` is timeout, close or reopen."""

    buyer: str
    conversation: str
    reason: str
    agent: str | None = None


class HandoffButton(Action, tag="handoff.button", kw_only=True):
    """Project addition: whether the first bot reply showed the 转人工 button, and the A/B arm.

    Emitted once per conversation whose first reply came from the bot, so the transfer-entry
    report (metrics.md §6) knows which conversations were offered the button.
    """

    buyer: str
    conversation: str
    shown: bool
    variant: str
    bucket: int
    tier: str = ""  # the store's tier (small | large) when it was decided


class QueueLeave(Action, tag="queue.leave", kw_only=True):
    """Project addition: a queued buyer left the queue without a person (timeout, close)."""

    buyer: str
    conversation: str
    group: str
    waited_s: float
    reason: str


class AgentReply(Action, tag="agent.reply", kw_only=True, omit_defaults=True):
    """Project addition: a person of the store wrote to the buyer.

    The agent's `message` is an input event, but on a channel kefu does not render itself
    (a marketplace IM, WhatsApp through the store's bridge) someone must carry it out: as an
    action it reaches the outbox, and webhooks deliver it like a bot reply.
    """

    buyer: str
    conversation: str
    agent: str
    text: str
    products: list[str] | None = None
    attachments: list[dict[str, object]] | None = None


AnyAction = (
    BotReply
    | AgentReply
    | TransferResult
    | Assign
    | GuidePanel
    | UrgeSend
    | UrgeSkip
    | UrgeAlert
    | ConversationOpen
    | ConversationClosed
    | HandoffButton
    | QueueLeave
)
