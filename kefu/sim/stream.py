"""Where simulated events go: encoded at once, bucketed by hour, released in time order.

Every store is simulated hour by hour in step, and nothing a store does at hour h is dated
before h, so once all stores have run hour h its bucket is complete: it is sorted and
released. Memory holds one hour of events plus the few dated later (payments after
midnight, after-sales cases days later); 10 M events stream through a few MB of buckets.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

import msgspec

CST = timezone(timedelta(hours=8))
DAY_S = 86_400
HOUR_S = 3_600
_TIME_OF_DAY: list[str] = []


def _time_of_day() -> list[str]:
    """Every second of a day as "HH:MM:SS+08:00", built once: formatting is the hot path."""
    if not _TIME_OF_DAY:
        _TIME_OF_DAY.extend(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+08:00"
                            for s in range(DAY_S))  # fmt: skip
    return _TIME_OF_DAY


def epoch_s(day: date) -> int:
    """Midnight of `day` in China time, as epoch seconds."""
    return int(datetime(day.year, day.month, day.day, tzinfo=CST).timestamp())


class Sink:
    """Encoded events of all stores, by hour, until their hour is complete."""

    def __init__(self, start: date, days: int, counts: Counter[str] | None = None) -> None:
        self.base = epoch_s(start)
        self.end = self.base + days * DAY_S
        self.prefixes = [(start + timedelta(days=d)).isoformat() + "T" for d in range(days)]
        self.tod = _time_of_day()
        self.buckets: dict[int, list[tuple[int, int, bytes]]] = {}
        self.seq = 0
        self.frontier = self.base  # nothing may be dated before this any more
        self.clamped = 0  # events that asked for a time already released (a bug if > 0)
        self.counts = counts
        # msgspec, not orjson: orjson's bytes keep a 4 KB buffer each, and an hour of a big
        # run holds hundreds of thousands of lines (orjson: ~700 MB at 10 M events).
        self.encode = msgspec.json.Encoder().encode

    def put(self, t: int, event: dict[str, Any]) -> None:
        """Encode `event` (its `ts` is filled in here) and keep it for hour `t`."""
        if t < self.frontier:
            self.clamped += 1
            t = self.frontier
        if t >= self.end:  # after the simulated window: never written
            return
        off = t - self.base
        event["ts"] = self.prefixes[off // DAY_S] + self.tod[off % DAY_S]
        self.seq += 1
        hour = off // HOUR_S
        bucket = self.buckets.get(hour)
        if bucket is None:
            bucket = self.buckets[hour] = []
        bucket.append((t, self.seq, self.encode(event)))
        if self.counts is not None:
            self.counts[event["type"]] += 1

    def release(self, hour_start: int) -> Iterator[bytes]:
        """The events of the hour starting at `hour_start`, in time order (then emit order)."""
        self.frontier = hour_start + HOUR_S
        bucket = self.buckets.pop((hour_start - self.base) // HOUR_S, None)
        if not bucket:
            return iter(())
        bucket.sort()
        return (line for _, _, line in bucket)


class Log:
    """One store's event writer: stable ids (store, day, running number) and the sink."""

    def __init__(self, sink: Sink, store: str) -> None:
        self.sink = sink
        self.store = store
        self.day = 0
        self.n = 0

    def new_day(self, day: int) -> None:
        """Ids restart per day: `s001-3-17` is the 17th event written on day 3."""
        self.day = day
        self.n = 0

    def __call__(self, t: int, type_: str, **fields: Any) -> None:
        """Write one event of type `type_` at epoch second `t`."""
        self.n += 1
        event = {"id": f"{self.store}-{self.day}-{self.n}", "ts": "", "type": type_,
                 "store": self.store}  # fmt: skip
        event.update(fields)
        self.sink.put(t, event)
