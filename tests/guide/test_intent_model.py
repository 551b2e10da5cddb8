"""The purchase-intent model: features from events, metrics, training, and the fallback."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from kefu.engine import events as ev
from kefu.engine.state import StoreState
from kefu.guide import intent
from kefu.guide.intent_model import (
    CAPABILITY,
    FEATURES,
    IntentModel,
    buy_words,
    features,
    histories,
    rule_ctx,
    score,
)
from kefu.guide.intent_train import (
    at_threshold,
    auc,
    calibration,
    evaluate,
    fit,
    sim_samples,
    train,
)
from kefu.runtime.registry import default_engine
from kefu.testing import shared_data

T0 = 1_764_000_000_000
MIN = 60_000


def feed(st: StoreState, events: list) -> None:
    """Apply events the way the engine would: the model's tracker and the rules' signals."""
    for e in events:
        for cap in (CAPABILITY, intent.CAPABILITY):
            handler = cap.events.get(e.__struct_config__.tag)
            if handler is not None:
                handler(st, e, rule_ctx(e.at))


def buyer_events(buyer: str = "b1") -> list:
    common = {"store": "s1", "buyer": buyer}
    return [
        ev.Order(ts=T0 - 3 * 86_400_000, order="o1", amount=10.0, **common),
        ev.Search(ts=T0, keyword="连衣裙", **common),
        ev.View(ts=T0 + MIN, product="p1", dwell_s=30.0, **common),
        ev.View(ts=T0 + 2 * MIN, product="p1", dwell_s=90.0, **common),
        ev.View(ts=T0 + 3 * MIN, product="p2", **common),
        ev.CartAdd(ts=T0 + 4 * MIN, product="p1", **common),
        ev.Favorite(ts=T0 + 5 * MIN, product="p2", **common),
        ev.Message(
            ts=T0 + 6 * MIN, sender="buyer", text="有货吗？我想下单", product="p1", **common
        ),
        ev.Message(ts=T0 + 7 * MIN, sender="agent", agent="a1", text="有的亲", **common),
    ]


def test_features_from_behaviour_chat_and_history():
    st = StoreState(store="s1")
    feed(st, buyer_events())
    f = dict(zip(FEATURES, features(histories(st)["b1"], T0 + 10 * MIN), strict=True))
    assert f["views_24h"] == 3
    assert f["products_viewed_24h"] == 2
    assert f["repeat_views_24h"] == 1
    assert f["max_views_one_product_24h"] == 2
    assert (f["dwell_s_24h"], f["dwell_max_s_24h"]) == (120.0, 90.0)
    assert (f["carts_24h"], f["favorites_24h"], f["searches_24h"]) == (1, 1, 1)
    assert (f["cards_24h"], f["buyer_messages_24h"]) == (1, 1)  # the agent's reply is not counted
    assert (f["question_kinds_24h"], f["q_stock"], f["q_size"]) == (1, 1.0, 0.0)
    assert f["buy_words_24h"] == 2  # 有货, 下单
    assert (f["orders_total"], f["active_days"]) == (1, 2)
    assert f["hours_since_last_order"] == 72 + 10 / 60
    assert (f["minutes_since_last_event"], f["minutes_since_last_cart"]) == (4.0, 6.0)


def test_features_forget_detail_after_24h_but_keep_totals():
    st = StoreState(store="s1")
    feed(st, buyer_events())
    f = dict(zip(FEATURES, features(histories(st)["b1"], T0 + 25 * 3_600_000), strict=True))
    assert (f["views_24h"], f["carts_24h"], f["cards_24h"], f["question_kinds_24h"]) == (0, 0, 0, 0)
    assert (f["views_total"], f["carts_total"], f["favorites_total"]) == (3, 1, 1)


def test_buy_words_count_purchase_words_not_negated_ones():
    assert buy_words("亲，多少钱？包邮吗") == 2
    assert buy_words("不买了") == 0
    assert buy_words("随便看看") == 0


def test_auc_hand_checked():
    assert auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    assert auc([0, 1], [0.5, 0.5]) == 0.5
    assert auc([1, 1], [0.2, 0.9]) == 0.5  # one class only


def test_precision_at_threshold_and_calibration_hand_checked():
    y, p = [0, 1, 1, 0], [0.05, 0.95, 0.55, 0.55]
    assert at_threshold(y, p, 0.5) == {
        "threshold": 0.5, "flagged": 3, "precision": 0.6667, "recall": 1.0
    }  # fmt: skip
    c = calibration(y, p)
    assert (c["ece"], c["brier"]) == (0.05, 0.1275)
    assert [(b["bin"], b["n"], b["buy_rate"]) for b in c["bins"]] == [
        ("0.0-0.1", 1, 0.0), ("0.5-0.6", 2, 0.5), ("0.9-1.0", 1, 1.0)
    ]  # fmt: skip


def test_model_trained_on_a_tiny_slice_beats_a_constant(tmp_path):
    pytest.importorskip("lightgbm")
    train_s = sim_samples(buyers=400, days=7, seed=1)
    test_s = sim_samples(buyers=400, days=7, seed=2)
    assert sum(train_s.y) > 10 and len(train_s) > sum(train_s.y)
    model = IntentModel(fit(train_s, rounds=40))
    assert auc(test_s.y, model.predict(test_s.x)) > 0.6
    path = tmp_path / "intent.txt"
    model.booster.save_model(str(path))
    loaded = IntentModel.load(path)
    assert loaded is not None
    assert np.allclose(loaded.predict(test_s.x[:20]), model.predict(test_s.x[:20]))


def test_model_scores_tracked_buyers_and_falls_back_for_others(tmp_path):
    pytest.importorskip("lightgbm")
    model = IntentModel(fit(sim_samples(buyers=100, days=3, seed=3), rounds=20))
    st = StoreState(store="s1")
    feed(st, buyer_events())
    s = score(st, "b1", T0 + 10 * MIN, model)
    assert 0.0 <= s <= 1.0
    assert s == round(float(model.predict([features(histories(st)["b1"], T0 + 10 * MIN)])[0]), 4)
    assert score(st, "stranger", T0, model) == intent.score(st, "stranger", T0) == 0.0


def test_without_a_model_the_score_is_the_rule_based_one():
    st = StoreState(store="s1")
    feed(st, buyer_events())
    now = T0 + 10 * MIN
    assert score(st, "b1", now) == intent.score(st, "b1", now) == 0.9


def test_unusable_model_files_fall_back(tmp_path, monkeypatch):
    assert IntentModel.load(tmp_path / "missing.txt") is None
    lgb = pytest.importorskip("lightgbm")
    other = tmp_path / "other.txt"
    data = lgb.Dataset(np.array([[0.0], [1.0]] * 20), label=[0, 1] * 20, feature_name=["x"])
    lgb.train({"objective": "binary", "verbose": -1, "min_data_in_leaf": 1}, data, 2).save_model(
        str(other)
    )
    assert IntentModel.load(other) is None  # other features
    monkeypatch.setitem(sys.modules, "lightgbm", None)  # as if not installed
    assert IntentModel.load(other) is None


def test_train_and_evaluate_on_held_out_real_users(tmp_path):
    pytest.importorskip("lightgbm")
    path = shared_data("behaviour/taobao_userbehavior_sample.csv")
    out = tmp_path / "intent.txt"
    doc = train(out, taobao=path, sim_buyers=100, sim_days=3, rounds=30)
    assert doc["samples_real"] > 0 and doc["positives_real"] > 0 and out.exists()
    result = evaluate(out, taobao=path)
    assert result["scorer"] == "lightgbm"
    assert result["users"] >= 5 and result["positives"] > 0
    assert 0.0 <= result["auc"] <= 1.0 and result["auc_constant"] == 0.5
    fallback = evaluate(None, taobao=path)
    assert fallback["scorer"] == "rule-based (no model)"
    assert fallback["auc"] == fallback["auc_rule_based"] == result["auc_rule_based"]


def test_a_store_setting_puts_the_model_in_the_panel_and_urge_rules(tmp_path):
    pytest.importorskip("lightgbm")
    from kefu.engine.settings import parse_config
    from tests.engine.helpers import msg
    from tests.guide.test_panel_rule import CATALOGUE, HISTORY, served

    path = tmp_path / "intent.txt"
    IntentModel(fit(sim_samples(buyers=100, days=3, seed=3), rounds=20)).booster.save_model(
        str(path)
    )
    events = [*CATALOGUE, *HISTORY, *served(), msg("b1", 3, text="这个有货吗", product="cup")]

    def panel_intent(**guide) -> float:
        engine = default_engine(
            parse_config({"bot": {"enabled": False}, "guide": {"min_intent": 0, **guide}})
        )
        out = [a for e in sorted(events, key=lambda e: e.ts) for a in engine.feed(e)]
        (panel,) = [a for a in out if a.__struct_config__.tag == "guide.panel"]
        self = engine.states["s1"]
        assert ("intent_history" in self.ext) == bool(guide)  # tracked only with a model
        return panel.intent

    rules = panel_intent()
    with_model = panel_intent(intent_model=str(path))
    model = IntentModel.load(path)
    assert model is not None and with_model != rules
    # A missing file falls back to the rules (logged), it does not stop the engine.
    assert panel_intent(intent_model=str(tmp_path / "missing.txt")) == rules


def test_average_precision_and_platt_by_hand():
    from kefu.guide.intent_train import average_precision, calibrated, platt

    # ranks: 1 (pos), 2 (neg), 3 (pos): AP = (1/1 + 2/3) / 2
    assert abs(average_precision([1, 0, 1], [0.9, 0.8, 0.1]) - (1 + 2 / 3) / 2) < 1e-12
    assert average_precision([0, 0], [0.3, 0.2]) == 0.0
    # Scores that say 0.5 where a quarter buy: Platt moves them to about 0.25.
    rng = np.random.default_rng(0)
    y = (rng.random(4000) < 0.25).astype(float)
    s = np.full(4000, 0.5) + rng.normal(0, 0.01, 4000)
    got = calibrated(s, platt(s, y))
    assert abs(float(got.mean()) - y.mean()) < 0.01


def test_intent_time_split_scores_every_method_on_the_later_window():
    pytest.importorskip("lightgbm")
    from kefu.guide.intent_train import evaluate_timesplit

    src = shared_data("behaviour/taobao_userbehavior_sample.csv")
    doc = evaluate_timesplit(src, horizon_h=24, train_days=6, rounds=10)
    assert doc["split"].startswith("2017-12-01T00:00:00")
    assert doc["train"]["samples"] > 0 and doc["test"]["samples"] > 0
    assert set(doc["methods"]) == {"constant", "rule-based", "lightgbm", "lightgbm-calibrated"}
    assert doc["methods"]["constant"]["auc"] == 0.5
    for m in doc["methods"].values():
        assert 0.0 <= m["pr_auc"] <= 1.0 and 0.0 <= m["brier"] <= 1.0
    assert [r["users"] for r in doc["learning_curve"]["by_users"]] == [10, 21, 32, 43]
    # The sample has 43 users, 41 of them active after 1 December.
    assert (doc["users"], doc["test"]["users"]) == (43, 41)
    rule = doc["min_intent_rule_based"]
    assert rule["train"]["threshold"] in [r["threshold"] for r in rule["train"]["table"]]
