"""The strongest points of a product's reviews, for the generated urge copy (offline, exact).

Positive reviews (score ≥ 4) are cut into clauses at Chinese and Latin punctuation; short
clauses (2–12 characters) that several buyers wrote are a product's points ("质量很好",
"物流很快"). Counts stay bounded per product, and ties break by the clause itself, so the same
reviews always give the same points.
"""

from __future__ import annotations

import re

from kefu.engine import events as ev
from kefu.engine.actions import Action
from kefu.engine.core import Capability, Ctx
from kefu.engine.state import StoreState

_CLAUSE = re.compile(r"[，。！？；、,.!?;~～\s]+")
MIN_LEN, MAX_LEN = 2, 12
KEEP = 200  # clauses remembered per product


def clauses(text: str) -> list[str]:
    """Short clauses of a review, in order, without duplicates."""
    out: list[str] = []
    for c in _CLAUSE.split(text.strip().lstrip("\ufeff")):
        if MIN_LEN <= len(c) <= MAX_LEN and c not in out:
            out.append(c)
    return out


def points(st: StoreState, product: str, n: int = 2) -> list[str]:
    """The `n` clauses most buyers wrote in positive reviews of `product` (≥ 2 reviews each)."""
    counts: dict[str, int] = st.ext.get("review_points", {}).get(product, {})
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [c for c, k in ranked if k >= 2][:n]


def on_review(st: StoreState, e: ev.Review, ctx: Ctx) -> list[Action] | None:
    """Count the clauses of a positive review."""
    if e.score < 4:
        return None
    table: dict[str, dict[str, int]] = st.ext.setdefault("review_points", {})
    counts = table.setdefault(e.product, {})
    for c in clauses(e.text):
        counts[c] = counts.get(c, 0) + 1
    if len(counts) > KEEP:  # keep the most frequent, deterministically
        kept = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: KEEP // 2]
        table[e.product] = dict(kept)
    return None


CAPABILITY = Capability(name="reviews", events={"review": on_review})
