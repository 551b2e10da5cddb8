"""insight roll-ups: per-day fact rows, buyer-days index, follower cursor

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0005"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ID = sa.String(length=256)

# Frozen copy of kefu.insight.models.FACT_COLUMNS at this revision.
_FACTS: dict[str, list[tuple[str, sa.types.TypeEngine]]] = {
    "conv_marks": [
        ("seq", sa.BigInteger()), ("cid", sa.BigInteger()), ("kind", sa.String(length=8)),
        ("conversation", _ID), ("ts_ms", sa.BigInteger()), ("off_ms", sa.BigInteger()),
        ("reason", _ID), ("shown", sa.Boolean()), ("local_ms", sa.BigInteger()),
    ],
    "messages": [
        ("seq", sa.BigInteger()), ("cid", sa.BigInteger()), ("sender", sa.String(length=16)),
        ("agent", _ID), ("ts_ms", sa.BigInteger()), ("local_ms", sa.BigInteger()),
    ],
    "assignments": [
        ("seq", sa.BigInteger()), ("cid", sa.BigInteger()), ("agent", _ID), ("reason", _ID),
        ("ts_ms", sa.BigInteger()), ("local_ms", sa.BigInteger()),
    ],
    "transfers": [
        ("seq", sa.BigInteger()), ("cid", sa.BigInteger()), ("kind", sa.String(length=16)),
        ("agent", _ID), ("waited_ms", sa.BigInteger()), ("ts_ms", sa.BigInteger()),
        ("local_ms", sa.BigInteger()),
    ],
    "orders": [
        ("order_id", _ID), ("amount", sa.Float()), ("ts_ms", sa.BigInteger()),
        ("local_ms", sa.BigInteger()),
    ],
    "payments": [
        ("order_id", _ID), ("amount", sa.Float()), ("ts_ms", sa.BigInteger()),
        ("local_ms", sa.BigInteger()),
    ],
    "cancels": [("order_id", _ID), ("ts_ms", sa.BigInteger()), ("local_ms", sa.BigInteger())],
    "order_items": [
        ("order_id", _ID), ("product", _ID), ("amount", sa.Float()), ("ts_ms", sa.BigInteger()),
        ("local_ms", sa.BigInteger()),
    ],
    "guide": [
        ("agent", _ID), ("kind", sa.String(length=16)), ("product", _ID),
        ("ts_ms", sa.BigInteger()), ("local_ms", sa.BigInteger()),
    ],
    "item_views": [("product", _ID), ("ts_ms", sa.BigInteger()), ("local_ms", sa.BigInteger())],
    "urges": [
        ("conversation", _ID), ("kind", sa.String(length=16)), ("sender", _ID), ("product", _ID),
        ("reason", _ID), ("ts_ms", sa.BigInteger()), ("local_ms", sa.BigInteger()),
    ],
    "ratings": [
        ("cid", sa.BigInteger()), ("agent", _ID), ("score", sa.BigInteger()),
        ("ts_ms", sa.BigInteger()), ("local_ms", sa.BigInteger()),
    ],
}  # fmt: skip
_BY_ORDER = ("orders", "payments", "cancels")


def upgrade() -> None:
    for name, columns in _FACTS.items():
        table = f"insight_{name}"
        op.create_table(
            table,
            sa.Column("id", _SEQ, autoincrement=True, nullable=False),
            sa.Column("store", _ID, nullable=False),
            sa.Column("day", sa.Integer(), nullable=False),
            sa.Column("buyer", _ID, nullable=True),
            *[sa.Column(col, type_, nullable=True) for col, type_ in columns],
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f"ix_{table}_store_buyer", ["store", "buyer"], unique=False)
            batch_op.create_index(f"ix_{table}_store_day", ["store", "day"], unique=False)
            if name in _BY_ORDER:
                batch_op.create_index(
                    f"ix_{table}_store_order", ["store", "order_id"], unique=False
                )
    op.create_table(
        "insight_buyer_days",
        sa.Column("store", _ID, nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("buyer", _ID, nullable=False),
        sa.PrimaryKeyConstraint("store", "day", "buyer"),
    )
    op.create_table(
        "insight_cursor",
        sa.Column("store", _ID, nullable=False),
        sa.Column("last_event_seq", sa.BigInteger(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.Column("config_hash", sa.String(length=32), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("store"),
    )


def downgrade() -> None:
    op.drop_table("insight_cursor")
    op.drop_table("insight_buyer_days")
    for name in reversed(list(_FACTS)):
        table = f"insight_{name}"
        with op.batch_alter_table(table, schema=None) as batch_op:
            if name in _BY_ORDER:
                batch_op.drop_index(f"ix_{table}_store_order")
            batch_op.drop_index(f"ix_{table}_store_day")
            batch_op.drop_index(f"ix_{table}_store_buyer")
        op.drop_table(table)
