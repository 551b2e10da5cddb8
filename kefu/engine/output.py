"""Render actions for output: RFC 3339 timestamps in the store's timezone, one JSON line each."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import msgspec

from kefu.engine.actions import Action

_ENC = msgspec.json.Encoder()


def format_ts(ms: int, tz: ZoneInfo) -> str:
    """Epoch milliseconds as RFC 3339 with the offset of `tz` (milliseconds only when set)."""
    dt = datetime.fromtimestamp(ms / 1000, tz)
    return dt.isoformat(timespec="milliseconds" if ms % 1000 else "seconds")


def action_line(action: Action, tz: ZoneInfo) -> bytes:
    """One action as a JSON line (with the trailing newline)."""
    rendered = msgspec.structs.replace(action, ts=format_ts(action.ts, tz))  # type: ignore[arg-type]
    return _ENC.encode(rendered) + b"\n"


def action_dict(action: Action, tz: ZoneInfo) -> dict[str, object]:
    """One action as a plain dict with an RFC 3339 `ts` (for the API)."""
    d: dict[str, object] = msgspec.to_builtins(action)
    d["ts"] = format_ts(action.ts, tz)
    return d
