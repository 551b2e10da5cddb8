"""Item-to-item scores from co-purchase statistics: association rules and item-kNN in one.

`direct(a)` scores each partner b of a (and extra candidates, e.g. the best sellers) by the
smoothed confidence (C(a,b) + m·P(b)) / (N(a) + m), divided by P(b)^α. The prior m pulls
thin evidence towards popularity (P(b) = N(b)/T). For a fixed a, α = 0 ranks by confidence
P(b | a), α = 0.5 like the cosine of the items' basket vectors (item-kNN on baskets), α = 1
by lift.

`two_hop(a)` is the kNN step for sparse anchors: the baskets of a's nearest neighbours (by
the same score) vote for their own partners, weighted by how close each neighbour is.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from itertools import chain

from kefu.guide.recommend.copurchase import CoPurchase


def direct(
    cp: CoPurchase, a: str, alpha: float, prior: float, extra: Iterable[str] = ()
) -> dict[str, float]:
    """Partners of `a` (and the `extra` candidates) with their score; empty if a was never
    bought with anything."""
    row = cp.pairs.get(a)
    if not row:
        return {}
    item = cp.item
    m = prior / cp.scale()  # the prior's weight in stored units
    denom = item[a] + m
    total = cp.total
    out: dict[str, float] = {}
    for b in chain(row, extra):
        nb = item.get(b)
        if b == a or not nb or b in out:
            continue
        pb = nb / total
        out[b] = (row.get(b, 0.0) + m * pb) / denom / pb**alpha
    return out


def two_hop(
    cp: CoPurchase,
    a: str,
    first: dict[str, float],
    alpha: float,
    prior: float,
    neighbours: int,
) -> dict[str, float]:
    """Second-order scores: partners of a's top `neighbours`, each list scaled to its best."""
    if not first or neighbours <= 0:
        return {}
    top = heapq.nlargest(neighbours, first.items(), key=lambda kv: kv[1])
    best_first = top[0][1]
    out: dict[str, float] = {}
    for n, sim in top:
        second = direct(cp, n, alpha, prior)
        if not second:
            continue
        w = sim / best_first / max(second.values())
        for b, sc in second.items():
            if b != a:
                out[b] = out.get(b, 0.0) + w * sc
    return out
