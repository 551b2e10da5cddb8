"""Shopping-guide endpoints: per-agent metrics (metrics.md §4) and yesterday's leaderboards."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from kefu.api.deps import FORBIDDEN, UNAUTHORIZED, staff
from kefu.api.params import parse_day
from kefu.guide.schemas import Leaderboards

router = APIRouter(
    prefix="/api/v1/stores/{store}/guide",
    tags=["guide"],
    dependencies=[Depends(staff("supervisor"))],
    responses={**UNAUTHORIZED, **FORBIDDEN},
)


@router.get("/leaderboards", summary="The guide's three leaderboards of a day (default: yesterday)",
            response_model=Leaderboards)  # fmt: skip
def leaderboards(
    request: Request,
    store: str,
    day: str | None = Query(None, description="YYYY-MM-DD; yesterday in the store's timezone."),
) -> Any:
    """成交TOP榜 (top 5 by guide GMV), 积极使用榜 (adoption > 30 %), 不积极使用榜 (the rest)."""
    from kefu.insight.api import rollups_of
    from kefu.insight.leaderboards import guide_boards

    service = request.app.state.service
    the_day = parse_day(day, "day")
    if the_day is None:
        tz = service.engine.settings(store).tz
        the_day = datetime.now(tz).date() - timedelta(days=1)
    doc = rollups_of(request).report([store], the_day, the_day, parts=["guide"])
    agents = doc["stores"].get(store, {}).get("agents", {})
    return {"store": store, "day": the_day.isoformat(), **guide_boards(agents)}
