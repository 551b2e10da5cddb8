"""Response bodies of the shopping-guide endpoints (kefu.guide.api, kefu.guide.panel_api)."""

from __future__ import annotations

from pydantic import Field

from kefu.api.schemas import ApiModel, Num, Sparse


class BoardRow(Sparse):
    """An agent on a leaderboard with the board's metric (`guide_gmv` or
    `guide_adoption_rate`; null when the agent has no value)."""

    agent: str
    guide_gmv: Num | None = None
    guide_adoption_rate: Num | None = None


class Leaderboards(ApiModel):
    """成交TOP榜 (`top_gmv`), 积极使用榜 (`active`) and 不积极使用榜 (`inactive`) of a day."""

    store: str
    day: str
    top_gmv: list[BoardRow]
    active: list[BoardRow]
    inactive: list[BoardRow]


class PanelItem(Sparse):
    """A panel item; only `product` when the product is not in the catalogue."""

    product: str
    title: str | None = None
    price: Num | None = None
    category: str | None = None
    stock: int | None = None
    status: str | None = None


class NoPanelReason(Sparse):
    """Why the latest inquiry raised no panel: `low_intent`, `no_complements`, `unavailable`,
    `disabled` or `no_inquiry`, with the product, the buyer's intent and the threshold."""

    reason: str
    product: str | None = None
    intent: Num | None = None
    threshold: Num | None = None


class Panel(ApiModel):
    """The conversation's latest guide panel (inquired item first) and the copy to send."""

    conversation: str
    inquired: str | None
    items: list[PanelItem]
    copy_: str = Field(alias="copy")
    reason: NoPanelReason | None
