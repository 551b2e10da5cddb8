"""Batch ingestion: `POST /api/v1/events` (JSON array, one object, or NDJSON).

Ingestion writes a store's log, the source of every decision, so it needs an **admin token
of that store**. A batch may mix stores only in the sense that lines of another store are
refused one by one (field `store`, reason "not the token's store") while the token's own
lines are kept; the reason is the same whether the other store exists or not, so a token
of store A learns nothing about store B. A batch where nothing could be accepted is a 422
as before. Every error body is `{"detail": reason}` (plus `rejected` where lines were read).
`kefu replay` reads files offline and needs no token.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from kefu.accounts.tokens import Principal
from kefu.api.deps import FORBIDDEN, UNAUTHORIZED, principal, staff
from kefu.engine.events import AnyEvent
from kefu.engine.output import action_dict, format_ts
from kefu.engine.readers import Rejected
from kefu.server.schemas import ActionPage, Ingested

router = APIRouter(tags=["events"])

MAX_BODY = 16 * 1024 * 1024
MAX_EVENTS = 50_000
INGEST_ROLE = "admin"
FOREIGN = "not the token's store: each line must belong to the store of the admin token"

_BODY_SCHEMA: dict[str, Any] = {
    "content": {
        "application/json": {
            "schema": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}
        },
        "application/x-ndjson": {"schema": {"type": "string"}},
    },
    "required": True,
}


class _StoreOnly(msgspec.Struct):
    """Just enough of an event to tell whose it is (the full check is the service's)."""

    store: Any = None
    ts: Any = None


TS_MAX = 32_503_680_000_000  # year 3000, the bound `parse_ts` puts on epoch milliseconds
TS_RANGE = "timestamp out of range (1970 to 3000)"


_STORE_OF = msgspec.json.Decoder(_StoreOnly).decode


def _error(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"detail": reason}, status_code=status)


def ingester(p: Principal = Depends(principal)) -> Principal:
    """A dependency: a staff token with the ingest role (admin); 403 otherwise."""
    if p.is_buyer or not p.at_least(INGEST_ROLE):
        raise HTTPException(403, f"needs role {INGEST_ROLE} of the events' store")
    return p


def split_by_store(items: list[bytes], store: str) -> tuple[list[int], list[Rejected]]:
    """Positions (0-based) of the items the token may write, and the refused foreign lines.

    Items that do not even parse are kept for the service, which rejects them with the
    field and reason of the full decoder; only a readable `store` of another store is
    refused here.
    """
    keep: list[int] = []
    refused: list[Rejected] = []
    for i, raw in enumerate(items):
        try:
            head = _STORE_OF(raw)
        except (msgspec.DecodeError, ValueError):
            keep.append(i)
            continue
        if isinstance(head.store, str) and head.store and head.store != store:
            refused.append(Rejected(i + 1, "store", FOREIGN))
        elif not _ts_in_range(head.ts):
            refused.append(Rejected(i + 1, "ts", TS_RANGE))
        else:
            keep.append(i)
    return keep, refused


def _ts_in_range(ts: Any) -> bool:
    """False for an RFC 3339 time outside the epoch-milliseconds range the rules can handle.

    `parse_ts` bounds integers but not strings, and a year-1 or year-9999 time made the
    conversation rules raise (a 500). Unparseable values are left to the service's reasons.
    """
    if not isinstance(ts, str):
        return True
    from kefu.engine.events import parse_ts

    try:
        ms = parse_ts(ts)
    except ValueError:
        return True
    return 0 <= ms <= TS_MAX


async def _read_capped(request: Request) -> bytes | None:
    """The body, or None as soon as it passes MAX_BODY (never buffers more than that)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/api/v1/events",
    summary="Ingest a batch of events (admin token of the events' store)",
    response_model=Ingested,
    openapi_extra={"requestBody": _BODY_SCHEMA},
    responses={
        200: {"description": "Accepted (possibly with some lines rejected)"},
        400: {"description": "The body is not JSON"},
        413: {"description": "Batch too large"},
        422: {"description": "Nothing in the batch could be accepted"},
        **UNAUTHORIZED,
        **FORBIDDEN,
    },
)
async def ingest(request: Request, p: Principal = Depends(ingester)) -> Any:
    """Append events to their store's log and apply them.

    Each item is validated on its own: bad items come back in `rejected` with their
    1-based position (`line`), the `field` and the `reason`; the others are kept. An item
    whose `id` was already accepted counts as a duplicate and changes nothing. Items of a
    store other than the token's are rejected with field `store`.
    """
    body = await _read_capped(request)
    if body is None:
        return _error(413, f"body over {MAX_BODY} bytes; split the batch")
    ctype = request.headers.get("content-type", "application/json").split(";")[0].strip()
    items: list[bytes]
    if ctype in ("application/x-ndjson", "application/jsonl", "text/plain"):
        items = [line for line in body.split(b"\n") if line.strip()]
    else:
        try:
            doc = msgspec.json.decode(body)
        except (msgspec.DecodeError, UnicodeDecodeError) as e:  # invalid UTF-8 was a 500
            return _error(400, f"body is not valid JSON: {e}")
        docs = doc if isinstance(doc, list) else [doc]
        items = [msgspec.json.encode(d) for d in docs]
    if len(items) > MAX_EVENTS:
        return _error(413, f"more than {MAX_EVENTS} events in one batch; split it")
    keep, refused = split_by_store(items, p.store)
    service = request.app.state.service
    result = await asyncio.to_thread(service.ingest, [items[i] for i in keep])
    # The service numbers the items it was given: map its lines back to the batch's.
    rejected = refused + [Rejected(keep[r.line - 1] + 1, r.field, r.reason)
                          for r in result.rejected]  # fmt: skip
    rejected.sort(key=lambda r: r.line)
    payload = {
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "rejected": [msgspec.to_builtins(r) for r in rejected],
        "actions": [action_dict(a, service.engine.settings(a.store).tz) for a in result.actions],
    }
    if rejected and result.accepted == 0 and result.duplicates == 0:
        first = rejected[0]
        where = f" (`{first.field}`)" if first.field else ""
        payload["detail"] = f"no event accepted; line {first.line}{where}: {first.reason}"
        return JSONResponse(payload, status_code=422)
    return JSONResponse(payload, status_code=200)


def openapi_components() -> dict[str, Any]:
    """JSON Schemas of the event types, for the OpenAPI document's components."""
    (event,), components = msgspec.json.schema_components(
        [AnyEvent], ref_template="#/components/schemas/{name}"
    )
    return {"Event": event, **components}


@router.get(
    "/api/v1/stores/{store}/actions",
    summary="Actions of a store, oldest first",
    response_model=ActionPage,
    dependencies=[Depends(staff("supervisor"))],
    responses={**UNAUTHORIZED, **FORBIDDEN},
)
def list_actions(
    request: Request,
    store: str,
    after: int = Query(
        0, ge=0, le=2**63 - 1, description="Return actions with a sequence number above this."
    ),
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
