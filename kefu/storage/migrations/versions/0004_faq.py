"""faq: proposals under review, learning runs

Revision ID: 0004
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "faq_proposals",
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("store", sa.String(length=256), nullable=False),
        sa.Column("proposal", sa.String(length=256), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("store", "proposal", name="uq_faq_proposals_store_proposal"),
    )
    op.create_index("ix_faq_proposals_store_status", "faq_proposals", ["store", "status"])
    op.create_table(
        "faq_learn_runs",
        sa.Column("store", sa.String(length=256), nullable=False),
        sa.Column("last_ms", sa.BigInteger(), nullable=False),
        sa.Column("conversations", sa.BigInteger(), nullable=False),
        sa.Column("proposals", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("store"),
    )


def downgrade() -> None:
    op.drop_table("faq_learn_runs")
    op.drop_index("ix_faq_proposals_store_status", table_name="faq_proposals")
    op.drop_table("faq_proposals")
