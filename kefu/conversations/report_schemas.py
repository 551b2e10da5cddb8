"""Response body of the 转人工 hand-off report (kefu.conversations.report_api)."""

from __future__ import annotations

from pydantic import Field

from kefu.api.schemas import ApiModel, Num

# A group's row: every report id (metrics of docs/handoff_report.md), counts as integers,
# rates and means null when their n is 0.
Group = dict[str, Num | None]


class AbRow(ApiModel):
    """Treatment − control of one metric with its confidence interval (null: n too small)."""

    treatment: Num | None
    control: Num | None
    n_treatment: int
    n_control: int
    diff: Num | None
    ci_low: Num | None
    ci_high: Num | None
    method: str


class AbComparison(ApiModel):
    """The A/B difference: `button` against `no_button` (else `outside_rollout`)."""

    treatment: str
    control: str
    metrics: dict[str, AbRow]


class HandoffReport(ApiModel):
    """The store's hand-off report per A/B arm, rollout bucket band and store tier."""

    store: str
    from_: str | None = Field(alias="from")
    to: str | None
    confidence: Num
    totals: Group
    variants: dict[str, Group]
    buckets: dict[str, Group]
    tiers: dict[str, Group]
    ab: AbComparison | None
