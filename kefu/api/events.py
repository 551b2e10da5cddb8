"""Batch ingestion: `POST /api/v1/events` (JSON array, one object, or NDJSON)."""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from kefu.api.deps import FORBIDDEN, UNAUTHORIZED, staff
from kefu.engine.events import AnyEvent
from kefu.engine.output import action_dict, format_ts

router = APIRouter(tags=["events"])

MAX_BODY = 16 * 1024 * 1024
MAX_EVENTS = 50_000

_BODY_SCHEMA: dict[str, Any] = {
    "content": {
        "application/json": {
            "schema": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}
        },
        "application/x-ndjson": {"schema": {"type": "string"}},
    },
    "required": True,
}


def _error(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status)


@router.post(
    "/api/v1/events",
    summary="Ingest a batch of events",
    openapi_extra={"requestBody": _BODY_SCHEMA},
    responses={
        200: {"description": "Accepted (possibly with some lines rejected)"},
        413: {"description": "Batch too large"},
        422: {"description": "Nothing in the batch could be accepted"},
    },
)
async def ingest(request: Request) -> Any:
    """Append events to their stores' logs and apply them.

    Each item is validated on its own: bad items come back in `rejected` with their
    1-based position (`line`), the `field` and the `reason`; the others are kept. An item
    whose `id` was already accepted counts as a duplicate and changes nothing.
    """
    body = await request.body()
    if len(body) > MAX_BODY:
        return _error(413, f"body over {MAX_BODY} bytes; split the batch")
    ctype = request.headers.get("content-type", "application/json").split(";")[0].strip()
    items: list[bytes]
    if ctype in ("application/x-ndjson", "application/jsonl", "text/plain"):
        items = [line for line in body.split(b"\n") if line.strip()]
    else:
        try:
            doc = msgspec.json.decode(body)
        except msgspec.DecodeError as e:
            return _error(400, f"body is not valid JSON: {e}")
        docs = doc if isinstance(doc, list) else [doc]
        items = [msgspec.json.encode(d) for d in docs]
    if len(items) > MAX_EVENTS:
        return _error(413, f"more than {MAX_EVENTS} events in one batch; split it")
    service = request.app.state.service
    import asyncio

    result = await asyncio.to_thread(service.ingest, items)
    payload = {
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "rejected": [msgspec.to_builtins(r) for r in result.rejected],
        "actions": [action_dict(a, service.engine.settings(a.store).tz) for a in result.actions],
    }
    status = 422 if items and result.accepted == 0 and result.duplicates == 0 else 200
    return JSONResponse(payload, status_code=status)


def openapi_components() -> dict[str, Any]:
    """JSON Schemas of the event types, for the OpenAPI document's components."""
    (event,), components = msgspec.json.schema_components(
        [AnyEvent], ref_template="#/components/schemas/{name}"
    )
    return {"Event": event, **components}


@router.get(
    "/api/v1/stores/{store}/actions",
    summary="Actions of a store, oldest first",
    dependencies=[Depends(staff("supervisor"))],
    responses={**UNAUTHORIZED, **FORBIDDEN},
)
def list_actions(
    request: Request,
    store: str,
    after: int = Query(0, ge=0, description="Return actions with a sequence number above this."),
    limit: int = Query(100, ge=1, le=1000),
    type: str | None = Query(None, description="Only this action type, e.g. `urge.send`."),
) -> Any:
    """The committed actions (the outbox) in commit order, paginated by `after`."""
    from sqlalchemy import select

    from kefu.storage.models import Action

    service = request.app.state.service
    q = select(Action.seq, Action.payload).where(Action.store == store, Action.seq > after)
    if type is not None:
        q = q.where(Action.type == type)
    q = q.order_by(Action.seq).limit(limit)
    tz = service.engine.settings(store).tz
    with service.sessions() as s:
        rows = s.execute(q).all()
    items = []
    for seq, payload in rows:
        doc = msgspec.json.decode(payload)
        doc["ts"] = format_ts(doc["ts"], tz)
        items.append({"seq": seq, **doc})
    return {"items": items, "next_after": rows[-1][0] if rows else after}
