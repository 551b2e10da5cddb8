"""Tables of accounts and the agent workbench: API tokens and web sessions, password
accounts, invitations, the account audit trail, quick replies, private notes.

Stores and agents themselves live in `kefu.storage.models` (projected from events); these
tables only add what the live API needs. Every row is scoped by `store`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.storage.models import Base, Id, SeqType


class ApiToken(Base):
    """A staff API token or a web sign-in session: only its SHA-256 is kept.

    `kind` is `api` (made by `kefu token create` or the tokens API; no expiry) or `session`
    (a password sign-in, sent as an HttpOnly cookie; expires at `expires_ms`).
    """

    __tablename__ = "api_tokens"
    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    store: Mapped[str] = mapped_column(Id)
    agent: Mapped[str] = mapped_column(Id)
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(256), default="")
    created_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    revoked_ms: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16), default="api", server_default="api")
    expires_ms: Mapped[int | None] = mapped_column(BigInteger)
    __table_args__ = (
        UniqueConstraint("token_hash", name="uq_api_tokens_hash"),
        Index("ix_api_tokens_store_agent", "store", "agent"),
    )


class Account(Base):
    """A staff member's sign-in: e-mail or phone (`login`, unique) and an argon2 hash.

    The agent itself (name, groups, capacity) lives in the engine's `agents` table, changed
    only by events; this row adds what the engine does not know: the password, the role of
    the account, whether it may sign in, and the lock-out counters.
    """

    __tablename__ = "accounts"
    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    store: Mapped[str] = mapped_column(Id)
    agent: Mapped[str] = mapped_column(Id)
    login: Mapped[str] = mapped_column(String(256))
    password_hash: Mapped[str] = mapped_column(Text, default="")
    role: Mapped[str] = mapped_column(String(16), default="agent")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    locked_until_ms: Mapped[int | None] = mapped_column(BigInteger)
    created_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    __table_args__ = (
        UniqueConstraint("login", name="uq_accounts_login"),
        UniqueConstraint("store", "agent", name="uq_accounts_store_agent"),
    )


class Invitation(Base):
    """An invitation link: single use, expiring, carrying the store, agent id and role."""

    __tablename__ = "invitations"
    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    store: Mapped[str] = mapped_column(Id)
    agent: Mapped[str] = mapped_column(Id)
    role: Mapped[str] = mapped_column(String(16), default="agent")
    name: Mapped[str] = mapped_column(String(256), default="")
    groups: Mapped[list[Any]] = mapped_column(default=list)
    capacity: Mapped[int | None] = mapped_column(Integer)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(Id, default="")
    created_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    expires_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    used_ms: Mapped[int | None] = mapped_column(BigInteger)
    revoked_ms: Mapped[int | None] = mapped_column(BigInteger)
    __table_args__ = (
        UniqueConstraint("code_hash", name="uq_invitations_code"),
        Index("ix_invitations_store", "store", "seq"),
    )


class AuditEntry(Base):
    """One change to an account or agent: who (`actor`), what, when, before and after."""

    __tablename__ = "account_audit"
    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    store: Mapped[str] = mapped_column(Id)
    actor: Mapped[str] = mapped_column(Id)
    agent: Mapped[str] = mapped_column(Id)
    action: Mapped[str] = mapped_column(String(32))
    before: Mapped[dict[str, Any] | None] = mapped_column()
    after: Mapped[dict[str, Any] | None] = mapped_column()
    ts_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    __table_args__ = (
        Index("ix_account_audit_store", "store", "seq"),
        Index("ix_account_audit_store_agent", "store", "agent", "seq"),
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


__all__ = ["Account", "ApiToken", "AuditEntry", "Invitation", "Note", "QuickReply"]
