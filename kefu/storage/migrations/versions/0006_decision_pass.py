"""decision pass: events carry their conversation, actions the event they follow;
roll-ups follow the outbox too

Revision ID: 0006
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as b:
        b.add_column(sa.Column("conversation", sa.String(length=256), nullable=True))
    with op.batch_alter_table("actions") as b:
        b.add_column(sa.Column("after_seq", sa.BigInteger(), nullable=True))
        b.create_index("ix_actions_store_after_seq", ["store", "after_seq", "seq"])
    with op.batch_alter_table("insight_cursor") as b:
        b.add_column(
            sa.Column("last_action_seq", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("insight_cursor") as b:
        b.drop_column("last_action_seq")
    with op.batch_alter_table("actions") as b:
        b.drop_index("ix_actions_store_after_seq")
        b.drop_column("after_seq")
    with op.batch_alter_table("events") as b:
        b.drop_column("conversation")
