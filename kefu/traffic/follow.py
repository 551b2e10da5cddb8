"""Card-traffic facts kept per process and fed only with what was logged since last asked.

Card traffic needs no rules (kefu.traffic.facts: events in any order), so a store's facts
grow by appending its new events: a report reads the events logged since the previous one,
never the store's whole log again. A store's own events are read after the last seq taken
in (one writer per store commits its events in seq order). Other stores' orders, payments
and catalogue (where churned buyers went) come from writers that commit concurrently, so
they are re-read with an overlap of `OVERLAP` seqs: those event types are kept by id
(first order, first payment, latest product), so reading one twice changes nothing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from kefu.engine.settings import Config
from kefu.traffic.facts import OTHER_STORE_TYPES, TYPES, TrafficFacts

OVERLAP = 10_000  # seqs of other stores' events read again (concurrent commits)


@dataclass
class _Followed:
    facts: TrafficFacts
    own: int = 0  # last seq of the store's own events taken in
    other: int = 0  # highest seq of other stores' events seen
    tables: dict[str, pa.Table] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class TrafficFollower:
    """Each store's card-traffic facts of this process (one instance on `app.state`)."""

    def __init__(self, db: Any, config: Config) -> None:
        self.db = db
        self.config = config
        self._followed: dict[tuple[str, bool], _Followed] = {}
        self._guard = threading.Lock()

    def tables(self, store: str, others: bool = False) -> dict[str, pa.Table]:
        """The store's fact tables as of now (with `others`: other stores' orders too)."""
        from kefu.storage.repo import logged_events

        with self._guard:
            f = self._followed.get((store, others))
            if f is None:
                f = self._followed[(store, others)] = _Followed(TrafficFacts(self.config))
        with f.lock:
            new = 0
            for seq, event in logged_events(self.db, store, TYPES, after=f.own, with_seq=True):
                f.facts.add(event)
                f.own, new = seq, new + 1
            if others:
                since = max(0, f.other - OVERLAP)
                found = logged_events(
                    self.db, store, OTHER_STORE_TYPES, other_stores=True, after=since,
                    with_seq=True,
                )  # fmt: skip
                for seq, event in found:
                    f.facts.add(event)
                    if seq > f.other:
                        f.other, new = seq, new + 1
            if new or f.tables is None:
                f.tables = f.facts.tables()
            return f.tables


def follower_of(state: Any) -> TrafficFollower:
    """The app's follower (`app.state.traffic_follower`), made on first use."""
    found: TrafficFollower | None = getattr(state, "traffic_follower", None)
    if found is None:
        service = state.service
        found = state.traffic_follower = TrafficFollower(service.db, service.config)
    return found
