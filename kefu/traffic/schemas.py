"""Response bodies of the card-traffic (§7) and market-keyword (§8) endpoints
(kefu.traffic.api). Values are maps of `card_` metric ids (metrics.md §7) to numbers or null.
"""

from __future__ import annotations

from pydantic import Field

from kefu.api.schemas import ApiModel, Num, Sparse

Values = dict[str, Num | None]


class Compared(ApiModel):
    """A period's values, the previous period's, and the relative change of each id."""

    current: Values
    previous: Values
    change: Values


class TrafficReport(Sparse):
    """§7 for a range: `rows` grouped by `by`; with `compare`, the period against the
    previous one instead (`totals` and the section of `by`, e.g. `sources`, of Compared)."""

    store: str
    from_: str | None = Field(alias="from")
    to: str | None
    by: str
    rows: list[dict[str, Num | str | None]] | None = None
    previous_from: str | None = None
    previous_to: str | None = None
    data_from: str | None = None
    previous_complete: bool | None = None
    totals: Compared | None = None
    sources: dict[str, Compared] | None = None
    products: dict[str, Compared] | None = None
    days: dict[str, Compared] | None = None


class HourValues(ApiModel):
    """An hour (`00` … `23`): today's values (null after now) and yesterday's."""

    hour: str
    today: Values | None
    yesterday: Values


class TodayTotals(ApiModel):
    """Today's totals so far against yesterday's until the same time."""

    today: Values
    yesterday_same_time: Values
    change: Values


class TrafficToday(ApiModel):
    """Today by hour against yesterday, until now (`until`, HH:MM store time)."""

    store: str
    day: str
    yesterday: str
    until: str
    hours: list[HourValues]
    totals: TodayTotals


class Step(ApiModel):
    """A funnel step (impression, click, order, payment) with its users and step rate."""

    step: str
    users: int
    rate: Num | None


class SourceFunnel(ApiModel):
    """One source's values and funnel."""

    metrics: Values
    funnel: list[Step]


class ProductFunnel(ApiModel):
    """A product's card funnel, overall and per source."""

    store: str
    product: str
    metrics: Values
    funnel: list[Step]
    sources: dict[str, SourceFunnel]


class AudienceGroup(ApiModel):
    """Click users, and counts per attribute value (province, gender, age band, customer)
    of those who bought and those who did not."""

    buyers: int
    bought: dict[str, dict[str, int]]
    not_bought: dict[str, dict[str, int]]


class Audience(ApiModel):
    """The card audience overall and per source."""

    store: str
    all: AudienceGroup
    sources: dict[str, AudienceGroup]


class ChurnCategory(ApiModel):
    """A category churned clickers bought elsewhere (thresholded aggregates only)."""

    category: str
    clicked_here: bool
    buyers: int
    orders: int
    gmv: Num
    avg_item_amount: Num | None


class Thresholds(ApiModel):
    """The minimum stores and buyers an answer needs to be shown."""

    min_stores: int
    min_buyers: int


class Churn(ApiModel):
    """Clickers who paid nothing here and the categories they bought in other stores."""

    store: str
    source: str | None
    card_churned_users: int | None
    card_click_users: int | None
    bought_elsewhere_users: int | None
    categories: list[ChurnCategory]
    suppressed_buyers: int | None
    thresholds: Thresholds


class Keyword(ApiModel):
    """A keyword's means over the window and its three ranks."""

    keyword: str
    days: int
    search_popularity: Num | None
    online_products: Num | None
    competition: Num | None
    click_share: Num | None
    rank_popularity: int | None
    rank_competition: int | None
    rank_click_share: int | None


class Ranking(ApiModel):
    """Keywords ranked over `window` days ending `to` (null: no data imported)."""

    store: str
    from_: str | None = Field(alias="from")
    to: str | None
    window: int
    sort: str
    keywords: list[Keyword]


class KeywordSuggestion(Keyword):
    """A keyword sharing words with the title: which it matched, which it lacks, a score."""

    matched: list[str]
    missing: list[str]
    score: Num


class Suggestions(ApiModel):
    """Title keywords for a product (or a title), best first."""

    store: str
    product: str | None
    title: str
    from_: str | None = Field(alias="from")
    to: str | None
    suggestions: list[KeywordSuggestion]


class RejectedLine(ApiModel):
    """A refused line of an import: where and why."""

    line: int
    field: str | None
    reason: str


class KeywordImport(ApiModel):
    """Lines read, rows stored and refused lines of a keyword import."""

    store: str
    lines: int
    imported: int
    rejected: list[RejectedLine]
