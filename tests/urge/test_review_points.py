"""Review points on real Chinese shopping reviews (../shared/data/reviews)."""

from __future__ import annotations

import csv

from kefu.engine.state import StoreState
from kefu.testing import shared_data
from kefu.urge.reviews import clauses, on_review, points
from tests.engine.helpers import ev


def test_points_of_real_clothing_reviews_are_frequent_short_praise() -> None:
    path = shared_data("reviews/online_shopping_10_cats.csv")
    st = StoreState(store="s1")
    texts: list[str] = []
    with path.open(encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            if row["cat"] == "衣服" and row["label"] == "1":
                texts.append(row["review"])
                if len(texts) == 400:
                    break
    for i, text in enumerate(texts):
        on_review(st, ev("review", i / 60, product="shirt", text=text, score=5), None)  # type: ignore[arg-type]
    top = points(st, "shirt", n=3)
    assert len(top) == 3
    for p in top:
        assert 2 <= len(p) <= 12
        assert sum(p in clauses(t) for t in texts) >= 5  # praised by several buyers
