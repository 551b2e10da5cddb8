"""Tables of market keyword insight (metrics.md §8): the imported daily keyword data."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Float, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.storage.models import Base, Id, SeqType


class MarketKeyword(Base):
    """One keyword on one day as the market tool exported it (搜索人气, 在线商品数, 点击占比).

    Market data is imported by a store (from its own 生意参谋 / 罗盘 account), so rows are
    scoped by `store` like every table; re-importing a (day, keyword) replaces it.
    """

    __tablename__ = "market_keywords"
    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    store: Mapped[str] = mapped_column(Id)
    day: Mapped[date] = mapped_column(Date)
    keyword: Mapped[str] = mapped_column(String(256))
    search_popularity: Mapped[float] = mapped_column(Float)
    online_products: Mapped[int] = mapped_column(BigInteger)
    click_share: Mapped[float] = mapped_column(Float)
    imported_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    __table_args__ = (
        UniqueConstraint("store", "day", "keyword", name="uq_market_keywords_store_day_keyword"),
    )
