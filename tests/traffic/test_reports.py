"""Period comparison, today by hour, the product funnel, audience and churn destinations,
hand-computed on tests/traffic/data.py."""

from __future__ import annotations

import json
from typing import Any

from kefu.engine.events import parse_ts
from kefu.traffic import reports
from kefu.traffic.facts import LocalTime
from kefu.traffic.metrics import Session
from tests.traffic.data import D1, D2, at


def test_period_against_the_previous_period(session: Session) -> None:
    out = reports.period(session, "s1", D2, D2, ("total", "source"))
    assert (out["previous_from"], out["previous_to"]) == (D1, D1)
    t = out["totals"]
    assert (t["current"]["card_click_users"], t["previous"]["card_click_users"]) == (2, 5)
    assert t["change"]["card_click_users"] == -0.6  # (2 - 5) / 5
    assert t["change"]["card_gmv"] == -0.55  # (90 - 200) / 200
    assert t["change"]["card_ctr"] == 1.4  # 2.0 against 5/6
    # a source only in the previous period: current all zero, change -1 or undefined
    shop = out["sources"]["shop"]
    assert shop["current"]["card_click_users"] == 0
    assert shop["change"]["card_click_users"] == -1.0
    assert shop["change"]["card_gmv"] is None  # previous 0: no relative change


def test_today_by_hour_against_yesterday(session: Session) -> None:
    now = parse_ts(at(D2, 8, 2))  # before u8's second click (08:03)
    out = reports.realtime(session, "s1", now, LocalTime())
    assert (out["day"], out["yesterday"], out["until"]) == (D2, D1, "08:02")
    hours = {h["hour"]: h for h in out["hours"]}
    assert len(hours) == 24 and hours["09"]["today"] is None  # the future has no value
    assert hours["08"]["today"]["card_clicks"] == 2  # u1 08:00, u8 08:01
    assert hours["08"]["today"]["card_churned_users"] == 2  # nobody paid today yet
    assert hours["10"]["yesterday"]["card_clicks"] == 5
    assert hours["10"]["yesterday"]["card_gmv"] == 200.0
    assert hours["11"]["yesterday"]["card_churned_users"] == 2  # u4 paid only on D2
    totals = out["totals"]
    assert totals["today"]["card_click_users"] == 2
    assert totals["today"]["card_returning_click_users"] == 1  # u1
    assert totals["yesterday_same_time"]["card_click_users"] == 0  # D1 until 08:02
    assert totals["change"]["card_click_users"] is None


def test_product_funnel_overall_and_per_source(session: Session) -> None:
    out = reports.funnel(session, "s1", "p1")
    assert out["funnel"] == [
        {"step": "impression", "users": 4, "rate": None},
        {"step": "click", "users": 4, "rate": 1.0},
        {"step": "order", "users": 3, "rate": 0.75},
        {"step": "payment", "users": 2, "rate": 0.666667},
    ]
    users = {s: [x["users"] for x in v["funnel"]] for s, v in out["sources"].items()}
    assert users == {"recommend": [1, 2, 2, 2], "search": [3, 3, 1, 0]}
    unknown = reports.funnel(session, "s1", "nope")
    assert [x["users"] for x in unknown["funnel"]] == [0, 0, 0, 0]
    assert unknown["funnel"][1]["rate"] is None


def test_audience_by_bought_and_source(session: Session) -> None:
    out = reports.audience(session, "s1")
    everyone = out["all"]
    assert everyone["buyers"] == 6
    assert everyone["bought"] == {  # u1 u3 u4
        "province": {"unknown": 1, "广东": 1, "浙江": 1},
        "gender": {"f": 2, "unknown": 1},
        "age_band": {"25-29": 1, "30-34": 1, "unknown": 1},
        "customer": {"new": 2, "returning": 1},
    }
    assert everyone["not_bought"] == {  # u2 (浙江: the later profile wins), u5, u8
        "province": {"unknown": 1, "上海": 1, "浙江": 1},
        "gender": {"m": 1, "unknown": 2},
        "age_band": {"18-24": 1, "unknown": 2},  # u5's two profile events merge
        "customer": {"new": 3},
    }
    search = out["sources"]["search"]
    assert search["buyers"] == 5
    assert search["bought"]["province"] == {"unknown": 1}  # u4
    assert search["not_bought"]["province"] == {"unknown": 1, "上海": 1, "浙江": 2}


def test_churned_users_went_to_other_stores_by_category_only(session: Session) -> None:
    # churned: u2 u5 u8. Elsewhere: u5 → s2 dress 80, s3 dress 90, s4 bags 30; u2 → s2 dress 80
    out = reports.churn(session, "s1", min_stores=2, min_buyers=2)
    assert out["card_churned_users"] == 3 and out["card_click_users"] == 6
    assert out["bought_elsewhere_users"] == 2
    assert out["categories"] == [
        {"category": "dress", "clicked_here": True, "buyers": 2, "orders": 3, "gmv": 250.0,
         "avg_item_amount": 83.333333},
    ]  # fmt: skip
    # bags (one buyer, one store) is too small, even as "(other)"; u5 is counted under dress
    assert out["suppressed_buyers"] == 0
    text = json.dumps(out, ensure_ascii=False)
    for name in ("s2", "s3", "s4", "q1", "r1", "t1", "u2", "u5", "u6", "u1"):
        assert name not in text


def test_churn_thresholds_hide_small_groups(session: Session) -> None:
    default = reports.churn(session, "s1")  # 2 stores and 3 buyers per row
    assert default["categories"] == [] and default["bought_elsewhere_users"] == 2
    assert default["suppressed_buyers"] == 2
    everything = reports.churn(session, "s1", min_stores=1, min_buyers=1)
    assert [(c["category"], c["buyers"], c["gmv"], c["clicked_here"])
            for c in everything["categories"]] == [("dress", 2, 250.0, True),
                                                    ("bags", 1, 30.0, False)]  # fmt: skip
    alone = reports.churn(session, "s1", min_stores=4)  # only 3 other stores involved
    assert alone["bought_elsewhere_users"] is None and alone["suppressed_buyers"] is None


def test_churn_of_one_source(session: Session) -> None:
    out: dict[str, Any] = reports.churn(session, "s1", source="recommend", min_stores=1,
                                        min_buyers=1)  # fmt: skip
    assert out["card_churned_users"] == 0 and out["categories"] == []
    search = reports.churn(session, "s1", source="search", min_stores=1, min_buyers=1)
    assert search["card_churned_users"] == 3 and search["bought_elsewhere_users"] == 2


def test_a_previous_period_before_the_store_s_log_is_flagged(session: Session) -> None:
    """+2900 % against days the store had no log for is no change: say it is incomplete."""
    first = "2024-12-01"  # the store's oldest event in data.py: a payment long before D1
    full = reports.period(session, "s1", D2, D2, ("total",))
    assert (full["data_from"], full["previous_complete"]) == (first, True)
    partial = reports.period(session, "s1", "2024-12-01", "2024-12-10", ("total",))
    assert partial["previous_to"] < first and partial["previous_complete"] is False
    nothing = reports.period(session, "nobody", D1, D2, ("total",))
    assert (nothing["data_from"], nothing["previous_complete"]) == (None, False)
