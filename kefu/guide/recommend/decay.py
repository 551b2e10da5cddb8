"""Time-decayed counts and the best sellers they rank, shared by the recommendation providers.

A count at time t is a sum of event weights `exp((ts - t0) / tau)`: older events count
exponentially less (half-life `half_life_days`) without any stored entry being touched, since
only ratios of weights are read. When the exponent grows large (once per ~40 time constants)
the owner rescales every stored weight once and t0 moves to now (`Decayed._rescale`).

`best_sellers(counts, n)` and `ranked(counts)` order products by count, ties by id, so every
process (live, replay, after a restart) ranks them the same way.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Mapping

REBASE = 40.0  # the exponent at which stored weights are rescaled


def tau_ms(half_life_days: float) -> float:
    """The time constant (ms) of a half-life in days."""
    return half_life_days * 86_400_000 / math.log(2)


class Decayed:
    """A decay clock for a class holding `tau_ms` and `t0` and rescaling its own weights."""

    tau_ms: float
    t0: int | None

    def weight(self, ts_ms: int) -> float:
        """The stored weight of an event at `ts_ms` (rescaling everything first when the
        exponent grows past REBASE)."""
        if self.t0 is None:
            self.t0 = ts_ms
        x = (ts_ms - self.t0) / self.tau_ms
        if x > REBASE:
            self._rescale(math.exp(-x))
            self.t0 = ts_ms
            x = 0.0
        return math.exp(x)

    def _rescale(self, f: float) -> None:
        """Multiply every stored weight by `f` (t0 moves to the event that caused it)."""
        raise NotImplementedError


def _kv(kv: tuple[str, float]) -> tuple[float, str]:
    return (kv[1], kv[0])


def best_sellers(counts: Mapping[str, float], n: int) -> list[str]:
    """The `n` products with the largest counts, best first (ties: the larger id first)."""
    return [k for k, _ in heapq.nlargest(n, counts.items(), key=_kv)]


def ranked(counts: Mapping[str, float]) -> list[str]:
    """Every counted product, best seller first (ties as in `best_sellers`)."""
    return [k for k, _ in sorted(counts.items(), key=_kv, reverse=True)]


def take(candidates: Iterable[str], k: int, ok: Callable[[str], bool]) -> list[str]:
    """The first `k` candidates that pass `ok`."""
    out: list[str] = []
    for b in candidates:
        if ok(b):
            out.append(b)
            if len(out) >= k:
                break
    return out
