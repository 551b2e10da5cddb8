"""The engine's per-store state: plain msgspec Structs, persisted as one snapshot.

Rules read and update this state; nothing here does I/O. Timers are part of the state
(`StoreState.timers`), so a snapshot always holds the timers that belong to it.
"""

from __future__ import annotations

from typing import Any

import msgspec


class Timer(msgspec.Struct, kw_only=True):
    """A durable timer: fires once at `due` (epoch ms) unless cancelled or replaced by key."""

    key: str
    due: int
    kind: str
    seq: int = 0
    data: dict[str, Any] = msgspec.field(default_factory=dict)


class AgentState(msgspec.Struct, kw_only=True):
    """A customer-service sub-account and what the engine knows of its load."""

    agent: str
    name: str = ""
    role: str = "agent"
    groups: list[str] = msgspec.field(default_factory=list)
    capacity: int | None = None
    status: str = "offline"
    status_since: int = 0
    open: int = 0
    last_assigned: int = 0


class ProductState(msgspec.Struct, kw_only=True):
    """A catalogue item as the rules need it."""

    product: str
    title: str = ""
    price: float = 0.0
    category: str = ""
    status: str = "on_sale"
    stock: int | None = None
    attrs: dict[str, Any] | None = None
    description: str | None = None
    urge_text: str | None = None


class Conversation(msgspec.Struct, kw_only=True):
    """One consultation between a buyer and the store."""

    id: str
    buyer: str
    opened: int
    last_message: int
    explicit: bool = False
    first_sender: str | None = None
    agent: str | None = None
    assigned_at: int | None = None
    human: bool = False
    closed: int | None = None
    buyer_messages: int = 0
    messages: int = 0
    first_reply: str | None = None
    button: bool = False
    button_until: int = 0
    variant: str | None = None
    bot_misses: int = 0
    group: str | None = None
    queued_at: int | None = None
    last_text: str = ""
    last_product: str | None = None
    ext: dict[str, Any] = msgspec.field(default_factory=dict)


class QueueEntry(msgspec.Struct, array_like=True):
    """A buyer waiting for a person in a group's FIFO queue."""

    buyer: str
    conversation: str
    since: int


class FaqEntry(msgspec.Struct, kw_only=True):
    """A store FAQ entry the bot answers from: a standard question, its variants and answer."""

    faq: str
    question: str
    answer: str
    keywords: list[str] = msgspec.field(default_factory=list)
    variants: list[str] = msgspec.field(default_factory=list)
    related: list[str] = msgspec.field(default_factory=list)


class StoreState(msgspec.Struct, kw_only=True):
    """Everything the engine knows about one store."""

    store: str
    agents: dict[str, AgentState] = msgspec.field(default_factory=dict)
    products: dict[str, ProductState] = msgspec.field(default_factory=dict)
    open: dict[str, Conversation] = msgspec.field(default_factory=dict)
    last_conversation: dict[str, Conversation] = msgspec.field(default_factory=dict)
    conversation_count: dict[str, int] = msgspec.field(default_factory=dict)
    timers: dict[str, Timer] = msgspec.field(default_factory=dict)
    timer_seq: int = 0
    last_ts: int = 0
    queues: dict[str, list[QueueEntry]] = msgspec.field(default_factory=dict)
    last_agent: dict[str, tuple[str, int]] = msgspec.field(default_factory=dict)
    faq: dict[str, FaqEntry] = msgspec.field(default_factory=dict)
    # Content hash chained over every FAQ change: the bot's search index is cached by it.
    faq_rev: str = ""
    # Live settings changes (`settings` events) merged section-wise, over the settings file.
    settings: dict[str, dict[str, Any]] = msgspec.field(default_factory=dict)
    reception_day: int = -1
    reception_today: set[str] = msgspec.field(default_factory=set)
    reception_yesterday: int = -1
    ext: dict[str, Any] = msgspec.field(default_factory=dict)

    def conversation_of(self, buyer: str) -> Conversation | None:
        """The buyer's open conversation, else their latest one (None if they never chatted)."""
        return self.open.get(buyer) or self.last_conversation.get(buyer)
