"""`kefu.sim.generate`: every store advanced hour by hour in step, events released in order.

Deterministic per seed: one `random.Random` per (seed, store, day) plus one per store for
its set-up, all seeded from strings (sha512, stable across runs and machines); no global
RNG, no `hash()`, no wall clock, no iteration over sets. Streaming: a store's agenda holds
today's visits and the few things scheduled for later; the sink holds one hour of encoded
events. See docs/simulator.md for what is simulated and how it is calibrated.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, timedelta

from kefu.sim.store import Store
from kefu.sim.stream import DAY_S, HOUR_S, Sink

DEFAULT_START = date(2026, 11, 1)


def generate(
    stores: int = 1,
    buyers: int = 1000,
    days: int = 7,
    seed: int = 1,
    start: date | None = None,
    *,
    on_day: Callable[[date], None] | None = None,
    counts: Counter[str] | None = None,
    logged_bots: bool = True,
) -> Iterator[bytes]:
    """Yield simulated events as JSON lines (UTF-8 bytes, no trailing newline) in time order.

    `buyers` is per store (about a fifth visit on a given day); `start` is the first day
    (China time, default 2026-11-01). `on_day(date)` is called once a day's last event has
    been yielded; `counts`, when given, is incremented per event type as events are made.
    `logged_bots=False`: no store logs bot messages (kefu's own bot answers, as in the demo).
    Events dated after the last day (a payment after the final midnight) are not written.
    """
    first = start or DEFAULT_START
    sink = Sink(first, days, counts)
    shops = [Store(i, seed, buyers, sink, logged_bots) for i in range(stores)]
    for day in range(days):
        today = first + timedelta(days=day)
        day_start = sink.base + day * DAY_S
        for shop in shops:
            shop.begin_day(day, today, day_start)
        for hour in range(24):
            hour_start = day_start + hour * HOUR_S
            for shop in shops:
                shop.run_until(hour_start + HOUR_S)
            yield from sink.release(hour_start)
        if on_day is not None:
            on_day(today)
