"""events: index by (store, type, seq) for the readers that want some types of a store's log

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_store_type_seq", "events", ["store", "type", "seq"])


def downgrade() -> None:
    op.drop_index("ix_events_store_type_seq", table_name="events")
