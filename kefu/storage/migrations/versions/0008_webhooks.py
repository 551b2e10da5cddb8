"""webhooks: endpoints, the delivery queue, the attempt log, buyers' channels

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ID = sa.String(length=256)


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", _SEQ, autoincrement=True, nullable=False),
        sa.Column("store", _ID, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("description", sa.String(length=256), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_webhook_endpoints_store", "webhook_endpoints", ["store", "id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", _SEQ, autoincrement=True, nullable=False),
        sa.Column("store", _ID, nullable=False),
        sa.Column("endpoint", sa.BigInteger(), nullable=False),
        sa.Column("action_seq", sa.BigInteger(), nullable=False),
        sa.Column("action_key", sa.String(length=128), nullable=False),
        sa.Column("action_type", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_ms", sa.BigInteger(), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until_ms", sa.BigInteger(), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("delivered_ms", sa.BigInteger(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("endpoint", "action_seq", name="uq_webhook_deliveries_endpoint_action"),
    )
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["state", "next_attempt_ms"])
    op.create_index(
        "ix_webhook_deliveries_store_state", "webhook_deliveries", ["store", "state", "id"]
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("id", _SEQ, autoincrement=True, nullable=False),
        sa.Column("store", _ID, nullable=False),
        sa.Column("endpoint", sa.BigInteger(), nullable=False),
        sa.Column("delivery", sa.BigInteger(), nullable=False),
        sa.Column("action_key", sa.String(length=128), nullable=False),
        sa.Column("action_type", sa.String(length=32), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("started_ms", sa.BigInteger(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("worker", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_webhook_attempts_store_endpoint", "webhook_attempts", ["store", "endpoint", "id"]
    )
    op.create_table(
        "channel_buyers",
        sa.Column("store", _ID, nullable=False),
        sa.Column("buyer", _ID, nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("store", "buyer"),
    )
    op.create_table(
        "channel_cursors",
        sa.Column("store", _ID, nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("store"),
    )


def downgrade() -> None:
    op.drop_table("channel_cursors")
    op.drop_table("channel_buyers")
    op.drop_index("ix_webhook_attempts_store_endpoint", table_name="webhook_attempts")
    op.drop_table("webhook_attempts")
    op.drop_index("ix_webhook_deliveries_store_state", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_webhook_endpoints_store", table_name="webhook_endpoints")
    op.drop_table("webhook_endpoints")
