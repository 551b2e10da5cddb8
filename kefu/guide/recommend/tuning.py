"""The built-in provider's prior, learned per store from its own recent baskets.

The built-in score is a smoothed confidence (C(a,b) + m·π(b)) / (N(a) + m), where π is the
store's prior (`knn.prior_mass`): the share of baskets holding b, with a share `mix` of its
mass moved to *add-on* products, those bought as a basket's second or later line. Two things
are learnt, on the store's last `RECENT` multi-item baskets, each basket's own counts taken
out (leave-one-out, no peeking), predicting each basket's last product from the one before:

- `mix`, by maximum likelihood of those last products under π alone (a concave problem in
  one variable, solved on a grid). Where line order means something — the dress before the
  belt, the roast before the sauce, the groceries before the bag — π leans towards what
  buyers add; where it does not, or the counts are too thin to say, mix stays near 0 and π
  is plain popularity.
- `m`, how much to trust co-purchases over π: the value with the best DCG@20 of the last
  product's rank. A gift shop's strong pairs get a small m; a grocery log whose pairs all
  have lift ≈ 1 gets a large one (≈ the prior alone). Ties go to the larger m.

Re-tuned on a geometric schedule (50, 100, 200 … orders, then every 20 000 orders).
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from kefu.guide.recommend.copurchase import CoPurchase

PRIORS = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0, 10000.0)
MIXES = tuple(i / 20 for i in range(20))  # 0, 0.05 … 0.95: π keeps some popularity mass
DEFAULT_PRIOR = 3.0
RECENT = 500
MIN_BASKETS = 30
FIRST_TUNE = 50
MAX_GAP = 20_000


class PriorTuner:
    """Recent baskets of one store and the prior chosen from them."""

    mix = 0.0  # tuners pickled before the add-on prior existed

    def __init__(self) -> None:
        self.recent: deque[tuple[list[str], int]] = deque(maxlen=RECENT)
        self.prior = DEFAULT_PRIOR
        self.mix = 0.0
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

    def tune(
        self, cp: CoPurchase, alpha: float, head: list[str], orders: int
    ) -> tuple[float, float]:
        """Fit the mix, then choose the prior strength m for it; returns (mix, m)."""
        self.mix = fit_mix(cp, list(self.recent))
        gains = np.zeros(len(PRIORS))
        anchors: dict[str, Anchor] = {}  # popular anchors recur: look their rows up once
        for basket, ts in self.recent:
            gains += loo_gains(cp, basket, ts, alpha, head, self.mix, anchors)
        n = max(1, len(self.recent))
        self.gains = {m: float(g) / n for m, g in zip(PRIORS, gains, strict=True)}
        best = max(range(len(PRIORS)), key=lambda i: (round(float(gains[i]), 9), i))
        self.prior = PRIORS[best]
        self.tuned_at = orders
        return self.mix, self.prior


def _removed(cp: CoPurchase, basket: list[str], ts_ms: int) -> tuple[float, set[str], set[str]]:
    """The basket's stored weight, its items and the items it counted as add-ons."""
    assert cp.t0 is not None
    return math.exp((ts_ms - cp.t0) / cp.tau_ms), set(basket), set(basket[1:])


def fit_mix(cp: CoPurchase, recent: list[tuple[list[str], int]]) -> float:
    """The mix maximising the leave-one-out likelihood of each basket's last product under
    π alone, among all products but the one before it (which a panel never suggests)."""
    if cp.addon_lines <= 0.0 or cp.lines <= 0.0:
        return 0.0
    rows = []
    for basket, ts in recent:
        w, _, added = _removed(cp, basket, ts)
        a, t = basket[-2], basket[-1]
        lines = cp.lines - len(basket) * w
        addon_lines = cp.addon_lines - (len(basket) - 1) * w
        n_t = cp.item.get(t, 0.0) - w
        if n_t <= 1e-9 * w or addon_lines <= 1e-9 * w:
            continue  # never bought before: no prior finds it
        a_t = max(0.0, cp.addon.get(t, 0.0) - w)
        n_a = cp.item.get(a, 0.0) - w
        a_a = max(0.0, cp.addon.get(a, 0.0) - (w if a in added else 0.0))
        rows.append((n_t / lines, a_t / addon_lines, n_a / lines, a_a / addon_lines))
    if not rows:
        return 0.0
    pn, pa, qn, qa = np.array(rows).T
    mix = np.array(MIXES)[:, None]
    num = (1.0 - mix) * pn + mix * pa
    den = np.maximum((1.0 - mix) * (1.0 - qn) + mix * (1.0 - qa), 1e-12)
    ll = np.log(np.maximum(num, 1e-300) / den).sum(axis=1)
    return MIXES[int(np.argmax(ll))]  # first best: ties go to the plainer prior


Anchor = tuple[dict[str, int], np.ndarray, np.ndarray, np.ndarray]  # positions, N, A, C


def _anchor(cp: CoPurchase, a: str, head: list[str], anchors: dict[str, Anchor]) -> Anchor:
    """a's candidates as the provider scores them (a's partners, then the head) with their
    counts N and A and their pair count C with a, looked up in bulk once per tuning."""
    got = anchors.get(a)
    if got is None:
        row = cp.pairs.get(a, {})
        cands = list(row) + [b for b in dict.fromkeys(head) if b not in row and b != a]
        item, addon = cp.item, cp.addon
        c = np.zeros(len(cands))
        c[: len(row)] = list(row.values())
        got = anchors[a] = (
            {b: i for i, b in enumerate(cands)},
            np.array([item.get(b, 0.0) for b in cands]),
            np.array([addon.get(b, 0.0) for b in cands]),
            c,
        )
    return got


def loo_gains(
    cp: CoPurchase,
    basket: list[str],
    ts_ms: int,
    alpha: float,
    head: list[str],
    mix: float = 0.0,
    anchors: dict[str, Anchor] | None = None,
) -> np.ndarray:
    """Per prior strength, the DCG@20 gain of the basket's last item ranked for the one before
    it, with the basket's own counts taken out (DCG@20: smoother than HR@10 on a few hundred
    baskets)."""
    a, t = basket[-2], basket[-1]
    w, inb, added = _removed(cp, basket, ts_ms)
    eps = 1e-9 * w
    total = cp.total - w
    n_a, n_t = cp.item.get(a, 0.0) - w, cp.item.get(t, 0.0) - w
    if n_t <= eps or n_a <= eps or total <= eps:
        return np.zeros(len(PRIORS))  # never bought before: nothing can find it
    addon_lines = cp.addon_lines - (len(basket) - 1) * w
    if mix > 0.0 and addon_lines > eps:
        u, v = (1.0 - mix) / total, mix * (cp.lines - len(basket) * w) / total / addon_lines
    else:
        u, v = 1.0 / total, 0.0
    pos, nb, ab, c = _anchor(cp, a, head, {} if anchors is None else anchors)
    nb, ab, c = nb.copy(), ab.copy(), c.copy()
    for x in inb - {a}:  # the basket's own lines out
        i = pos.get(x)
        if i is not None:
            nb[i] -= w
            ab[i] -= w if x in added else 0.0
            c[i] -= w
    keep = nb > eps
    i_t = pos.get(t)
    if i_t is not None:
        keep[i_t] = False  # the held-out product is ranked against the others
    p = (u * nb + v * np.where(ab > eps, ab, 0.0))[keep]
    c = np.where(c > eps, c, 0.0)[keep]
    a_t = cp.addon.get(t, 0.0) - (w if t in added else 0.0)
    c_t = cp.pairs.get(a, {}).get(t, 0.0) - w
    p_t, c_t = u * n_t + v * (a_t if a_t > eps else 0.0), (c_t if c_t > eps else 0.0)
    if not (c > 0).any() and c_t == 0.0:
        # No partner left: the provider falls back to its prior ranking, whatever m.
        ranks = np.full(len(PRIORS), (p > p_t).sum() + 1)
    else:
        m = np.array(PRIORS)[:, None] / cp.scale()
        s = (c + m * p) / p**alpha  # one row per prior strength
        s_t = (c_t + m[:, 0] * p_t) / p_t**alpha
        ranks = (s > s_t[:, None]).sum(axis=1) + 1
    return np.where(ranks <= 20, 1.0 / np.log2(1 + ranks), 0.0)
