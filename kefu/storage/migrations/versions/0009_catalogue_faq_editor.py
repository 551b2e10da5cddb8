"""catalogue and FAQ editor: no tables (products and FAQ entries live in the event log)

Products are `product` events projected into `products` (0001); FAQ entries are `faq`
events. This revision only keeps the chain linear (0010 revises it).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to create."""


def downgrade() -> None:
    """Nothing to drop."""
