"""`kefu import taobao` on the first rows of the real Taobao UserBehavior sample."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from kefu.importers import run_import
from kefu.importers.taobao import item_price
from tests.importers.conftest import SliceFn
from tests.importers.helpers import of_type, read_output

TAOBAO = "behaviour/taobao_userbehavior_sample.csv"


@pytest.fixture
def head300(data_slice: SliceFn, tmp_path: Path) -> list[dict]:
    """The header and the first 300 rows (users 1, 100, 1000, 1000001, 1000004), imported."""
    src = data_slice(TAOBAO, first=301)
    report = run_import("taobao", src, tmp_path / "events.jsonl")
    assert (report.rows, report.skipped_total) == (300, 0)
    return read_output(tmp_path / "events.jsonl")


def test_behaviours_map_to_event_types(head300: list[dict]) -> None:
    counts = Counter(e["type"] for e in head300)
    # 269 pv, 18 fav, 4 cart, 9 buy in these rows
    assert {t: counts[t] for t in ("view", "favorite", "cart.add", "order", "payment")} == {
        "view": 269,
        "favorite": 18,
        "cart.add": 4,
        "order": 9,
        "payment": 9,
    }
    view = next(e for e in head300 if e["type"] == "view" and e["buyer"] == "1")
    assert {k: view[k] for k in ("ts", "buyer", "product", "source", "carrier")} == {
        "ts": "2017-11-25T01:21:10+08:00",  # 1511544070, user 1's first click, in China time
        "buyer": "1",
        "product": "2268318",
        "source": "other",
        "carrier": "card",
    }


def test_buy_becomes_order_and_payment_at_a_stable_made_up_price(head300: list[dict]) -> None:
    # Row 72: 100,1603476,2951233,buy,1511579908
    order = next(e for e in of_type(head300, "order") if e["order"] == "100-1603476-1511579908")
    assert order["ts"] == "2017-11-25T11:18:28+08:00"
    assert order["buyer"] == "100"
    assert order["items"] == [{"product": "1603476", "qty": 1, "price": 334.9}]
    assert order["amount"] == 334.9 == item_price("1603476")
    payment = next(e for e in of_type(head300, "payment") if e["order"] == order["order"])
    assert (payment["ts"], payment["amount"]) == (order["ts"], 334.9)


def test_products_carry_their_category_at_first_sight(head300: list[dict]) -> None:
    products = {e["product"]: e for e in of_type(head300, "product")}
    clicked = {e["product"] for e in head300 if e["type"] != "product" and "product" in e}
    assert set(products) >= clicked
    first = products["2268318"]
    assert (first["category"], first["price"], first["synthetic_price"]) == ("2520377", 116.9, True)
    assert first["ts"] == "2017-11-25T01:21:10+08:00"
    view = next(e for e in head300 if e["type"] == "view" and e["product"] == "2268318")
    assert head300.index(first) == head300.index(view) - 1  # same second, declared first


def test_headerless_file_duplicates_and_bad_rows(tmp_path: Path) -> None:
    src = tmp_path / "UserBehavior.csv"  # upstream has no header line
    src.write_text(
        "1,2268318,2520377,pv,1511544070\n"
        "1,2268318,2520377,pv,1511544070\n"
        "1,2333346,2520771,like,1511561733\n"
        "1,2333346,2520771,cart,soon\n"
        "1,2333346,2520771,cart,1511561733\n",
        encoding="utf-8",
    )
    report = run_import("taobao", src, tmp_path / "e.jsonl")
    assert report.rows == 5
    assert dict(report.skipped) == {
        "duplicate row": 1,
        "unknown behavior_type": 1,
        "bad value": 1,
    }
    assert [line for line, _ in report.examples] == [2, 3, 4]
    events = read_output(tmp_path / "e.jsonl")
    assert [e["type"] for e in events] == ["product", "view", "product", "cart.add"]
