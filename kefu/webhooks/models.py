"""Tables of outgoing webhooks: endpoints, the delivery queue, the attempt log, channels.

The database is the queue: one `webhook_deliveries` row per (action, endpoint), filled from the
outbox (`actions`) and claimed by the delivery workers of every `kefu serve` process. Every row
is scoped by `store`; times are epoch milliseconds like the rest of kefu.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.storage.models import Base, Id, SeqType


class WebhookEndpoint(Base):
    """A URL of a store that receives the actions it subscribed to, signed with `secret`."""

    __tablename__ = "webhook_endpoints"
    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    store: Mapped[str] = mapped_column(Id)
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(128))
    # Action types sent ([] = every type) and buyer channels ([] = every channel).
    types: Mapped[list[Any]] = mapped_column(JSON, default=list)
    channels: Mapped[list[Any]] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(String(256), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    __table_args__ = (Index("ix_webhook_endpoints_store", "store", "id"),)


class WebhookDelivery(Base):
    """One action for one endpoint: `pending` → `delivering` (leased) → `delivered` or `dead`.

    A worker leases a row until `lease_until_ms`; if its process dies the lease expires and
    another worker takes the row again (at-least-once; the receiver dedups on the key).
    """

    __tablename__ = "webhook_deliveries"
    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    store: Mapped[str] = mapped_column(Id)
    endpoint: Mapped[int] = mapped_column(BigInteger)
    action_seq: Mapped[int] = mapped_column(BigInteger)
    action_key: Mapped[str] = mapped_column(String(128))
    action_type: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until_ms: Mapped[int | None] = mapped_column(BigInteger)
    created_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    delivered_ms: Mapped[int | None] = mapped_column(BigInteger)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        UniqueConstraint("endpoint", "action_seq", name="uq_webhook_deliveries_endpoint_action"),
        Index("ix_webhook_deliveries_due", "state", "next_attempt_ms"),
        Index("ix_webhook_deliveries_store_state", "store", "state", "id"),
    )


class WebhookAttempt(Base):
    """The delivery log: one row per HTTP attempt (status code, latency, error)."""

    __tablename__ = "webhook_attempts"
    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    store: Mapped[str] = mapped_column(Id)
    endpoint: Mapped[int] = mapped_column(BigInteger)
    delivery: Mapped[int] = mapped_column(BigInteger)
    action_key: Mapped[str] = mapped_column(String(128))
    action_type: Mapped[str] = mapped_column(String(32))
    attempt: Mapped[int] = mapped_column(Integer)
    started_ms: Mapped[int] = mapped_column(BigInteger)
    latency_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str] = mapped_column(String(64), default="")  # host:pid that sent it
    __table_args__ = (Index("ix_webhook_attempts_store_endpoint", "store", "endpoint", "id"),)


class ChannelBuyer(Base):
    """The channel a buyer last wrote from (`channel` of message / buyer events)."""

    __tablename__ = "channel_buyers"
    store: Mapped[str] = mapped_column(Id, primary_key=True)
    buyer: Mapped[str] = mapped_column(Id, primary_key=True)
    channel: Mapped[str] = mapped_column(String(64))
    event_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class ChannelCursor(Base):
    """Per store, the last event scanned for buyers' channels."""

    __tablename__ = "channel_cursors"
    store: Mapped[str] = mapped_column(Id, primary_key=True)
    event_seq: Mapped[int] = mapped_column(BigInteger, default=0)
