"""Store settings over the API: read the effective values, change them, see who changed what.

A change is validated with the same rules and messages as a settings file, then logged as a
`settings` event: the engine applies it from that moment, a replay of the log applies it at
the same point, and the log itself is the audit trail (who, when, what).
"""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from sqlalchemy import select

from kefu.accounts.tokens import Principal
from kefu.api.deps import FORBIDDEN, NOT_FOUND, UNAUTHORIZED, staff
from kefu.engine.output import format_ts
from kefu.engine.settings import SettingsError, check_values, merge_values
from kefu.storage.models import Event

router = APIRouter(
    prefix="/api/v1/stores/{store}/settings",
    tags=["settings"],
    responses={**UNAUTHORIZED, **FORBIDDEN, **NOT_FOUND},
)

INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "A value that breaks config.md; `detail` names the key", "content": {
        "application/json": {"example": {"detail": "bad value for `urge.delay`: ..."}}}},
}  # fmt: skip


def _document(service: Any, store: str) -> dict[str, Any]:
    engine = service.engine
    st = engine.states.get(store)
    changes = st.settings if st is not None else {}
    return {
        "store": store,
        "effective": msgspec.to_builtins(engine.settings(store)),
        "file": service.config.layers(store),
        "changes": changes,
    }


@router.get("", summary="Effective settings of the store (file values + live changes)")
def read_settings(
    request: Request, store: str, _: Principal = Depends(staff("supervisor"))
) -> dict[str, Any]:
    """`effective` is what the rules use now; `changes` the live changes over the file."""
    return _document(request.app.state.service, store)


@router.put("", summary="Change settings (admin); validated like a settings file",
            responses=INVALID)  # fmt: skip
def change_settings(
    request: Request,
    store: str,
    values: dict[str, dict[str, Any]] = Body(
        ...,
        examples=[{"urge": {"delay": "10m", "min_intent": 0.6}, "guide": {"max_items": 4}}],
    ),
    p: Principal = Depends(staff("admin")),
) -> dict[str, Any]:
    """Merge `{section: {key: value}}` over the current settings; 422 names a bad key."""
    service = request.app.state.service
    if not values or not any(values.values()):
        raise HTTPException(422, "no change: send {section: {key: value}}")
    st = service.engine.states.get(store)
    try:
        check_values(values)
        service.config.with_changes(store, merge_values(st.settings if st else {}, values))
    except SettingsError as e:
        raise HTTPException(422, str(e)) from None
    event = {"type": "settings", "ts": service.clock.now(), "store": store,
             "values": values, "agent": p.agent}  # fmt: skip
    result = service.ingest([event])
    if result.rejected:
        raise HTTPException(422, result.rejected[0].reason)
    return _document(service, store)


@router.get("/history", summary="Audit log of settings changes, newest first")
def settings_history(
    request: Request,
    store: str,
    limit: int = Query(50, ge=1, le=500),
    before: int | None = Query(
        None, ge=0, le=2**63 - 1, description="Page: log sequence to continue before."
    ),
    _: Principal = Depends(staff("supervisor")),
) -> dict[str, Any]:
    """Who changed which settings when (from the event log); `next` pages further back."""
    service = request.app.state.service
    q = select(Event.seq, Event.ts_ms, Event.payload).where(
        Event.store == store, Event.type == "settings"
    )
    if before is not None:
        q = q.where(Event.seq < before)
    with service.sessions() as s:
        rows = list(s.execute(q.order_by(Event.seq.desc()).limit(limit + 1)))
    tz = service.engine.settings(store).tz
    items = []
    for seq, ts, payload in rows[:limit]:
        doc = msgspec.json.decode(payload)
        items.append({"seq": seq, "ts": format_ts(ts, tz), "agent": doc.get("agent"),
                      "values": doc.get("values", {})})  # fmt: skip
    nxt = rows[limit - 1][0] if len(rows) > limit else None
    return {"store": store, "items": items, "next": nxt}
