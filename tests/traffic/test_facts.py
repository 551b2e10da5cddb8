"""Traffic fact tables: what each event becomes, whatever the file order."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from kefu.engine.clock import VirtualClock
from kefu.engine.settings import parse_config
from kefu.runtime.service import EngineService
from kefu.traffic.facts import facts_from_db, facts_from_events, read_parquet, write_parquet
from tests.traffic import data
from tests.traffic.data import D1, at, ev, order, pay


def rows(t: pa.Table, *cols: str) -> list[tuple[object, ...]]:
    return sorted(zip(*(t.column(c).to_pylist() for c in cols), strict=True))


def test_items_carry_their_share_of_the_order() -> None:
    f = facts_from_events([
        order("a", "u", [("p1", 1, 100), ("p2", 2, 25), ("p1", 1, 50)], at(D1, 9)),  # by value
        order("b", "u", [("p1", 1, 0), ("p2", 3, 0)], at(D1, 9), amount=40),  # no prices: qty
        order("c", "u", [], at(D1, 9), amount=10),  # no items: no item rows
    ])  # fmt: skip
    assert rows(f["order_items"], "order", "product", "share") == [
        ("a", "p1", 0.75), ("a", "p2", 0.25), ("b", "p1", 0.25), ("b", "p2", 0.75),
    ]  # fmt: skip
    assert rows(f["orders"], "order", "amount") == [("a", 200.0), ("b", 40.0), ("c", 10.0)]


def test_the_first_payment_counts_and_names_the_order_buyer() -> None:
    f = facts_from_events([
        pay("o", 90, at(D1, 11)),  # later in time, earlier in the file
        pay("o", 100, at(D1, 10)),
        order("o", "u1", [("p", 1, 100)], at(D1, 9)),
        pay("lost", 5, at(D1, 9)),  # an order never seen, no buyer
        pay("named", 5, at(D1, 9), buyer="u9"),
    ])  # fmt: skip
    assert rows(f["payments"], "order", "buyer", "amount") == [
        ("lost", None, 5.0), ("named", "u9", 5.0), ("o", "u1", 100.0),
    ]  # fmt: skip


def test_local_time_follows_each_stores_timezone() -> None:
    cfg = parse_config({"stores": {"ny": {"store": {"timezone": "America/New_York"}}}})
    events = [ev("view", at(D1, 10), "s1", buyer="u", product="p"),
              ev("view", at(D1, 10), "ny", buyer="u", product="p")]  # fmt: skip
    f = facts_from_events(events, cfg)
    local = dict(zip(f["views"].column("store").to_pylist(),
                     f["views"].column("local_ms").to_pylist(), strict=True))  # fmt: skip
    ts = f["views"].column("ts_ms")[0].as_py()
    assert local["s1"] - ts == 8 * 3_600_000  # Asia/Shanghai, the default
    assert local["ny"] - ts == -5 * 3_600_000
    # defaults of the contract: source other, carrier card
    assert rows(f["views"], "source", "carrier") == [("other", "card"), ("other", "card")]


def test_profiles_merge_fields_and_the_latest_ts_wins() -> None:
    f = facts_from_events(data.events())
    assert rows(f["buyers"], "buyer", "province", "gender", "age_band") == [
        ("u1", "浙江", "f", "25-29"), ("u2", "浙江", "m", None), ("u3", "广东", "f", "30-34"),
        ("u5", "上海", None, "18-24"),
    ]  # fmt: skip


def test_parquet_round_trip(tmp_path: Path) -> None:
    f = facts_from_events(data.events())
    write_parquet(f, tmp_path)
    back = read_parquet(tmp_path)
    assert all(back[name].equals(f[name]) for name in f)


def test_from_the_live_log_with_other_stores_orders_only(db_engine) -> None:
    svc = EngineService(db_engine, parse_config({"bot": {"enabled": False}}), clock=VirtualClock())
    lines = [json.dumps(r).encode() for r in (
        {"id": "1", "ts": at(D1, 10), "type": "view", "store": "s1", "buyer": "u", "product": "p"},
        {"id": "2", "ts": at(D1, 10), "type": "view", "store": "s2", "buyer": "u", "product": "q"},
        {"id": "3", "ts": at(D1, 11), "type": "order", "store": "s2", "order": "o", "buyer": "u",
         "items": [{"product": "q", "qty": 1, "price": 5}], "amount": 5},
        {"id": "4", "ts": at(D1, 11), "type": "message", "store": "s1", "buyer": "u",
         "sender": "buyer", "text": "在吗"},
    )]  # fmt: skip
    svc.ingest(lines)
    f = facts_from_db(db_engine, "s1", svc.config)
    assert rows(f["views"], "store", "product") == [("s1", "p")]  # s2's views stay private
    assert rows(f["orders"], "store", "order") == [("s2", "o")]
    alone = facts_from_db(db_engine, "s1", svc.config, others=False)
    assert alone["orders"].num_rows == 0
