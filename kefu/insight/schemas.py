"""Response bodies of the service-insight endpoints (kefu.insight.api).

Rows are metric documents keyed by the metric ids of metrics.md (a number or null each);
the set of ids depends on `by`, so they are typed as maps.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from kefu.api.schemas import ApiModel, Metrics, Sparse


class PeerBenchmark(ApiModel):
    """The tier peers' `{median, top10}` per store-funnel metric id, and how many peers."""

    tier: str
    peers: int


class InsightReport(Sparse):
    """A store's metrics for a range: one row (by store) or one per agent or day."""

    store: str
    from_: str | None = Field(alias="from")
    to: str | None
    by: str
    rows: list[Metrics]
    peers: PeerBenchmark | None = None


class SameTimeYesterday(ApiModel):
    """Yesterday's numbers until the same time of day."""

    day: str
    until: str
    values: dict[str, Any]


class TodayNumbers(ApiModel):
    """The monitor's numbers: today so far against yesterday until the same time."""

    store: str
    now: str
    day: str
    today: dict[str, Any]
    yesterday: SameTimeYesterday
    seq: int
