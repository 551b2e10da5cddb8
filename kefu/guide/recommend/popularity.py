"""Popularity: the last resort of the built-in provider, and a provider (and baseline) itself.

Popularity is the decayed number of baskets holding an item (`CoPurchase.item`). Sorting
100 k items on every panel would dominate its latency, so the head of the ranking is cached
and rebuilt lazily: at once while the store is small, else after `refresh_orders` new orders.
"""

from __future__ import annotations

from collections.abc import Iterator

from kefu.guide.recommend.copurchase import CoPurchase
from kefu.guide.recommend.decay import best_sellers, take
from kefu.guide.recommend.decay import ranked as _ranked
from kefu.guide.recommend.provider import Catalogue, available

HEAD = 500
SMALL = 5_000


class PopularityRanking:
    """A lazily refreshed head of the popularity ranking of one store."""

    def __init__(self, refresh_orders: int = 500) -> None:
        self.refresh_orders = refresh_orders
        self.head: list[str] = []
        self.at_orders = -1

    def top(self, cp: CoPurchase, n: int = HEAD) -> list[str]:
        """The `n` (at most HEAD) most popular items, from the cache when it is fresh enough."""
        stale = cp.orders != self.at_orders and (
            len(cp.item) <= SMALL or cp.orders - self.at_orders >= self.refresh_orders
        )
        if stale or self.at_orders < 0:
            self.head = best_sellers(cp.item, HEAD)
            self.at_orders = cp.orders
        return self.head[:n]

    def ranked(self, cp: CoPurchase) -> Iterator[str]:
        """Items, most popular first: the cached head, then (rarely) the full ranking."""
        yield from self.top(cp)
        if len(cp.item) > len(self.head):
            head = set(self.head)
            yield from (k for k in _ranked(cp.item) if k not in head)


class PopularityProvider:
    """Most-bought items of the store (decayed), whatever was asked: the baseline."""

    def __init__(self, half_life_days: float = 90.0) -> None:
        self.half_life_days = half_life_days
        self.stats: dict[str, CoPurchase] = {}
        self.rankings: dict[str, PopularityRanking] = {}

    def observe_order(self, store: str, buyer: str, items: list[str], ts_ms: int) -> None:
        """Count the basket's items (pairs are not needed here)."""
        cp = self.stats.get(store)
        if cp is None:
            cp = self.stats[store] = CoPurchase(self.half_life_days, max_basket=10**9)
        w = cp.weight(ts_ms)
        cp.t_last = max(cp.t_last, ts_ms)
        cp.orders += 1
        cp.total += w
        for a in dict.fromkeys(items):
            cp.item[a] = cp.item.get(a, 0.0) + w

    def complements(self, store: str, product: str, k: int, catalogue: Catalogue) -> list[str]:
        """The `k` most popular available items other than `product` and its category."""
        cp = self.stats.get(store)
        if cp is None or k <= 0:
            return []
        item = catalogue.get(product)
        category = item.category if item is not None else ""

        def ok(b: str) -> bool:
            it = catalogue.get(b)
            return available(it) and not (category and it is not None and it.category == category)

        ranking = self.rankings.setdefault(store, PopularityRanking())
        return take(ranking.ranked(cp), k, lambda b: b != product and ok(b))


__all__ = ["PopularityProvider", "PopularityRanking", "take"]
