"""Service-insight endpoints: a store's metrics by store, agent or day, JSON or CSV, and the
monitor's numbers of today so far.

Reports read the daily roll-ups (`kefu.insight.rollup`), caught up first, so their cost
follows the range asked for, not the store's whole history. Peers: when the deployment holds
several stores, the store's tier peers' median and top 10 % per metric come along — computed
over every store of the same tier, never naming one.
"""

from __future__ import annotations

from statistics import median
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from kefu.api.deps import FORBIDDEN, UNAUTHORIZED, staff
from kefu.api.params import csv_download, day_range
from kefu.insight.metrics import STORE_IDS, TOTAL_IDS
from kefu.insight.schemas import InsightReport, TodayNumbers
from kefu.insight.service import rollups_of

router = APIRouter(
    prefix="/api/v1/stores/{store}/insight",
    tags=["insight"],
    dependencies=[Depends(staff("supervisor"))],
    responses={**UNAUTHORIZED, **FORBIDDEN},
)
BY = ("store", "agent", "day")
# Rates where less is better are benchmarked the other way round.
LOWER_IS_BETTER = frozenset({"first_response_s", "avg_response_s", "queue_wait_s",
                             "queue_wait_p90_s", "transfer_failures"})  # fmt: skip


def peer_benchmark(totals_by_store: dict[str, dict[str, Any]], store: str) -> dict[str, Any]:
    """Median and top 10 % of each store-funnel metric over the other stores given (peers)."""
    peers = [v for s, v in totals_by_store.items() if s != store]
    out: dict[str, Any] = {"peers": len(peers)}
    for metric in STORE_IDS:
        values = sorted(v[metric] for v in peers if v.get(metric) is not None)
        if not values:
            out[metric] = {"median": None, "top10": None}
            continue
        best_first = values if metric in LOWER_IS_BETTER else values[::-1]
        top = best_first[: max(1, len(values) // 10)]
        out[metric] = {"median": round(median(values), 6), "top10": round(top[-1], 6)}
    return out


@router.get("", summary="Service-insight metrics (metrics.md §1–§3, §5, §6)",
            response_model=InsightReport)  # fmt: skip
def insight(
    request: Request,
    store: str,
    date_from: str | None = Query(None, alias="from", description="First day, YYYY-MM-DD."),
    date_to: str | None = Query(None, alias="to", description="Last day, YYYY-MM-DD."),
    by: str = Query("store", pattern="^(store|agent|day)$"),
    fmt: str = Query("json", alias="format", pattern="^(json|csv)$"),
    peers: bool = Query(False, description="Add the tier peers' median and top 10 %."),
) -> Any:
    """The store's metrics for the range, grouped by store (totals), agent or day."""
    from kefu.insight.export import render_csv
    from kefu.insight.metrics import SCOPE_IDS
    from kefu.insight.tiers import tier_of

    lo, hi = day_range(date_from, date_to)
    service = request.app.state.service
    rollups = rollups_of(request)
    doc = rollups.report([store], lo, hi)
    mine = {"stores": {store: doc["stores"].get(store) or
                       {"totals": dict.fromkeys(TOTAL_IDS), "days": {}, "agents": {}}}}  # fmt: skip
    ids = SCOPE_IDS["agent"] if by == "agent" else TOTAL_IDS
    if fmt == "csv":
        return csv_download(render_csv(mine, by, ids), f"insight-{store}-{by}.csv")
    body: dict[str, Any] = {"store": store, "from": date_from, "to": date_to, "by": by}
    s = mine["stores"][store]
    body["rows"] = (
        [s["totals"]] if by == "store"
        else [{by: k, **v} for k, v in sorted(s["agents" if by == "agent" else "days"].items())]
    )  # fmt: skip
    if peers:
        my_tier = tier_of(service, store)
        others = [x for x in service.stores() if x != store
                  and tier_of(service, x) == my_tier]  # fmt: skip
        totals = {store: s["totals"]}
        if others:  # one query over every peer; §1 needs only the funnel and sales parts
            d = rollups.report(others, lo, hi, parts=("funnel", "sales"))
            totals.update({o: v["totals"] for o, v in d["stores"].items()})
        body["peers"] = {"tier": my_tier, **peer_benchmark(totals, store)}
    return body


@router.get("/today", summary="Today so far and yesterday until the same time (monitor)",
            response_model=TodayNumbers)  # fmt: skip
def today(request: Request, store: str) -> dict[str, Any]:
    """Key numbers of the store's current day (its timezone) so far, and of yesterday up to
    the same time of day: consultations, 3-minute reply rate, first response, inquiry
    conversion, transfer rate, sales through chat. Caught up with the log on every call."""
    from kefu.insight.realtime import today_numbers

    service = request.app.state.service
    return today_numbers(rollups_of(request), store, service.clock.now())
