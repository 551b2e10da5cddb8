"""Clocks: the engine never reads the wall clock itself; one is injected.

`VirtualClock` follows the events' own timestamps (replay, back-tests, tests); `WallClock`
reads real time (the live server). Both answer epoch milliseconds.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Something that says what time it is, in epoch milliseconds."""

    def now(self) -> int:
        """The current time in epoch milliseconds."""
        ...

    def advance(self, to: int) -> None:
        """Tell the clock the engine has reached `to` (a virtual clock moves; wall time not)."""
        ...


class VirtualClock:
    """A clock moved forward by the engine as it consumes events; never goes back."""

    def __init__(self, start: int = 0) -> None:
        self._now = start

    def now(self) -> int:
        """The latest time the engine has reached."""
        return self._now

    def advance(self, to: int) -> None:
        """Move to `to` if it is later than now (late events do not turn time back)."""
        if to > self._now:
            self._now = to


class WallClock:
    """Real time, for the live server."""

    def now(self) -> int:
        """Wall-clock epoch milliseconds."""
        return time.time_ns() // 1_000_000

    def advance(self, to: int) -> None:
        """Wall time moves by itself."""
