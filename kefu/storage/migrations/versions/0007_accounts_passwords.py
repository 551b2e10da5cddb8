"""accounts with passwords: web sessions, password accounts, invitations, account audit

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as b:
        b.add_column(sa.Column("kind", sa.String(length=16), server_default="api", nullable=False))
        b.add_column(sa.Column("expires_ms", sa.BigInteger(), nullable=True))
    op.create_table(
        "accounts",
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("store", sa.String(length=256), nullable=False),
        sa.Column("agent", sa.String(length=256), nullable=False),
        sa.Column("login", sa.String(length=256), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("locked_until_ms", sa.BigInteger(), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("login", name="uq_accounts_login"),
        sa.UniqueConstraint("store", "agent", name="uq_accounts_store_agent"),
    )
    op.create_table(
        "invitations",
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("store", sa.String(length=256), nullable=False),
        sa.Column("agent", sa.String(length=256), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.Column("used_ms", sa.BigInteger(), nullable=True),
        sa.Column("revoked_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("code_hash", name="uq_invitations_code"),
    )
    with op.batch_alter_table("invitations") as b:
        b.create_index("ix_invitations_store", ["store", "seq"], unique=False)
    op.create_table(
        "account_audit",
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("store", sa.String(length=256), nullable=False),
        sa.Column("actor", sa.String(length=256), nullable=False),
        sa.Column("agent", sa.String(length=256), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("account_audit") as b:
        b.create_index("ix_account_audit_store", ["store", "seq"], unique=False)
        b.create_index("ix_account_audit_store_agent", ["store", "agent", "seq"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("account_audit") as b:
        b.drop_index("ix_account_audit_store_agent")
        b.drop_index("ix_account_audit_store")
    op.drop_table("account_audit")
    with op.batch_alter_table("invitations") as b:
        b.drop_index("ix_invitations_store")
    op.drop_table("invitations")
    op.drop_table("accounts")
    with op.batch_alter_table("api_tokens") as b:
        b.drop_column("expires_ms")
        b.drop_column("kind")
