"""attachments on messages; indexes for conversation search and attachment rights

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as b:
        b.add_column(sa.Column("attachments", sa.JSON(), nullable=True))
        b.create_index("ix_messages_store_buyer", ["store", "buyer", "seq"])
    with op.batch_alter_table("conversations") as b:
        b.create_index("ix_conversations_store_opened", ["store", "opened_ms"])


def downgrade() -> None:
    with op.batch_alter_table("conversations") as b:
        b.drop_index("ix_conversations_store_opened")
    with op.batch_alter_table("messages") as b:
        b.drop_index("ix_messages_store_buyer")
        b.drop_column("attachments")
