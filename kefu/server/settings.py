"""Store settings over the API: read the effective values, change them, see who changed what.

A change is validated with the same rules and messages as a settings file, then logged as a
`settings` event: the engine applies it from that moment, a replay of the log applies it at
the same point, and the log itself is the audit trail (who, when, what).
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from kefu.accounts.tokens import Principal
from kefu.api.deps import FORBIDDEN, NOT_FOUND, UNAUTHORIZED, staff
from kefu.engine.output import format_ts
from kefu.engine.settings import SECTIONS, SettingsError, check_values, merge_values
from kefu.server.schemas import SettingsDocument, SettingsHistory
from kefu.storage.models import Event

router = APIRouter(
    prefix="/api/v1/stores/{store}/settings",
    tags=["settings"],
    responses={**UNAUTHORIZED, **FORBIDDEN, **NOT_FOUND},
)

INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "Values that break config.md: `detail` names every bad key; `errors` "
          "lists them one by one with a `code` (min, max, type, duration, enum, timezone, "
          "unknown_key, table, invalid) and its parameters, for a UI to word in its language",
          "content": {"application/json": {"example": {
              "detail": "bad value for `bot.threshold`: Expected `float` <= 1.0",
              "errors": [{"key": "bot.threshold", "code": "max", "limit": 1.0,
                          "message": "bad value for `bot.threshold`: Expected `float` <= 1.0"}]}}}},
}  # fmt: skip

_TYPES = {"float": "number", "int": "integer", "bool": "boolean", "array": "list", "str": "text",
          "object": "table"}  # fmt: skip


def _classify(key: str, message: str) -> dict[str, Any]:
    """A settings error as a code and its parameters (the message stays for API users)."""
    out: dict[str, Any] = {"key": key, "message": message}
    if message.startswith("unknown key"):
        return {**out, "code": "unknown_key"}
    if m := re.search(r"Expected `\w+` (<=|>=|<|>) (-?[\d.]+)", message):
        limit = float(m.group(2))
        value = int(limit) if limit.is_integer() and "`int`" in message else limit
        return {**out, "code": "max" if "<" in m.group(1) else "min", "limit": value}
    if m := re.search(r"Expected `(\w+)`, got `(\w+)`", message):
        return {**out, "code": "type", "expected": _TYPES.get(m.group(1), m.group(1))}
    if "duration" in message:
        return {**out, "code": "duration"}
    if "Invalid enum value" in message:
        return {**out, "code": "enum"}
    if "unknown timezone" in message:
        return {**out, "code": "timezone"}
    if "expected a table" in message:
        return {**out, "code": "table"}
    return {**out, "code": "invalid"}


def field_errors(values: Any) -> list[dict[str, Any]]:
    """Every bad key of a `{section: {key: value}}` change, each checked on its own, so a
    form learns about all of them at once (a settings file stops at the first)."""
    if not isinstance(values, dict):
        return [_classify("", "bad value: expected a table of sections")]
    errors: list[dict[str, Any]] = []
    for section, keys in values.items():
        if section not in SECTIONS:
            errors.append(_classify(str(section), f"unknown key `{section}`"))
        elif not isinstance(keys, dict):
            errors.append(_classify(section, f"bad value for `{section}`: expected a table"))
        else:
            for key, value in keys.items():
                try:
                    check_values({section: {key: value}})
                except SettingsError as e:
                    errors.append(_classify(f"{section}.{key}", str(e)))
    return errors


def _invalid(errors: list[dict[str, Any]]) -> JSONResponse:
    detail = "; ".join(e["message"] for e in errors)
    return JSONResponse(status_code=422, content={"detail": detail, "errors": errors})


def _document(service: Any, store: str) -> dict[str, Any]:
    engine = service.engine
    with service.state_of(store) as st:
        changes = dict(st.settings) if st is not None else {}
    return {
        "store": store,
        "effective": msgspec.to_builtins(engine.settings(store)),
        "file": service.config.layers(store),
        "changes": changes,
    }


@router.get("", summary="Effective settings of the store (file values + live changes)",
            response_model=SettingsDocument)  # fmt: skip
def read_settings(
    request: Request, store: str, _: Principal = Depends(staff("supervisor"))
) -> dict[str, Any]:
    """`effective` is what the rules use now; `changes` the live changes over the file."""
    return _document(request.app.state.service, store)


@router.put("", summary="Change settings (admin); validated like a settings file",
            responses=INVALID, response_model=SettingsDocument)  # fmt: skip
def change_settings(
    request: Request,
    store: str,
    values: dict[str, dict[str, Any]] = Body(
        ...,
        examples=[{"urge": {"delay": "10m", "min_intent": 0.6}, "guide": {"max_items": 4}}],
    ),
    p: Principal = Depends(staff("admin")),
) -> Any:
    """Merge `{section: {key: value}}` over the current settings; a 422 lists every bad key."""
    service = request.app.state.service
    if not values or not any(values.values()):
        raise HTTPException(422, "no change: send {section: {key: value}}")
    errors = field_errors(values)
    if errors:
        return _invalid(errors)
    with service.state_of(store) as st:
        current = dict(st.settings) if st is not None else {}
    try:
        service.config.with_changes(store, merge_values(current, values))
    except SettingsError as e:
        return _invalid([_classify("", str(e))])
    event = {"type": "settings", "ts": service.clock.now(), "store": store,
             "values": values, "agent": p.agent}  # fmt: skip
    result = service.ingest([event])
    if result.rejected:
        raise HTTPException(422, result.rejected[0].reason)
    return _document(service, store)


@router.get("/history", summary="Audit log of settings changes, newest first",
            response_model=SettingsHistory)  # fmt: skip
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
