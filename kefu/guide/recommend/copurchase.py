"""Time-decayed co-purchase statistics of one store's baskets.

Every basket adds weight `exp((ts - t0) / tau)` to each of its items, to each ordered pair of
distinct items and to the basket total, so older baskets count exponentially less (half-life
`half_life_days`) without ever touching old entries: only ratios of weights are used, and the
absolute decayed count at the latest order is `weight * scale()`. The clock is
`decay.Decayed`, shared with the built-in provider's statistics.

Line order is kept as evidence too: `addon[b]` counts the baskets in which b was *added to a
basket that already held something* (any line but the first). Products that open baskets
(the dress, the roast) and products that are added to them (the belt, the bag, the drink)
differ, and a panel suggests what to add: see `knn.prior_mass`. `lines` and `addon_lines`
are the totals of both counts.

One order costs O(basket²) dict updates. Each item keeps at most `max_partners` partners:
past that the weakest half are dropped (amortised O(1) per update), which bounds memory on
catalogues with long tails.
"""

from __future__ import annotations

import heapq
import math

from kefu.guide.recommend.decay import Decayed
from kefu.guide.recommend.decay import tau_ms as _tau_ms


class CoPurchase(Decayed):
    """Decayed item counts `item`, add-on counts `addon`, pair counts `pairs[a][b]` and the
    basket total `total`."""

    def __init__(
        self, half_life_days: float = 90.0, max_partners: int = 1000, max_basket: int = 200
    ) -> None:
        self.tau_ms = _tau_ms(half_life_days)
        self.max_partners = max_partners
        self.max_basket = max_basket
        self.t0: int | None = None
        self.t_last = 0
        self.total = 0.0
        self.orders = 0
        self.item: dict[str, float] = {}
        self.addon: dict[str, float] = {}
        self.lines = 0.0
        self.addon_lines = 0.0
        self.pairs: dict[str, dict[str, float]] = {}

    def __setstate__(self, state: dict[str, object]) -> None:
        """Snapshots taken before add-on counts existed load with none (popularity prior)."""
        self.__dict__.update(state)
        if "addon" not in state:
            self.addon = {}
            self.lines = sum(self.item.values())  # one line per basket and distinct item
            self.addon_lines = 0.0

    def scale(self) -> float:
        """Factor turning stored weights into decayed counts as of the latest order."""
        if self.t0 is None:
            return 1.0
        return math.exp(-(self.t_last - self.t0) / self.tau_ms)

    def add(self, items: list[str], ts_ms: int) -> None:
        """Count one basket (duplicates collapse; the first `max_basket` distinct items)."""
        basket = list(dict.fromkeys(items))[: self.max_basket]
        if not basket:
            return
        w = self.weight(ts_ms)
        self.t_last = max(self.t_last, ts_ms)
        self.total += w
        self.orders += 1
        item = self.item
        for a in basket:
            item[a] = item.get(a, 0.0) + w
        self.lines += len(basket) * w
        if len(basket) < 2:
            return
        addon = self.addon
        for a in basket[1:]:
            addon[a] = addon.get(a, 0.0) + w
        self.addon_lines += (len(basket) - 1) * w
        pairs = self.pairs
        for a in basket:
            row = pairs.get(a)
            if row is None:
                row = pairs[a] = {}
            for b in basket:
                if b != a:
                    row[b] = row.get(b, 0.0) + w
            if len(row) > self.max_partners:
                keep = heapq.nlargest(self.max_partners // 2, row.items(), key=lambda kv: kv[1])
                pairs[a] = dict(keep)

    def support(self, a: str, b: str) -> float:
        """Decayed number of baskets holding both `a` and `b`, as of the latest order."""
        row = self.pairs.get(a)
        return (row.get(b, 0.0) if row else 0.0) * self.scale()

    def _rescale(self, f: float) -> None:
        self.total *= f
        self.lines *= f
        self.addon_lines *= f
        self.item = {k: v * f for k, v in self.item.items()}
        self.addon = {k: v * f for k, v in self.addon.items()}
        self.pairs = {a: {b: v * f for b, v in row.items()} for a, row in self.pairs.items()}
