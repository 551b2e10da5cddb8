"""insight_conv_marks: a 转人工 button mark carries its rollout bucket and store tier

The 转人工 report reads the roll-ups instead of replaying the store's log per request; rows
written before this revision lack the two columns, so the roll-ups' version changes
(kefu.insight.rollup.STATE_VERSION 3) and the server rebuilds them.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("insight_conv_marks") as batch:
        batch.add_column(sa.Column("bucket", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("tier", sa.String(length=256), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("insight_conv_marks") as batch:
        batch.drop_column("tier")
        batch.drop_column("bucket")
