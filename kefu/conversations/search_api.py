"""`GET /api/v1/stores/{store}/conversations/search`: past and open conversations of the
store, for its agents, supervisors and admins (the workbench's search panel)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from kefu.accounts.tokens import Principal
from kefu.api.deps import FORBIDDEN, NOT_FOUND, UNAUTHORIZED, staff
from kefu.conversations import search as finder
from kefu.conversations.api import Page
from kefu.conversations.schemas import SearchPage
from kefu.conversations.service import agent_names
from kefu.runtime.service import EngineService

router = APIRouter(prefix="/api/v1/stores/{store}", tags=["agents"])
INVALID: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "A bad parameter, named",
        "content": {
            "application/json": {
                "example": {"detail": "from: not a date (YYYY-MM-DD) or RFC 3339 time"}
            }
        },
    },
}


@router.get(
    "/conversations/search",
    summary="Search conversations (buyer, text, order, dates)",
    response_model=SearchPage,
    responses={**UNAUTHORIZED, **FORBIDDEN, **NOT_FOUND, **INVALID},
)
async def search_conversations(
    store: str,
    request: Request,
    p: Principal = Depends(staff()),
    buyer: str | None = Query(None, max_length=256, description="Part of the buyer id."),
    q: str | None = Query(None, max_length=200, description="Words in a message."),
    order: str | None = Query(
        None,
        max_length=256,
        description="An order id: its buyer's conversations and those mentioning it.",
    ),
    date_from: str | None = Query(
        None,
        alias="from",
        max_length=40,
        description="Opened on or after (YYYY-MM-DD in the store's timezone, or RFC 3339).",
    ),
    date_to: str | None = Query(
        None,
        alias="to",
        max_length=40,
        description="Opened on or before this day (YYYY-MM-DD), or before this RFC 3339 time.",
    ),
    after: str | None = Query(
        None, max_length=300, description="`next_after` of the previous page."
    ),
    limit: int = Query(20, ge=1, le=100),
) -> Any:
    """Newest first: conversation, buyer, agent, status, opened/closed, number of messages
    and a snippet (the first message with the words searched). Criteria combine with AND;
    none at all lists every conversation of the store."""
    svc: EngineService = request.app.state.service
    tz = svc.engine.settings(store).tz
    try:
        query = finder.Query(
            buyer=buyer.strip() if buyer and buyer.strip() else None,
            text=q.strip() if q and q.strip() else None,
            order=order.strip() if order and order.strip() else None,
            start_ms=finder.day_bound(date_from, tz, "from", end=False) if date_from else None,
            end_ms=finder.day_bound(date_to, tz, "to", end=True) if date_to else None,
        )
        names = agent_names(svc, store)

        def run() -> Any:
            with svc.sessions() as s:
                return finder.search(s, store, query, tz, after, limit, names)

        items, cursor = await asyncio.to_thread(run)
    except finder.SearchError as e:
        raise HTTPException(422, str(e)) from None
    return Page(items=items, next_after=cursor)
