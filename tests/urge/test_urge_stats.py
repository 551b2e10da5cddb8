"""metrics.md §5 by hand: urged buyers, their orders on the urge day or the next, payments.

Counted on the day the order or payment happened; the same expressions run on DuckDB (here)
and on PySpark (the insight suite compares every value across both engines).
"""

from __future__ import annotations

import pytest

from kefu.engine.actions import UrgeSend, UrgeSkip
from kefu.engine.events import parse_ts
from kefu.engine.settings import Config
from kefu.insight.facts import FactsBuilder
from kefu.insight.metrics import compute
from kefu.testing import spark_available
from tests.engine.helpers import ev


def t(day: int, hhmm: str) -> int:
    return parse_ts(f"2026-03-0{day}T{hhmm}:00+08:00")


def urge(buyer: str, ts: int) -> UrgeSend:
    return UrgeSend(ts=ts, store="s1", buyer=buyer, conversation=f"{buyer}~1", sender="a1",
                    product="p1", text="亲")  # fmt: skip


def order(o: str, buyer: str, ts: int, amount: float) -> object:
    e = ev("order", 0, order=o, buyer=buyer, items=[], amount=amount)
    e.ts = ts
    return e


def payment(o: str, ts: int, amount: float) -> object:
    e = ev("payment", 0, order=o, amount=amount, buyer=None)
    e.ts = ts
    return e


def metrics(backend: str = "duckdb") -> dict:
    fb = FactsBuilder(Config())
    fb.add_actions([urge("b1", t(1, "09:00")), urge("b2", t(1, "10:00")),
                    urge("b3", t(1, "11:00")), urge("b4", t(2, "09:00")),
                    UrgeSkip(ts=t(1, "12:00"), store="s1", buyer="b5", conversation="b5~1",
                             reason="low_intent")])  # fmt: skip
    for e in [
        order("o0", "b1", t(1, "08:00"), 999.0),  # before the urge: not the urge's
        order("o1", "b1", t(2, "10:00"), 100.0),  # next day: counted on day 2
        payment("o1", t(3, "09:00"), 100.0),  # paid on day 3: outside the two days
        order("o2", "b2", t(3, "10:00"), 70.0),  # day 3: too late
        order("o3", "b3", t(1, "12:00"), 50.0),  # same day
        payment("o3", t(2, "08:00"), 50.0),  # paid next day: counted on day 2
        order("o4", "b4", t(2, "09:30"), 30.0),
        payment("o4", t(2, "09:40"), 30.0),
        order("o5", "b5", t(1, "13:00"), 20.0),  # skipped, never urged
    ]:
        fb.add_event(e, None)  # type: ignore[arg-type]
    return compute(fb.tables(), Config(), backend=backend)["stores"]["s1"]


@pytest.mark.parametrize("backend", ["duckdb", "pyspark"])
def test_urge_stats_by_day_and_over_the_range(backend: str) -> None:
    if backend == "pyspark" and not spark_available():
        pytest.skip("PySpark or Java missing")
    m = metrics(backend)
    day1, day2 = m["days"]["2026-03-01"], m["days"]["2026-03-02"]
    assert (day1["urged_buyers"], day1["urge_order_buyers"], day1["urge_order_amount"],
            day1["urge_paid_amount"]) == (3, 1, 50.0, 0.0)  # fmt: skip
    assert day1["urge_conversion_rate"] == round(1 / 3, 6)
    assert (day2["urged_buyers"], day2["urge_order_buyers"], day2["urge_order_amount"],
            day2["urge_paid_amount"]) == (1, 2, 130.0, 80.0)  # fmt: skip
    assert day2["urge_conversion_rate"] == 2.0  # orders from yesterday's urges count today
    day3 = m["days"]["2026-03-03"]
    assert (day3["urged_buyers"], day3["urge_order_buyers"], day3["urge_paid_amount"]) == (
        0,
        0,
        0.0,
    )
    assert day3["urge_conversion_rate"] is None
    tot = m["totals"]
    assert (tot["urged_buyers"], tot["urge_order_buyers"], tot["urge_order_amount"],
            tot["urge_paid_amount"]) == (4, 3, 180.0, 80.0)  # fmt: skip
    assert tot["urge_conversion_rate"] == 0.75
