"""Tables of accounts and the agent workbench: API tokens, quick replies, private notes.

Stores and agents themselves live in `kefu.storage.models` (projected from events); these
tables only add what the live API needs. Every row is scoped by `store`.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.storage.models import Base, Id, SeqType


class ApiToken(Base):
    """A staff API token: only its SHA-256 is kept; the token itself is shown once."""

    __tablename__ = "api_tokens"
    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    store: Mapped[str] = mapped_column(Id)
    agent: Mapped[str] = mapped_column(Id)
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(256), default="")
    created_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    revoked_ms: Mapped[int | None] = mapped_column(BigInteger)
    __table_args__ = (
        UniqueConstraint("token_hash", name="uq_api_tokens_hash"),
        Index("ix_api_tokens_store_agent", "store", "agent"),
    )


class QuickReply(Base):
    """A quick reply (快捷短语): store-wide when `agent` is "", else one agent's own."""

    __tablename__ = "quick_replies"
    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    store: Mapped[str] = mapped_column(Id)
    agent: Mapped[str] = mapped_column(Id, default="")
    shortcut: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    updated_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    __table_args__ = (
        UniqueConstraint("store", "agent", "shortcut", name="uq_quick_replies_shortcut"),
    )


class Note(Base):
    """A private note on a conversation: staff only, never shown to the buyer."""

    __tablename__ = "notes"
    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    store: Mapped[str] = mapped_column(Id)
    conversation: Mapped[str] = mapped_column(Id)
    agent: Mapped[str] = mapped_column(Id)
    text: Mapped[str] = mapped_column(Text)
    created_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    __table_args__ = (Index("ix_notes_store_conversation", "store", "conversation", "seq"),)


__all__ = ["ApiToken", "Note", "QuickReply"]
