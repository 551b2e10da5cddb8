"""SQLAlchemy 2 models: the event log, the outbox, timers, snapshots and projected entities.

Every table is scoped by `store` (tenancy). Times are epoch milliseconds (`*_ms`), the
engine's own unit, so no timezone conversion happens in the database.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# BIGINT primary keys that still auto-increment on SQLite (only INTEGER is a rowid alias).
SeqType = BigInteger().with_variant(Integer(), "sqlite")
Id = String(256)


class Base(DeclarativeBase):
    """Declarative base of every kefu table."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Store(Base):
    """A tenant: one shop."""

    __tablename__ = "stores"
    id: Mapped[str] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(256), default="")
    tier: Mapped[str | None] = mapped_column(String(16))
    timezone: Mapped[str | None] = mapped_column(String(64))
    created_ms: Mapped[int] = mapped_column(BigInteger, default=0)


class Agent(Base):
    """A customer-service sub-account (子账号)."""

    __tablename__ = "agents"
    store: Mapped[str] = mapped_column(Id, primary_key=True)
    agent: Mapped[str] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(256), default="")
    role: Mapped[str] = mapped_column(String(16), default="agent")
    groups: Mapped[list[Any]] = mapped_column(JSON, default=list)
    capacity: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="offline")
    updated_ms: Mapped[int] = mapped_column(BigInteger, default=0)


class Product(Base):
    """A catalogue item."""

    __tablename__ = "products"
    store: Mapped[str] = mapped_column(Id, primary_key=True)
    product: Mapped[str] = mapped_column(Id, primary_key=True)
    title: Mapped[str] = mapped_column(Text, default="")
    price: Mapped[float] = mapped_column(Float, default=0.0)
    category: Mapped[str] = mapped_column(String(256), default="")
    attrs: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="on_sale")
    stock: Mapped[int | None] = mapped_column(Integer)


class Buyer(Base):
    """A buyer of a store, with the profile used for audience analysis."""

    __tablename__ = "buyers"
    store: Mapped[str] = mapped_column(Id, primary_key=True)
    buyer: Mapped[str] = mapped_column(Id, primary_key=True)
    province: Mapped[str | None] = mapped_column(String(64))
    gender: Mapped[str | None] = mapped_column(String(8))
    age_band: Mapped[str | None] = mapped_column(String(32))
    member_since: Mapped[str | None] = mapped_column(String(32))
    first_seen_ms: Mapped[int] = mapped_column(BigInteger, default=0)


class Conversation(Base):
    """One consultation between a buyer and the store."""

    __tablename__ = "conversations"
    store: Mapped[str] = mapped_column(Id, primary_key=True)
    conversation: Mapped[str] = mapped_column(Id, primary_key=True)
    buyer: Mapped[str] = mapped_column(Id)
    opened_ms: Mapped[int] = mapped_column(BigInteger)
    closed_ms: Mapped[int | None] = mapped_column(BigInteger)
    agent: Mapped[str | None] = mapped_column(Id)
    status: Mapped[str] = mapped_column(String(16), default="open")
    close_reason: Mapped[str | None] = mapped_column(String(32))
    __table_args__ = (
        Index("ix_conversations_store_buyer", "store", "buyer"),
        # conversation search: newest first, date ranges (kefu/conversations/search.py)
        Index("ix_conversations_store_opened", "store", "opened_ms"),
    )


class Message(Base):
    """A chat message, in its conversation."""

    __tablename__ = "messages"
    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    store: Mapped[str] = mapped_column(Id)
    conversation: Mapped[str | None] = mapped_column(Id)
    buyer: Mapped[str] = mapped_column(Id)
    sender: Mapped[str] = mapped_column(String(16))
    agent: Mapped[str | None] = mapped_column(Id)
    text: Mapped[str] = mapped_column(Text, default="")
    product: Mapped[str | None] = mapped_column(Id)
    products: Mapped[list[Any] | None] = mapped_column(JSON)
    # images sent with the message: [{id, type, size, width, height}] (kefu/attachments)
    attachments: Mapped[list[Any] | None] = mapped_column(JSON)
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (
        Index("ix_messages_store_conversation", "store", "conversation", "seq"),
        # a buyer's messages: attachment download rights, conversation search by buyer
        Index("ix_messages_store_buyer", "store", "buyer", "seq"),
    )


class Order(Base):
    """An order (下单), its payment state and cancellation."""

    __tablename__ = "orders"
    store: Mapped[str] = mapped_column(Id, primary_key=True)
    order_id: Mapped[str] = mapped_column(Id, primary_key=True)
    buyer: Mapped[str] = mapped_column(Id)
    amount: Mapped[float] = mapped_column(Float, default=0.0)
    items: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="created")
    cancelled_ms: Mapped[int | None] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_orders_store_buyer", "store", "buyer"),)


class Payment(Base):
    """A payment (付款) of an order."""

    __tablename__ = "payments"
    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    store: Mapped[str] = mapped_column(Id)
    order_id: Mapped[str] = mapped_column(Id)
    amount: Mapped[float] = mapped_column(Float, default=0.0)
    paid_ms: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_payments_store_order", "store", "order_id"),)


class Aftersale(Base):
    """A refund / return case (售后)."""

    __tablename__ = "aftersales"
    store: Mapped[str] = mapped_column(Id, primary_key=True)
    order_id: Mapped[str] = mapped_column(Id, primary_key=True)
    buyer: Mapped[str] = mapped_column(Id)
    opened_ms: Mapped[int] = mapped_column(BigInteger)
    closed_ms: Mapped[int | None] = mapped_column(BigInteger)


class Event(Base):
    """The event log: every accepted event as received (the source of truth)."""

    __tablename__ = "events"
    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    store: Mapped[str] = mapped_column(Id)
    event_id: Mapped[str | None] = mapped_column(Id)
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
    received_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    # The conversation the engine put the event in, set when it was applied (facts are
    # projected from the log and the outbox, never by running the rules again).
    conversation: Mapped[str | None] = mapped_column(Id)
    __table_args__ = (
        UniqueConstraint("store", "event_id", name="uq_events_store_event_id"),
        Index("ix_events_store_seq", "store", "seq"),
        # card traffic, FAQ entries, channels: some types of one store's log, in log order
        Index("ix_events_store_type_seq", "store", "type", "seq"),
    )


class Action(Base):
    """The outbox: every action the engine decided, unique per idempotency key."""

    __tablename__ = "actions"
    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    store: Mapped[str] = mapped_column(Id)
    key: Mapped[str] = mapped_column(String(128))
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
    created_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    delivered_ms: Mapped[int | None] = mapped_column(BigInteger)
    # The store's last event applied when the action was decided: log + outbox merge on
    # (after_seq, events first, seq) into the order the engine saw and emitted them.
    after_seq: Mapped[int | None] = mapped_column(BigInteger)
    __table_args__ = (
        UniqueConstraint("store", "key", name="uq_actions_store_key"),
        Index("ix_actions_store_after_seq", "store", "after_seq", "seq"),
        Index("ix_actions_store_type_seq", "store", "type", "seq"),
        Index("ix_actions_undelivered", "delivered_ms", "seq"),
    )


class Timer(Base):
    """A pending durable timer, committed with the events it depends on."""

    __tablename__ = "timers"
    store: Mapped[str] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(512), primary_key=True)
    due_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)


class EngineSnapshot(Base):
    """The engine state of a store as of event `last_event_seq` (fast start)."""

    __tablename__ = "engine_snapshots"
    store: Mapped[str] = mapped_column(Id, primary_key=True)
    last_event_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[bytes] = mapped_column(LargeBinary)
    updated_ms: Mapped[int] = mapped_column(BigInteger, default=0)


__all__ = [
    "Action", "Aftersale", "Agent", "Base", "Buyer", "Conversation", "EngineSnapshot",
    "Event", "Message", "Order", "Payment", "Product", "Store", "Timer",
]  # fmt: skip
