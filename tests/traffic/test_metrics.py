"""Hand-computed §7 metrics on tests/traffic/data.py (DuckDB; Spark parity in test_parity).

The docstring of data.py lists every event; comments here show the arithmetic.
"""

from __future__ import annotations

from typing import Any

from kefu.traffic.metrics import IDS, Session, Window, document
from tests.traffic.data import D1, D2


def expect(**values: Any) -> dict[str, Any]:
    """A full row: the ids given, 0 / 0.0 / None for the others (as the document has them)."""
    base: dict[str, Any] = {i: 0 for i in IDS}
    base["card_gmv"] = 0.0
    for rate in ("card_ctr", "card_clicks_per_user", "card_aov", "card_click_to_pay_rate",
                 "card_uv_value"):  # fmt: skip
        base[rate] = None
    base.update(values)
    assert set(base) == set(IDS)
    return base


def test_store_totals_over_the_whole_range(s1: dict[str, Any]) -> None:
    assert s1["totals"] == expect(
        card_impression_users=7,  # u1 u2 u3 u4 u5 u6 u8 (u7's impression is live)
        card_click_users=6,  # u1 u2 u3 u4 u5 u8
        card_clicks=10,  # u1 ×3, u2, u3 ×2, u4, u5, u8 ×2 (live views not counted)
        card_ctr=0.857143,  # 6 / 7
        card_clicks_per_user=1.666667,  # 10 / 6
        card_returning_click_users=1,  # u3 (paid 2025-06-01); u4's payment is > 365 days old
        card_new_click_users=5,
        card_gmv=290.0,  # o1 100 + o2's p1 share 100 + o3 90 (paid with a discount)
        card_paying_users=3,  # u1 u3 u4
        card_aov=96.666667,  # 290 / 3
        card_click_to_pay_rate=0.5,  # 3 / 6
        card_uv_value=48.333333,  # 290 / 6
        card_first_purchase_users=1,  # u1
        card_repeat_users=2,  # u3 (h1), u4 (h0: any earlier paid order counts)
        card_churned_users=3,  # u2 (ordered, never paid), u5, u8
        card_order_users=4,  # o1 u1, o2 u3, o3 u4, o4 u2 (o5 came through live)
    )


def test_by_source_uses_the_last_card_view_before_the_order(s1: dict[str, Any]) -> None:
    src = s1["sources"]
    assert list(src) == ["recommend", "search", "shop"]
    # o1: u1 viewed p1 via search, then recommend (10:10), then live (10:15): recommend
    assert src["recommend"] == expect(
        card_impression_users=2, card_click_users=2, card_clicks=2, card_ctr=1.0,
        card_clicks_per_user=1.0, card_returning_click_users=1, card_new_click_users=1,
        card_gmv=200.0, card_paying_users=2, card_aov=100.0, card_click_to_pay_rate=1.0,
        card_uv_value=100.0, card_first_purchase_users=1, card_repeat_users=1,
        card_order_users=2,
    )  # fmt: skip
    assert src["search"] == expect(
        card_impression_users=5,  # u1 u2 u4 u5 u8
        card_click_users=5, card_clicks=7, card_ctr=1.0, card_clicks_per_user=1.4,
        card_new_click_users=5,  # u1's first search click (D1 10:01) came before o1
        card_gmv=90.0, card_paying_users=1, card_aov=90.0, card_click_to_pay_rate=0.2,
        card_uv_value=18.0, card_repeat_users=1,
        card_churned_users=3,  # u2 u5 u8
        card_order_users=2,  # o3 u4, o4 u2
    )  # fmt: skip
    # u3 viewed p2 via shop after o2: o2's p2 stays out of card traffic
    assert src["shop"] == expect(
        card_impression_users=1, card_click_users=1, card_clicks=1, card_ctr=1.0,
        card_clicks_per_user=1.0, card_returning_click_users=1, card_click_to_pay_rate=0.0,
        card_uv_value=0.0,
    )  # fmt: skip


def test_per_product(s1: dict[str, Any]) -> None:
    p = s1["products"]
    assert p["p1"] == expect(
        card_impression_users=4, card_click_users=4, card_clicks=6, card_ctr=1.0,
        card_clicks_per_user=1.5, card_returning_click_users=1, card_new_click_users=3,
        card_gmv=200.0, card_paying_users=2, card_aov=100.0, card_click_to_pay_rate=0.5,
        card_uv_value=50.0, card_first_purchase_users=1, card_repeat_users=1,
        card_churned_users=2, card_order_users=3,
    )  # fmt: skip
    assert p["p2"] == expect(
        card_impression_users=4,  # u1 u4 u6 u8
        card_click_users=3, card_clicks=4, card_ctr=0.75, card_clicks_per_user=1.333333,
        card_returning_click_users=1, card_new_click_users=2,
        card_gmv=90.0, card_paying_users=1, card_aov=90.0, card_click_to_pay_rate=0.333333,
        card_uv_value=30.0, card_repeat_users=1, card_churned_users=1, card_order_users=1,
    )  # fmt: skip


def test_same_product_across_sources(s1: dict[str, Any]) -> None:
    p1 = s1["product_sources"]["p1"]
    assert list(p1) == ["recommend", "search"]
    # u1 saw p1's card under search but clicked it under recommend too: a slice's CTR can
    # pass 1 (clicks are not tied to an impression of the same source)
    assert p1["recommend"]["card_ctr"] == 2.0
    assert [p1["search"][i] for i in ("card_impression_users", "card_click_users",
                                      "card_order_users", "card_paying_users",
                                      "card_churned_users")] == [3, 3, 1, 0, 2]  # fmt: skip


def test_per_day_counts_payments_on_their_day(s1: dict[str, Any]) -> None:
    days = s1["days"]
    assert list(days) == [D1, D2]
    assert days[D1] == expect(
        card_impression_users=6, card_click_users=5, card_clicks=7, card_ctr=0.833333,
        card_clicks_per_user=1.4, card_returning_click_users=1, card_new_click_users=4,
        card_gmv=200.0, card_paying_users=2, card_aov=100.0, card_click_to_pay_rate=0.4,
        card_uv_value=40.0, card_first_purchase_users=1, card_repeat_users=1,
        card_churned_users=2,  # u2 u5: u4 paid on D2, inside the range
        card_order_users=3,
    )  # fmt: skip
    assert days[D2] == expect(
        card_impression_users=1, card_click_users=2, card_clicks=3, card_ctr=2.0,
        card_clicks_per_user=1.5,
        card_returning_click_users=1,  # u1 paid o1 the day before
        card_new_click_users=1, card_gmv=90.0, card_paying_users=1, card_aov=90.0,
        card_click_to_pay_rate=0.5, card_uv_value=45.0, card_repeat_users=1,
        card_churned_users=1, card_order_users=1,
    )  # fmt: skip


def test_churn_depends_on_the_range(session: Session) -> None:
    # D2 alone: u1 clicked but paid on D1 only, so in this range u1 is churned too
    d2 = session.metrics(Window.days(D2, D2), ("total",), "s1")["stores"]["s1"]["totals"]
    assert (d2["card_click_users"], d2["card_churned_users"]) == (2, 2)
    assert d2["card_returning_click_users"] == 1


def test_hours_are_store_local(s1: dict[str, Any]) -> None:
    hours = s1["hours"][D1]
    assert list(hours) == ["10", "11", "12"]
    assert (hours["10"]["card_click_users"], hours["10"]["card_clicks"]) == (3, 5)
    assert hours["10"]["card_gmv"] == 200.0  # o1 10:21 and o2 10:31
    assert hours["12"]["card_impression_users"] == 1


def test_a_store_with_no_card_traffic_is_all_zero_and_nulls() -> None:
    doc = document([], ["empty"])["stores"]["empty"]
    assert doc["totals"] == expect()
    assert doc["sources"] == {} and doc["hours"] == {}


def test_other_stores_without_card_traffic_do_not_appear(session: Session) -> None:
    assert list(session.metrics(scopes=("total",))["stores"]) == ["s1"]
