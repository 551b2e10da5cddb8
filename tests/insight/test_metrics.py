"""Hand-computed metrics (metrics.md §1-§3, §6) on DuckDB and on Spark.

Every test runs once per backend (`doc` fixture). Numbers are worked out from
tests/insight/data.py; the comments show the arithmetic.
"""

from __future__ import annotations

from typing import Any

import pytest

from kefu.insight.metrics import SCOPE_IDS, TOTAL_IDS, TRANSFER_IDS, compute
from tests.insight import data

D1, D2, D3 = data.DAYS[1], data.DAYS[2], data.DAYS[3]


def subset(values: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    """The entries of `values` named in `expected` (for one readable assert)."""
    return {k: values.get(k, "<missing>") for k in expected}


# -- §2 agent performance: rounds and response times -------------------------------------------
def test_response_times_are_credited_to_the_agent_who_answered(doc: Any) -> None:
    # a1 rounds: c1 30, 120; c2 60, 540; c3 60, 240; c5 60; c6 300 -> 1410 / 8
    # a2 rounds: c1 240 (after the transfer); c4 60; c7 60 (+1 unanswered); c8 60 -> 420 / 4
    agents = doc["resp"]["agents"]
    assert agents["a1"]["avg_response_s"] == 176.25
    assert agents["a2"]["avg_response_s"] == 105.0
    assert doc["resp"]["totals"]["avg_response_s"] == 152.5  # 1830 / 12


def test_first_response_counts_the_first_round_for_whoever_answered_it(doc: Any) -> None:
    # c1's first round is a1's (30 s): a2 took over later and gets no first response there
    agents = doc["resp"]["agents"]
    assert agents["a1"]["first_response_s"] == 102.0  # (30 + 60 + 60 + 60 + 300) / 5
    assert agents["a2"]["first_response_s"] == 60.0  # c4, c7, c8
    assert doc["resp"]["totals"]["first_response_s"] == 86.25  # 690 / 8 conversations


def test_bot_time_never_counts_in_first_response(doc: Any) -> None:
    # bot store: v1 asked 10:00, the bot answered, click 10:02 assigns a1, a1 answers 10:03
    # v2 asked 10:05, queued 10:06, assigned 10:10 when v1 closed, answered 10:11 (v5, v6 alike)
    assert doc["bot"]["agents"]["a1"]["first_response_s"] == 60.0
    assert doc["bot"]["totals"]["avg_response_s"] == 60.0


def test_real_log_hand_off_starts_after_the_bots_last_message(doc: Any) -> None:
    # log store: buyer 16:00, bot, buyer 16:01, bot 16:01:05, buyer 16:03, agent 16:04:
    # no assign in the log, so the round starts at 16:03 (first message after the bot)
    assert doc["log"]["agents"]["a1"]["first_response_s"] == 60.0
    assert doc["log"]["totals"]["reply_3min_rate"] == 1.0


def test_reply_rate_counts_conversations_with_an_answered_round(doc: Any) -> None:
    # c7 (reopened by t-2) ends with an unanswered round but had an answered one
    resp = doc["resp"]
    assert resp["agents"]["a1"]["reply_rate"] == 1.0
    assert resp["agents"]["a2"]["reply_rate"] == 1.0
    assert resp["totals"]["reply_rate"] == 1.0
    # bot store: v3 and v4 never reached a person: no rounds, not in the denominator
    assert doc["bot"]["totals"]["reply_rate"] == 1.0


def test_message_counts_and_qa_ratio(doc: Any) -> None:
    # buyer messages go to the agent holding the conversation then (c1 10:06 -> a2)
    resp = doc["resp"]
    expected = {"buyer_messages": 14, "agent_messages": 12, "qa_ratio": 0.857143}
    assert subset(resp["totals"], expected) == expected
    a1 = {"buyer_messages": 9, "agent_messages": 8, "qa_ratio": 0.888889}
    assert subset(resp["agents"]["a1"], a1) == a1
    a2 = {"buyer_messages": 5, "agent_messages": 4, "qa_ratio": 0.8}
    assert subset(resp["agents"]["a2"], a2) == a2


def test_consulted_and_received_buyers(doc: Any) -> None:
    resp = doc["resp"]
    assert subset(resp["agents"]["a1"], {"consulted_buyers": 0, "received_buyers": 0}) == {
        "consulted_buyers": 4,  # u1 u2 u3 u5
        "received_buyers": 4,
    }
    assert resp["agents"]["a2"]["consulted_buyers"] == 3  # u1 (after transfer) u4 u6
    assert resp["totals"]["consulted_buyers"] == 6
    # bot store: v3, v4 only talked to the bot
    assert doc["bot"]["totals"]["consulted_buyers"] == 4  # v1 v2 v5 v6
    assert doc["bot"]["totals"]["buyer_messages"] == 6


def test_satisfaction_rate_uses_the_rated_or_last_agent(doc: Any) -> None:
    resp = doc["resp"]
    assert resp["agents"]["a2"]["satisfaction_rate"] == 1.0  # u1 rated a2: 5
    assert resp["agents"]["a1"]["satisfaction_rate"] == 0.0  # u3's rating (3) goes to a1
    assert resp["totals"]["satisfaction_rate"] == 0.5
    assert doc["bot"]["totals"]["satisfaction_rate"] is None  # no ratings: null, not 0


# -- §3 3-minute reply rate -------------------------------------------------------------------
def test_three_minute_rate_ignores_rounds_starting_after_23(doc: Any) -> None:
    # D1: c1 fails (a2's 240 s), c2 passes (540 s round starts 23:01), c3 fails (22:59 -> 240 s),
    # c4 assigned 23:05: not counted -> 1 / 3
    assert doc["resp"]["days"][D1]["reply_3min_rate"] == 0.333333
    # D2: c5 passes, c6 fails (300 s), c7 fails (unanswered), c8 passes -> 2 / 4
    assert doc["resp"]["days"][D2]["reply_3min_rate"] == 0.5
    assert doc["resp"]["totals"]["reply_3min_rate"] == 0.428571  # 3 / 7


def test_three_minute_rate_per_agent_counts_each_agent_on_its_own_rounds(doc: Any) -> None:
    # c1 moved a1 -> a2: a1's rounds (30, 120) pass, a2's (240) fails
    agents = doc["resp"]["agents"]
    assert agents["a1"]["reply_3min_rate"] == 0.6  # c1 c2 c5 pass; c3 c6 fail
    assert agents["a2"]["reply_3min_rate"] == 0.333333  # c8 passes; c1 c7 fail; c4 not counted


# -- per day ----------------------------------------------------------------------------------
def test_days_split_by_store_local_day(doc: Any) -> None:
    days = doc["resp"]["days"]
    assert sorted(days) == [D1, D2]
    assert days[D1]["avg_response_s"] == 168.75  # 30 120 240 60 540 60 240 60
    assert days[D2]["avg_response_s"] == 120.0  # 60 300 60 60
    assert days[D1]["first_response_s"] == 52.5
    assert days[D1]["buyer_messages"] + days[D2]["buyer_messages"] == 14


# -- §1 store funnel and attribution -----------------------------------------------------------
def test_store_funnel_with_two_day_window(doc: Any) -> None:
    # inquiries: u1 u2 u3 (D1), u2 u6 u7 (D2); u4 was a proactive follow-up (excluded)
    # ordered in window: u1, u2, u6 (u3's order is on D3; u7 ordered before asking)
    # paid in window: u1, u2
    expected = {
        "inquiry_buyers": 5,
        "inquiry_order_buyers": 3,
        "inquiry_paid_buyers": 2,
        "inquiry_to_order_rate": 0.6,
        "order_to_pay_rate": 0.666667,
        "inquiry_to_pay_rate": 0.4,
    }
    assert subset(doc["funnel"]["totals"], expected) == expected


def test_order_on_day_three_is_outside_a_two_day_window(doc: Any) -> None:
    # u3 asked on D1 and ordered on D3: not an inquiry order, and the sale is silent
    assert doc["funnel"]["days"][D1]["inquiry_order_buyers"] == 2  # u1 u2, not u3
    assert doc["funnel"]["days"][D3]["silent_sales"] == 80.0
    # with validity_days = 3 it is credited to a1
    assert doc["funnel_v3"]["days"][D1]["inquiry_order_buyers"] == 3
    assert doc["funnel_v3"]["days"][D3]["assisted_sales"] == 80.0
    assert doc["funnel_v3"]["totals"]["inquiry_order_buyers"] == 4


def test_sales_split_assisted_and_silent_by_payment_day(doc: Any) -> None:
    # paid: o1 100 (a1) o4 40 (a2) o5 50 (silent) on D1; o2 200 (a1) o7 60 (silent) on D2;
    # o3 80 (silent) on D3; 6 paying buyers
    expected = {
        "assisted_sales": 340.0,
        "silent_sales": 190.0,
        "store_sales": 530.0,
        "assisted_share": 0.641509,
        "aov": 88.333333,
    }
    assert subset(doc["funnel"]["totals"], expected) == expected
    d1 = {"assisted_sales": 140.0, "silent_sales": 50.0, "store_sales": 190.0, "aov": 63.333333}
    assert subset(doc["funnel"]["days"][D1], d1) == d1


def test_payment_attribution_credits_a_different_agent(doc: Any) -> None:
    # o2: ordered after a1's reply (D1), paid after a2's reply (D2)
    # o7: ordered before any reply, paid after a2's: silent by order, a2's by payment
    by_order = doc["funnel"]["agents"]
    by_payment = doc["funnel_pay"]["agents"]
    order_first = doc["funnel_first"]["agents"]
    assert (by_order["a1"]["paid_amount"], by_order["a2"]["paid_amount"]) == (300.0, 40.0)
    assert (by_payment["a1"]["paid_amount"], by_payment["a2"]["paid_amount"]) == (100.0, 300.0)
    assert (order_first["a1"]["paid_amount"], order_first["a2"]["paid_amount"]) == (300.0, 100.0)
    assert doc["funnel_pay"]["totals"]["assisted_sales"] == 400.0
    assert doc["funnel_first"]["totals"]["silent_sales"] == 130.0  # o3 + o5
    # paid inquiry buyers follow the credited agent; ordering buyers follow the order rule
    assert by_order["a1"]["inquiry_paid_buyers"] == 2  # u1 u2
    assert by_payment["a1"]["inquiry_paid_buyers"] == 1  # u1 (o2 is a2's now)
    assert by_payment["a1"]["inquiry_order_buyers"] == 3  # u1 u2 u6


def test_agent_funnel_and_order_amount(doc: Any) -> None:
    a1 = doc["funnel"]["agents"]["a1"]
    expected = {
        "inquiry_buyers": 4,  # u1 u2 u3 u6
        "inquiry_order_buyers": 3,  # u1 u2 u6
        "inquiry_paid_buyers": 2,
        "inquiry_to_order_rate": 0.75,
        "inquiry_to_pay_rate": 0.5,
        "order_amount": 330.0,  # o1 100 + o2 200 + o6 30 (unpaid)
    }
    assert subset(a1, expected) == expected
    a2 = doc["funnel"]["agents"]["a2"]
    assert subset(a2, {"inquiry_buyers": 0, "inquiry_to_order_rate": 0}) == {
        "inquiry_buyers": 2,  # u2 (D2), u7
        "inquiry_to_order_rate": 0.0,
    }


def test_proactive_follow_ups_count_when_not_excluded(doc: Any) -> None:
    # u4: a2 wrote first; with proactive_excluded = false u4 is an inquiry buyer who paid
    totals = doc["funnel_pro"]["totals"]
    assert (totals["inquiry_buyers"], totals["inquiry_order_buyers"]) == (6, 4)
    assert totals["inquiry_paid_buyers"] == 3
    assert doc["funnel_pro"]["agents"]["a2"]["inquiry_paid_buyers"] == 1
    assert doc["funnel"]["agents"]["a2"]["inquiry_paid_buyers"] == 0


def test_empty_denominators_are_null_not_zero(doc: Any) -> None:
    d3 = doc["funnel"]["days"][D3]
    assert d3["inquiry_buyers"] == 0
    assert d3["inquiry_to_order_rate"] is None
    assert doc["resp"]["totals"]["order_to_pay_rate"] is None
    assert doc["resp"]["totals"]["aov"] is None
    assert doc["resp"]["totals"]["assisted_sales"] == 0.0


# -- §6 transfer entry ------------------------------------------------------------------------
def test_transfer_entry(doc: Any) -> None:
    # 6 conversations offered the button, 5 clicked: v1, v5 (assigned), v2, v6 (queued 240 s
    # and 100 s, then assigned), v3 (failed: everyone offline); p90 of [100, 240] interpolates
    expected = {
        "button_conversations": 6,
        "transfer_clicks": 5,
        "transfer_rate": 0.833333,
        "transfer_success_rate": 0.8,
        "queue_wait_s": 170.0,
        "queue_wait_p90_s": 226.0,
        "transfer_failures": 1,
    }
    assert subset(doc["bot"]["totals"], expected) == expected
    assert doc["bot"]["variants"] == {"button": expected}


# -- shape ------------------------------------------------------------------------------------
def test_every_scope_holds_exactly_its_ids(doc: Any) -> None:
    for store in doc.values():
        assert tuple(store["totals"]) == TOTAL_IDS
        for day in store["days"].values():
            assert tuple(day) == TOTAL_IDS
        for agent in store["agents"].values():
            assert tuple(agent) == SCOPE_IDS["agent"]
        for variant in store["variants"].values():
            assert tuple(variant) == TRANSFER_IDS


def test_duckdb_and_spark_agree_on_every_value(docs: Any, facts: Any) -> None:
    from tests.insight.conftest import _doc

    assert _doc("pyspark", docs, facts) == _doc("duckdb", docs, facts)


# -- date range (DuckDB) ----------------------------------------------------------------------
def test_date_range_limits_inquiries_and_sales(facts: Any) -> None:
    doc = compute(facts, data.config(), day_from=D2, day_to=D2)["stores"]
    totals = doc["funnel"]["totals"]
    # inquiries of D2 only: u2 u6 u7; sales paid on D2: o2 (a1) 200, o7 (silent) 60
    expected = {"inquiry_buyers": 3, "inquiry_order_buyers": 1, "store_sales": 260.0}
    assert subset(totals, expected) == expected
    assert sorted(doc["funnel"]["days"]) == [D2]
    assert doc["resp"]["totals"]["avg_response_s"] == 120.0


@pytest.mark.parametrize(
    ("insight", "inquiry_buyers"),
    [({"proactive_excluded": True}, 5), ({"proactive_excluded": False}, 6)],
)
def test_changing_a_setting_changes_the_numbers(
    facts: Any, insight: dict[str, Any], inquiry_buyers: int
) -> None:
    from kefu.engine.settings import parse_config

    cfg = parse_config({"insight": insight})
    doc = compute(facts, cfg)["stores"]
    assert doc["funnel"]["totals"]["inquiry_buyers"] == inquiry_buyers
