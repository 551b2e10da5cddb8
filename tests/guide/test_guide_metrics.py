"""metrics.md §4 by hand: prompted → seen → adopted → browsed / paid, per agent and store."""

from __future__ import annotations

import pytest

from kefu.engine.actions import GuidePanel
from kefu.engine.settings import Config
from kefu.insight.facts import FactsBuilder
from kefu.insight.metrics import compute
from kefu.testing import spark_available
from tests.engine.helpers import ev, msg


def panel(minutes: float, agent: str, buyer: str, products: list[str]) -> GuidePanel:
    ts = ev("search", minutes, buyer="x", keyword="k").at
    return GuidePanel(ts=ts, store="s1", agent=agent, buyer=buyer, conversation=f"{buyer}~1",
                      products=products, intent=0.8)  # fmt: skip


def facts() -> dict:
    fb = FactsBuilder(Config())
    # b1 (a1): prompted, seen, adopted (sent the brush), viewed it, paid for it → all steps
    # b2 (a1): prompted, seen, sent only the inquired cup → not adopted
    # b3 (a1): prompted, never seen
    # b4 (a2): prompted, seen, adopted (sleeve), bought the sleeve 3 days later → outside window
    fb.add_actions([panel(1, "a1", "b1", ["cup", "brush", "sleeve"]),
                    panel(1, "a1", "b2", ["cup", "brush"]),
                    panel(1, "a1", "b3", ["cup", "brush"]),
                    panel(1, "a2", "b4", ["cup", "sleeve"])])  # fmt: skip
    for e, conv in [
        (ev("guide.view", 2, agent="a1", buyer="b1"), None),
        (ev("guide.view", 2, agent="a1", buyer="b2"), None),
        (ev("guide.view", 2, agent="a2", buyer="b4"), None),
        (msg("b1", 3, sender="agent", agent="a1", text="搭配", products=["brush"]), "b1~1"),
        (msg("b2", 3, sender="agent", agent="a1", text="就这个", products=["cup"]), "b2~1"),
        (msg("b4", 3, sender="agent", agent="a2", text="搭配", products=["sleeve"]), "b4~1"),
        (ev("view", 4, buyer="b1", product="brush"), None),
        (ev("order", 5, order="o1", buyer="b1", amount=98.9,
            items=[{"product": "cup", "qty": 1, "price": 89.0},
                   {"product": "brush", "qty": 1, "price": 9.9}]), None),
        (ev("payment", 6, order="o1", amount=98.9), None),
        (ev("order", 60 * 24 * 3, order="o2", buyer="b4", amount=19.9,
            items=[{"product": "sleeve", "qty": 1, "price": 19.9}]), None),
        (ev("payment", 60 * 24 * 3 + 1, order="o2", amount=19.9), None),
    ]:  # fmt: skip
        fb.add_event(e, conv)
    return fb.tables()


@pytest.mark.parametrize("backend", ["duckdb", "pyspark"])
def test_guide_funnel_per_agent_and_store(backend: str) -> None:
    if backend == "pyspark" and not spark_available():
        pytest.skip("PySpark or Java missing")
    doc = compute(facts(), Config(), backend=backend)["stores"]["s1"]
    a1, a2, tot = doc["agents"]["a1"], doc["agents"]["a2"], doc["totals"]
    assert [a1[k] for k in ("guide_prompted_buyers", "guide_seen_buyers",
                            "guide_adopted_buyers")] == [3, 2, 1]  # fmt: skip
    assert (a1["guide_view_rate"], a1["guide_adoption_rate"]) == (round(2 / 3, 6), 0.5)
    assert (a1["guide_browse_rate"], a1["guide_pay_rate"], a1["guide_gmv"]) == (1.0, 1.0, 9.9)
    assert (a2["guide_adopted_buyers"], a2["guide_pay_rate"], a2["guide_gmv"]) == (1, 0.0, 0.0)
    assert (tot["guide_prompted_buyers"], tot["guide_adopted_buyers"], tot["guide_gmv"]) == (
        4, 2, 9.9)  # fmt: skip
    assert tot["guide_pay_rate"] == 0.5


def test_a_longer_validity_window_credits_the_late_purchase() -> None:
    from kefu.engine.settings import parse_config

    cfg = parse_config({"insight": {"validity_days": 5}})
    a2 = compute(facts(), cfg)["stores"]["s1"]["agents"]["a2"]
    assert (a2["guide_pay_rate"], a2["guide_gmv"]) == (1.0, 19.9)


def test_leaderboards_top_gmv_active_and_inactive() -> None:
    from kefu.insight.leaderboards import guide_boards, rank

    agents = {
        "a1": {"guide_prompted_buyers": 3, "guide_adoption_rate": 0.5, "guide_gmv": 9.9},
        "a2": {"guide_prompted_buyers": 2, "guide_adoption_rate": 0.3, "guide_gmv": 50.0},
        "a3": {"guide_prompted_buyers": 1, "guide_adoption_rate": None, "guide_gmv": 0.0},
        "a4": {"guide_prompted_buyers": 0, "guide_adoption_rate": None, "guide_gmv": 0.0},
    }
    boards = guide_boards(agents)
    assert [r["agent"] for r in boards["top_gmv"]] == ["a2", "a1"]
    assert [r["agent"] for r in boards["active"]] == ["a1"]
    assert [r["agent"] for r in boards["inactive"]] == ["a2", "a3"]  # 30 % is not above 30 %
    assert [r["agent"] for r in rank(agents, "guide_gmv", 2, best="low")] == ["a3", "a4"]
