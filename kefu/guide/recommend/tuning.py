"""How much to trust co-purchases over popularity, learned per store from its own baskets.

The built-in score is a smoothed confidence (C(a,b) + m·P(b)) / (N(a) + m): a large prior `m`
falls back to popularity, a small one follows the baskets. Stores differ: a gift shop's
baskets hold strong pairs, while in a grocery log every pair's lift is close to 1 and
popularity is the best guess. So each store keeps its last `RECENT` multi-item baskets and,
on a geometric schedule (50, 100, 200 … orders, then every 20 000), picks the prior that best
ranks each basket's last product from the one before it, with that basket's own counts
removed (leave-one-out: no peeking). Ties go to the larger prior, the safer guess.
"""

from __future__ import annotations

import math
from collections import deque
from itertools import chain

import numpy as np

from kefu.guide.recommend.copurchase import CoPurchase

PRIORS = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
DEFAULT_PRIOR = 3.0
RECENT = 500
MIN_BASKETS = 30
FIRST_TUNE = 50
MAX_GAP = 20_000


class PriorTuner:
    """Recent baskets of one store and the prior chosen from them."""

    def __init__(self) -> None:
        self.recent: deque[tuple[list[str], int]] = deque(maxlen=RECENT)
        self.prior = DEFAULT_PRIOR
        self.tuned_at = 0
        self.gains: dict[float, float] = {}

    def observe(self, basket: list[str], ts_ms: int) -> None:
        """Remember a counted basket (distinct items, as `CoPurchase.add` counted them)."""
        if len(basket) >= 2:
            self.recent.append((basket, ts_ms))

    def due(self, orders: int) -> bool:
        """Time to re-tune: enough baskets, and the order count doubled (or grew by 20 000)."""
        if len(self.recent) < MIN_BASKETS or orders < FIRST_TUNE:
            return False
        gap = orders - self.tuned_at
        return self.tuned_at == 0 or orders >= 2 * self.tuned_at or gap >= MAX_GAP

    def tune(self, cp: CoPurchase, alpha: float, head: list[str], orders: int) -> float:
        """Choose the prior with the best leave-one-out DCG@20 on the recent baskets."""
        gains = np.zeros(len(PRIORS))
        for basket, ts in self.recent:
            gains += loo_gains(cp, basket, ts, alpha, head)
        n = max(1, len(self.recent))
        self.gains = {m: float(g) / n for m, g in zip(PRIORS, gains, strict=True)}
        best = max(range(len(PRIORS)), key=lambda i: (round(float(gains[i]), 9), i))
        self.prior = PRIORS[best]
        self.tuned_at = orders
        return self.prior


def loo_gains(
    cp: CoPurchase, basket: list[str], ts_ms: int, alpha: float, head: list[str]
) -> np.ndarray:
    """Per prior, the DCG@20 gain of the basket's last item ranked for the one before it."""
    a, t = basket[-2], basket[-1]
    assert cp.t0 is not None
    w = math.exp((ts_ms - cp.t0) / cp.tau_ms)
    inb = set(basket)
    row = cp.pairs.get(a, {})
    eps = 1e-9 * w

    def n_of(b: str) -> float:
        return cp.item.get(b, 0.0) - (w if b in inb else 0.0)

    def c_of(b: str) -> float:
        c = row.get(b, 0.0) - (w if b in inb else 0.0)
        return c if c > eps else 0.0

    total = cp.total - w
    n_a, n_t = n_of(a), n_of(t)
    if n_t <= eps or n_a <= eps or total <= eps:
        return np.zeros(len(PRIORS))  # never bought before: nothing can find it
    cands = [b for b in dict.fromkeys(chain(row, head)) if b != a and b != t]
    p = np.array([n_of(b) for b in cands]) / total
    c = np.array([c_of(b) for b in cands])
    keep = p > eps / total
    p, c = p[keep], c[keep]
    p_t, c_t = n_t / total, c_of(t)
    if not (c > 0).any() and c_t == 0.0:
        # No partner left: the provider falls back to popularity, whatever the prior.
        return np.full(len(PRIORS), _gain(int((p > p_t).sum()) + 1))
    out = np.zeros(len(PRIORS))
    scale = cp.scale()
    pa = p**alpha
    for i, prior in enumerate(PRIORS):
        m = prior / scale
        s = (c + m * p) / pa
        s_t = (c_t + m * p_t) / p_t**alpha
        out[i] = _gain(int((s > s_t).sum()) + 1)
    return out


def _gain(rank: int) -> float:
    """DCG@20 of one relevant item: smoother than HR@10 on a few hundred baskets."""
    return 1.0 / math.log2(1 + rank) if rank <= 20 else 0.0
