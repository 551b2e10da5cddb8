"""accounts: API tokens, quick replies, private notes

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("store", sa.String(length=256), nullable=False),
        sa.Column("agent", sa.String(length=256), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=256), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("revoked_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_hash"),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index("ix_api_tokens_store_agent", ["store", "agent"], unique=False)
    op.create_table(
        "quick_replies",
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("store", sa.String(length=256), nullable=False),
        sa.Column("agent", sa.String(length=256), nullable=False),
        sa.Column("shortcut", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("store", "agent", "shortcut", name="uq_quick_replies_shortcut"),
    )
    op.create_table(
        "notes",
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("store", sa.String(length=256), nullable=False),
        sa.Column("conversation", sa.String(length=256), nullable=False),
        sa.Column("agent", sa.String(length=256), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notes_store_conversation", ["store", "conversation", "seq"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.drop_index("ix_notes_store_conversation")
    op.drop_table("notes")
    op.drop_table("quick_replies")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_api_tokens_store_agent")
    op.drop_table("api_tokens")
