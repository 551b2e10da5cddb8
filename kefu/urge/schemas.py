"""Response bodies of the urge endpoints (kefu.urge.api)."""

from __future__ import annotations

from pydantic import Field

from kefu.api.schemas import ApiModel, Num, Sparse


class UrgeTotals(ApiModel):
    """The urge metrics of metrics.md §5 (null: no data for a rate)."""

    urged_buyers: int | None
    urge_order_buyers: int | None
    urge_order_amount: Num | None
    urge_paid_amount: Num | None
    urge_conversion_rate: Num | None


class UrgeDay(UrgeTotals):
    """One day's urge metrics."""

    day: str


class UrgeStats(ApiModel):
    """Urge stats of a range: totals and one row per day."""

    store: str
    from_: str | None = Field(alias="from")
    to: str | None
    totals: UrgeTotals
    days: list[UrgeDay]


class TranscriptLine(ApiModel):
    """A message of an urged conversation."""

    ts: str
    sender: str
    agent: str | None
    text: str | None
    product: str | None


class UrgeSent(ApiModel):
    """One urge that was sent, with its conversation's transcript."""

    seq: int
    ts: str
    buyer: str
    conversation: str
    sender: str
    product: str | None
    text: str
    transcript: list[TranscriptLine]


class UrgePage(Sparse):
    """A page of urges: `next_after` (oldest first) or `next_before` (newest first)."""

    items: list[UrgeSent]
    next_after: int | None = None
    next_before: int | None = None


class CopyText(ApiModel):
    """What one copy mode would send (null: nothing) and its length."""

    text: str | None
    length: int


class UrgePreview(ApiModel):
    """The texts of each copy mode (`item`, `generated`, `generic`) for a product."""

    product: str
    copy_: str = Field(alias="copy")
    max_length: int
    texts: dict[str, CopyText]
