"""Offline recommendation evaluation: the metrics, the protocol, a run on real UCI baskets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kefu.guide.evaluate import (
    Basket,
    evaluate,
    load,
    method,
    online_ranked,
    paired_interval,
    rank_metrics,
    shuffled,
    split,
)
from kefu.testing import REPO

UCI = REPO / "tests" / "data" / "uci_online_retail_head.csv"


def test_metrics_on_a_hand_checked_toy_example():
    ranked = [
        ["t1", "x", "y"],  # rank 1
        ["x", "y", "z", "t2"],  # rank 4: in the top 10, not the top 3
        ["x", "y"],  # missed
        [f"p{i}" for i in range(10)] + ["t4"],  # rank 11: missed
    ]
    m = rank_metrics(ranked, ["t1", "t2", "t3", "t4"])
    assert m["hr@3"] == 0.25
    assert m["hr@10"] == 0.5
    assert m["hits@10"] == 2
    assert m["ndcg@10"] == pytest.approx((1.0 + 1.0 / math.log2(5)) / 4)
    assert m["cases"] == 4


def test_leave_last_item_out_by_time():
    baskets = [
        Basket(30, "c", ["a", "b", "c"]),
        Basket(10, "a", ["a", "b"]),
        Basket(20, "b", ["b", "c"]),
        Basket(40, "d", ["d"]),  # a single item: no test case
    ]
    sp = split(baskets, test_frac=0.5)
    assert [b.ts_ms for b in sp.train] == [10, 20]
    assert [(c.query, c.target) for c in sp.cases] == [(["b"], "c")]
    assert sp.known == {"a", "b", "c"}
    whole = split(baskets, test_frac=0.5, query="basket")
    assert [(c.query, c.target) for c in whole.cases] == [(["a", "b"], "c")]


def test_uci_reader_drops_cancellations_and_non_products(tmp_path):
    path = tmp_path / "uci.csv"
    path.write_text(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        "1,85123A,HEART,6,12-01-2010 08:26,2.55,17850,UK\n"
        "1,POST,POSTAGE,1,12-01-2010 08:26,18,17850,UK\n"
        "1,71053,LANTERN,6,12-01-2010 08:26,3.39,17850,UK\n"
        "1,85123A,HEART,2,12-01-2010 08:26,2.55,17850,UK\n"
        "C2,71053,LANTERN,-1,12-01-2010 09:00,3.39,17850,UK\n"
        "3,22633,HAND WARMER,6,12-01-2010 08:28,1.85,,UK\n"
    )
    baskets = load("uci-retail", path)
    assert [(b.buyer, b.items) for b in baskets] == [
        ("17850", ["85123A", "71053"]),
        ("guest-3", ["22633"]),
    ]


def test_builtin_beats_popularity_on_a_slice_of_uci(tmp_path):
    path = tmp_path / "slice.csv"
    path.write_text("".join(UCI.read_text(encoding="latin-1").splitlines(True)[:4001]))
    doc = evaluate("uci-retail", path, only=("builtin", "popularity"))
    built, pop = doc["methods"]["builtin"], doc["methods"]["popularity"]
    assert doc["test_cases"] == built["cases"] == pop["cases"] > 20
    assert built["hr@10"] > pop["hr@10"]
    assert built["hr@3"] <= built["hr@10"]
    assert 0 < built["ndcg@10"] <= built["hr@10"]


def test_paired_interval_resamples_buyers_together():
    same = np.array([1.0, 1.0, 0.0, 0.0])
    assert paired_interval(same * 0.0, ["a", "a", "b", "c"]) == (0.0, 0.0)
    lo, hi = paired_interval(np.array([1.0, 1.0, 1.0]), ["a", "b", "b"])
    assert lo == hi == 1.0
    diff = np.array([1.0, 0.0, 0.0, 1.0, -1.0, 0.0])
    buyers = ["a", "a", "b", "c", "c", "d"]
    lo, hi = paired_interval(diff, buyers)
    assert (lo, hi) == paired_interval(diff, buyers)  # seeded
    assert lo < diff.mean() < hi and lo >= -1.0 and hi <= 1.0


def test_shuffled_lines_keep_each_basket():
    baskets = [Basket(10, "a", ["a", "b", "c", "d"]), Basket(20, "b", ["x"])]
    out = shuffled(baskets)
    assert [(b.ts_ms, b.buyer, sorted(b.items)) for b in out] == [
        (10, "a", ["a", "b", "c", "d"]),
        (20, "b", ["x"]),
    ]
    assert [b.items for b in shuffled(baskets)] == [b.items for b in out]  # seeded


ONLINE = [
    Basket(10, "u1", ["a", "b"]),
    Basket(10, "u2", ["a", "b"]),
    Basket(20, "u3", ["a", "c"]),  # test period from here: c was never seen
    Basket(30, "u4", ["a", "c"]),  # … but a live store has learnt it by now
]


def test_online_protocol_learns_each_test_day_before_the_next():
    sp = split(ONLINE, test_frac=0.5)
    assert [(c.query, c.target, c.ts_ms) for c in sp.cases] == [(["a"], "c", 20), (["a"], "c", 30)]
    for name in ("builtin", "popularity", "implicit-cosine"):
        assert method(name, sp)(sp.cases, 10) == [["b"], ["b"]]
        assert online_ranked(name, sp) == [["b"], ["b", "c"]]


def test_item_knn_lists_are_filled_with_popularity():
    baskets = [Basket(10, "u1", ["a", "b"]), Basket(10, "u2", ["a", "b"])]
    baskets += [Basket(11, f"v{i}", ["c"]) for i in range(3)] + [Basket(20, "u3", ["a", "d"])]
    sp = split(baskets, test_frac=0.1)
    assert [c.query for c in sp.cases] == [["a"]]
    assert method("implicit-cosine", sp)(sp.cases, 10) == [["b", "c"]]  # c: the fill


def test_evaluate_reports_the_built_in_gain_with_its_interval(tmp_path):
    path = tmp_path / "slice.csv"
    path.write_text("".join(UCI.read_text(encoding="latin-1").splitlines(True)[:3001]))
    doc = evaluate("uci-retail", path, only=("builtin", "popularity"), online=True)
    assert doc["protocol"] == "online" and list(doc["builtin_vs"]) == ["popularity"]
    vs = doc["builtin_vs"]["popularity"]
    hr = doc["methods"]["builtin"]["hr@10"] - doc["methods"]["popularity"]["hr@10"]
    assert vs["hr@10_diff"] == pytest.approx(hr)
    assert vs["ci95"][0] <= vs["hr@10_diff"] <= vs["ci95"][1]
    with pytest.raises(ValueError):
        evaluate("uci-retail", path, order="sorted")
