"""Fact tables rebuilt from the event log only when the log grew: one per report kind and store.

Reports that still replay a store's whole log per request (product-card traffic, the 转人工
report) keep their last fact tables per process, keyed on the store's last event seq — a
page that asks several reports at once pays for one replay, and any new event is seen at
once. (The insight metrics use the roll-up tables instead.)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from kefu.storage.models import Event as EventRow

KEPT = 8  # fact sets kept per process (per kind and store)

_lock = threading.Lock()


def cached_facts(
    state: Any, kind: str, store: str, build: Callable[[], Any], every_store: bool = False
) -> Any:
    """`build()`'s result for (`kind`, `store`), rebuilt when the store's log (with
    `every_store`, any store's: facts that read other stores) has new events."""
    last = select(func.max(EventRow.seq))
    with state.service.db.connect() as conn:
        head = conn.scalar(last if every_store else last.where(EventRow.store == store)) or 0
    with _lock:
        cache: OrderedDict[tuple[str, str], tuple[int, Any]] | None = getattr(
            state, "fact_cache", None
        )
        if cache is None:
            cache = state.fact_cache = OrderedDict()
        hit = cache.get((kind, store))
    if hit is not None and hit[0] == head:
        return hit[1]
    facts = build()
    with _lock:
        cache[(kind, store)] = (head, facts)
        cache.move_to_end((kind, store))
        while len(cache) > KEPT:
            cache.popitem(last=False)
    return facts
