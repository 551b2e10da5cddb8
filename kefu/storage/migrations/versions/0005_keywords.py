"""traffic: market keyword data (metrics.md §8)

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "market_keywords",
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("store", sa.String(length=256), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("keyword", sa.String(length=256), nullable=False),
        sa.Column("search_popularity", sa.Float(), nullable=False),
        sa.Column("online_products", sa.BigInteger(), nullable=False),
        sa.Column("click_share", sa.Float(), nullable=False),
        sa.Column("imported_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint(
            "store", "day", "keyword", name="uq_market_keywords_store_day_keyword"
        ),
    )


def downgrade() -> None:
    op.drop_table("market_keywords")
