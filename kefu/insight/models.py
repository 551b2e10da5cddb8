"""Roll-up tables of service insight: the fact rows of every store, partitioned by local day.

Each `insight_<fact>` table holds the rows `kefu.insight.facts` builds (one per message,
assignment, order …), appended as the store's event log is followed (`kefu.insight.rollup`),
never updated. Every row carries `store`, `day` (the store-local calendar day of the row, as
days since 1970-01-01) and `buyer`, so a report reads the buyers active in its range and
their rows, not the whole history. Conversations are kept as `insight_conv_marks` (open,
close, 转人工 button), reduced to one row per conversation when read: appending is all an
update ever does. `insight_cursor` records how far each store's log has been followed, with
the follower's engine state, so the next refresh continues from there.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import BigInteger, Boolean, Column, Float, Index, Integer, LargeBinary, String
from sqlalchemy import Table as SATable
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeEngine

from kefu.storage.models import Base, Id, SeqType

_TEXT = Id  # reasons and variants: short ids, but never cut

# fact table -> its columns after store/day/buyer (the Arrow column `order` is `order_id`).
FACT_COLUMNS: dict[str, list[tuple[str, TypeEngine[Any]]]] = {
    "conv_marks": [
        ("seq", BigInteger()), ("cid", BigInteger()), ("kind", String(8)),
        ("conversation", Id), ("ts_ms", BigInteger()), ("off_ms", BigInteger()),
        ("reason", _TEXT), ("shown", Boolean()), ("local_ms", BigInteger()),
        ("bucket", BigInteger()), ("tier", _TEXT),
    ],
    "messages": [
        ("seq", BigInteger()), ("cid", BigInteger()), ("sender", String(16)), ("agent", Id),
        ("ts_ms", BigInteger()), ("local_ms", BigInteger()),
    ],
    "assignments": [
        ("seq", BigInteger()), ("cid", BigInteger()), ("agent", Id), ("reason", _TEXT),
        ("ts_ms", BigInteger()), ("local_ms", BigInteger()),
    ],
    "transfers": [
        ("seq", BigInteger()), ("cid", BigInteger()), ("kind", String(16)), ("agent", Id),
        ("waited_ms", BigInteger()), ("ts_ms", BigInteger()), ("local_ms", BigInteger()),
    ],
    "orders": [
        ("order_id", Id), ("amount", Float()), ("ts_ms", BigInteger()), ("local_ms", BigInteger()),
    ],
    "payments": [
        ("order_id", Id), ("amount", Float()), ("ts_ms", BigInteger()), ("local_ms", BigInteger()),
    ],
    "cancels": [("order_id", Id), ("ts_ms", BigInteger()), ("local_ms", BigInteger())],
    "order_items": [
        ("order_id", Id), ("product", Id), ("amount", Float()), ("ts_ms", BigInteger()),
        ("local_ms", BigInteger()),
    ],
    "guide": [
        ("agent", Id), ("kind", String(16)), ("product", Id), ("ts_ms", BigInteger()),
        ("local_ms", BigInteger()),
    ],
    "item_views": [("product", Id), ("ts_ms", BigInteger()), ("local_ms", BigInteger())],
    "urges": [
        ("conversation", Id), ("kind", String(16)), ("sender", Id), ("product", Id),
        ("reason", _TEXT), ("ts_ms", BigInteger()), ("local_ms", BigInteger()),
    ],
    "ratings": [
        ("cid", BigInteger()), ("agent", Id), ("score", BigInteger()), ("ts_ms", BigInteger()),
        ("local_ms", BigInteger()),
    ],
}  # fmt: skip
# Tables whose rows are also found by order id (payments without a buyer, cancellations).
BY_ORDER = ("orders", "payments", "cancels")


def _fact_table(name: str) -> SATable:
    indexes = [
        Index(f"ix_insight_{name}_store_buyer", "store", "buyer"),
        Index(f"ix_insight_{name}_store_day", "store", "day"),
    ]
    if name in BY_ORDER:
        indexes.append(Index(f"ix_insight_{name}_store_order", "store", "order_id"))
    return SATable(
        f"insight_{name}",
        Base.metadata,
        Column("id", SeqType, primary_key=True, autoincrement=True),
        Column("store", Id, nullable=False),
        Column("day", Integer, nullable=False),
        Column("buyer", Id, nullable=True),
        *[Column(col, type_, nullable=True) for col, type_ in FACT_COLUMNS[name]],
        *indexes,
    )


FACT_TABLES: dict[str, SATable] = {name: _fact_table(name) for name in FACT_COLUMNS}


class InsightBuyerDay(Base):
    """Which buyers had a fact row on which day: how a report finds the buyers it needs."""

    __tablename__ = "insight_buyer_days"
    store: Mapped[str] = mapped_column(Id, primary_key=True)
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    buyer: Mapped[str] = mapped_column(Id, primary_key=True)


class InsightCursor(Base):
    """How far a store's event log has been turned into roll-up rows, and the state to go on."""

    __tablename__ = "insight_cursor"
    store: Mapped[str] = mapped_column(Id, primary_key=True)
    last_event_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_action_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    events: Mapped[int] = mapped_column(BigInteger, default=0)  # events fed so far
    state: Mapped[bytes] = mapped_column(LargeBinary)  # pickled follower state
    config_hash: Mapped[str] = mapped_column(String(32), default="")
    updated_ms: Mapped[int] = mapped_column(BigInteger, default=0)


BUYER_DAYS = cast(SATable, InsightBuyerDay.__table__)
CURSOR = cast(SATable, InsightCursor.__table__)

__all__ = [
    "BUYER_DAYS", "BY_ORDER", "CURSOR", "FACT_COLUMNS", "FACT_TABLES", "InsightBuyerDay",
    "InsightCursor",
]  # fmt: skip
