"""Render actions for output: RFC 3339 timestamps in the store's timezone, one JSON line each."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import msgspec

from kefu.engine.actions import Action

_ENC = msgspec.json.Encoder()


_SECONDS: dict[tuple[int, str], tuple[str, str]] = {}


def format_ts(ms: int, tz: ZoneInfo) -> str:
    """Epoch milliseconds as RFC 3339 with the offset of `tz` (milliseconds only when set)."""
    sec, frac = divmod(ms, 1000)
    key = (sec, tz.key)
    parts = _SECONDS.get(key)
    if parts is None:
        if len(_SECONDS) > 100_000:
            _SECONDS.clear()
        text = datetime.fromtimestamp(sec, tz).isoformat(timespec="seconds")
        parts = _SECONDS[key] = (text[:19], text[19:])
    return f"{parts[0]}.{frac:03d}{parts[1]}" if frac else parts[0] + parts[1]


def action_line(action: Action, tz: ZoneInfo) -> bytes:
    """One action as a JSON line (with the trailing newline)."""
    rendered = msgspec.structs.replace(action, ts=format_ts(action.ts, tz))
    return _ENC.encode(rendered) + b"\n"


def action_dict(action: Action, tz: ZoneInfo) -> dict[str, object]:
    """One action as a plain dict with an RFC 3339 `ts` (for the API)."""
    d: dict[str, object] = msgspec.to_builtins(action)
    d["ts"] = format_ts(action.ts, tz)
    return d
