"""Builders for event lists used by the engine tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import msgspec

from kefu.engine.events import AnyEvent, Event

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=CST)


def at(minutes: float = 0, seconds: float = 0) -> str:
    """RFC 3339 time `minutes` after 2026-03-01 09:00 +08:00."""
    return (T0 + timedelta(minutes=minutes, seconds=seconds)).isoformat()


def ev(type_: str, minutes: float = 0, store: str = "s1", **fields: Any) -> Event:
    """A decoded event of `type_` at T0 + minutes."""
    raw = {"ts": at(minutes), "type": type_, "store": store, **fields}
    out: Event = msgspec.convert(raw, AnyEvent)
    return out


def msg(buyer: str, minutes: float, sender: str = "buyer", **fields: Any) -> Event:
    """A message event."""
    return ev("message", minutes, buyer=buyer, sender=sender, **fields)
