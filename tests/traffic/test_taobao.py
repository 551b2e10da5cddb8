"""The real Taobao UserBehavior sample through `kefu import taobao`: its card funnel, checked
against numbers worked out independently with plain Python over the CSV.

The importer maps `pv` to a card `view` (source `other`) and `buy` to an order paid at the
same second, at a made-up price per item (`item_price`); there are no impressions.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from kefu.importers import run_import
from kefu.importers.taobao import item_price
from kefu.testing import shared_data
from kefu.traffic import reports
from kefu.traffic.facts import facts_from_log
from kefu.traffic.metrics import Session

TAOBAO = "behaviour/taobao_userbehavior_sample.csv"
CST = timezone(timedelta(hours=8))
YEAR_S = 365 * 86_400


def by_hand(path: Path) -> dict[str, Any]:
    """The §7 totals of the sample from the raw rows (every rule spelled out again)."""
    pv: dict[str, list[tuple[int, str]]] = defaultdict(list)  # user → (ts, item)
    buys: list[tuple[str, str, int]] = []  # (user, item, ts)
    seen: set[tuple[str, ...]] = set()
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            key = (row["user_id"], row["item_id"], row["behavior_type"], row["timestamp"])
            if key in seen:  # the importer drops exact duplicates
                continue
            seen.add(key)
            user, item, ts = row["user_id"], row["item_id"], int(row["timestamp"])
            if row["behavior_type"] == "pv":
                pv[user].append((ts, item))
            elif row["behavior_type"] == "buy":
                buys.append((user, item, ts))
    paid_at: dict[str, list[int]] = defaultdict(list)
    for user, _, ts in buys:
        paid_at[user].append(ts)
    # an order is card traffic when the buyer viewed that item at or before it
    sourced = [(u, i, t) for u, i, t in buys if any(v <= t and vi == i for v, vi in pv[u])]
    payers = {u for u, _, _ in sourced}
    returning = 0
    for user, views in pv.items():
        first = min(t for t, _ in views)
        if any(first - YEAR_S <= p < first for p in paid_at[user]):
            returning += 1
    repeat = 0
    for user in payers:
        first_card_buy = min(t for u, _, t in sourced if u == user)
        if any(p < first_card_buy for p in paid_at[user]):
            repeat += 1
    clicks = sum(len(v) for v in pv.values())
    gmv = round(sum(item_price(i) for _, i, _ in sourced), 6)
    per_day: dict[str, set[str]] = defaultdict(set)
    for user, views in pv.items():
        for ts, _ in views:
            per_day[datetime.fromtimestamp(ts, CST).date().isoformat()].add(user)
    return {
        "totals": {
            "card_impression_users": 0,
            "card_click_users": len(pv),
            "card_clicks": clicks,
            "card_ctr": None,
            "card_clicks_per_user": round(clicks / len(pv), 6),
            "card_new_click_users": len(pv) - returning,
            "card_returning_click_users": returning,
            "card_gmv": gmv,
            "card_paying_users": len(payers),
            "card_aov": round(gmv / len(payers), 6),
            "card_click_to_pay_rate": round(len(payers) / len(pv), 6),
            "card_uv_value": round(gmv / len(pv), 6),
            "card_first_purchase_users": len(payers) - repeat,
            "card_repeat_users": repeat,
            "card_churned_users": len(set(pv) - {u for u, _, _ in buys}),
            "card_order_users": len(payers),
        },
        "day_click_users": {d: len(u) for d, u in sorted(per_day.items())},
        "sourced": sourced,
        "pv": pv,
        "buys": buys,
    }


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Session, dict[str, Any]]:
    src = shared_data(TAOBAO)
    out = tmp_path_factory.mktemp("taobao") / "events.jsonl"
    run_import("taobao", src, out)
    return Session(facts_from_log(out)), by_hand(src)


def test_taobao_sample_card_metrics_match_the_hand_count(sample: Any) -> None:
    session, expected = sample
    doc = session.metrics(scopes=("total", "source", "day"))["stores"]["taobao"]
    assert doc["totals"] == expected["totals"]
    # the figures (SOURCE.md: 3,926 pv of 43 users, 77 buys by 23 users): 18 of the 23
    # buyers had viewed the item they bought; the 20 who never bought are churned
    t = doc["totals"]
    assert (t["card_clicks"], t["card_click_users"], t["card_paying_users"]) == (3926, 43, 18)
    assert (t["card_gmv"], t["card_churned_users"], t["card_repeat_users"]) == (3835.2, 20, 6)
    assert list(doc["sources"]) == ["other"]  # the log names no source
    assert doc["sources"]["other"] == t
    days = {d: v["card_click_users"] for d, v in doc["days"].items()}
    assert days == expected["day_click_users"]


def test_taobao_sample_product_funnel(sample: Any) -> None:
    session, expected = sample
    # the item bought through a card by the most buyers (ties: the smallest id)
    buyers: dict[str, set[str]] = defaultdict(set)
    for user, item, _ in expected["sourced"]:
        buyers[item].add(user)
    item = min(buyers, key=lambda i: (-len(buyers[i]), i))
    viewers = {u for u, views in expected["pv"].items() if any(i == item for _, i in views)}
    out = reports.funnel(session, "taobao", item)
    assert [s["users"] for s in out["funnel"]] == [0, len(viewers), len(buyers[item]),
                                                   len(buyers[item])]  # fmt: skip
    assert out["funnel"][1]["rate"] is None  # no impressions: nothing to divide by
    assert out["metrics"]["card_gmv"] == round(item_price(item) * sum(
        1 for _, i, _ in expected["sourced"] if i == item), 6)  # fmt: skip
    assert list(out["sources"]) == ["other"]
