"""The 转人工 hand-off report over HTTP: a supervisor's view of the store's A/B and rollout.

Read from the insight roll-ups (`kefu.insight.rollup`: what the live service decided,
caught up first, only the buyers active in the range), then the same Ibis expressions as
`kefu report handoff` run on DuckDB. No rules run again and the store's log is not re-read.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from kefu.api.deps import FORBIDDEN, NOT_FOUND, UNAUTHORIZED, staff
from kefu.api.params import csv_download, day_range
from kefu.conversations.report_schemas import HandoffReport

router = APIRouter(
    prefix="/api/v1/stores/{store}/reports",
    tags=["reports"],
    dependencies=[Depends(staff("supervisor"))],
    responses={**UNAUTHORIZED, **FORBIDDEN, **NOT_FOUND},
)


def _report(request: Request, store: str, lo: Any, hi: Any) -> dict[str, Any]:
    from kefu.conversations.report import compute, empty_store
    from kefu.insight.metrics import day_number
    from kefu.insight.service import rollups_of

    rollups = rollups_of(request)
    facts = rollups.facts(
        [store],
        day_number(lo) if lo is not None else None,
        day_number(hi) if hi is not None else None,
        handoff=True,
    )
    doc = compute(facts, rollups.config, lo, hi)
    doc["stores"] = {store: doc["stores"].get(store) or empty_store()}
    return doc


@router.get("/handoff", summary="转人工 report: per A/B arm, rollout bucket and tier, with CIs",
            response_model=HandoffReport)  # fmt: skip
async def handoff_report(
    request: Request,
    store: str,
    date_from: str | None = Query(None, alias="from", description="First day, YYYY-MM-DD."),
    date_to: str | None = Query(None, alias="to", description="Last day, YYYY-MM-DD."),
    fmt: str = Query("json", alias="format", pattern="^(json|csv)$"),
) -> Any:
    """Conversations offered the button, transfer rate and success, queue wait, human-served
    share, satisfaction and inquiry conversion per variant, bucket band and store tier, each
    with its n; `ab` holds treatment − control with a confidence interval. Days are the days
    conversations opened (store-local)."""
    from kefu.conversations.report import csv_text

    lo, hi = day_range(date_from, date_to)
    doc = await asyncio.to_thread(_report, request, store, lo, hi)
    if fmt == "csv":
        return csv_download(csv_text(doc), f"handoff-{store}.csv")
    section = doc["stores"][store]
    return {"store": store, "from": date_from, "to": date_to,
            "confidence": doc["confidence"], **section}  # fmt: skip
