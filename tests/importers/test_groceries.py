"""`kefu import groceries` on rows of the real member-day grocery baskets file."""

from __future__ import annotations

from pathlib import Path

import pytest

from kefu.importers import run_import
from kefu.importers.groceries import parse_date, product_id
from tests.importers.conftest import SliceFn
from tests.importers.helpers import of_type, read_output

GROCERIES = "behaviour/groceries_member_date_baskets.csv"
# A basket's rows are scattered: these lines complete two baskets of the first rows
# (1808 on 2015-07-21, 2552 on 2015-05-01) and hold both rows of 1003 on 2014-02-27.
EXTRA = (16151, 16152, 36090, 36091, 33100, 37651)


@pytest.fixture
def events(data_slice: SliceFn, tmp_path: Path) -> list[dict]:
    """The header, the first 300 rows and the EXTRA rows, imported."""
    src = data_slice(GROCERIES, first=301, extra=EXTRA)
    report = run_import("groceries", src, tmp_path / "events.jsonl")
    assert (report.rows, report.skipped_total) == (306, 0)
    return read_output(tmp_path / "events.jsonl")


def test_each_member_day_is_one_order_and_one_payment(events: list[dict]) -> None:
    orders = {e["order"]: e for e in of_type(events, "order")}
    assert len(orders) == 301  # the first 300 rows are 300 baskets, plus 1003 on 2014-02-27
    assert len(of_type(events, "payment")) == 301
    basket = orders["1808-2015-07-21"]
    assert basket["buyer"] == "1808"
    assert basket["items"] == [
        {"product": "tropical-fruit", "qty": 1, "price": 3.39},  # line 2
        {"product": "rolls-buns", "qty": 1, "price": 1.09},  # line 16151
        {"product": "candy", "qty": 1, "price": 2.39},  # line 36090
    ]
    assert basket["amount"] == 6.87
    assert [i["product"] for i in orders["2552-2015-05-01"]["items"]] == [
        "whole-milk",
        "tropical-fruit",
        "chocolate",
    ]


def test_an_item_bought_twice_the_same_day_is_one_line_of_quantity_two(
    events: list[dict],
) -> None:
    basket = next(e for e in of_type(events, "order") if e["order"] == "1003-2014-02-27")
    assert basket["items"] == [{"product": "rolls-buns", "qty": 2, "price": 1.09}]
    assert basket["amount"] == 2.18


def test_time_of_day_is_made_up_on_the_real_date(events: list[dict]) -> None:
    basket = next(e for e in of_type(events, "order") if e["order"] == "1808-2015-07-21")
    assert basket["ts"].startswith("2015-07-21T")
    assert "08:00:00" <= basket["ts"][11:19] < "20:00:00"
    assert basket["ts"].endswith("+00:00")
    assert all(e["synthetic_ts"] is True for e in events)
    payment = next(e for e in of_type(events, "payment") if e["order"] == "1808-2015-07-21")
    assert payment["ts"] == basket["ts"]


def test_products_come_from_item_descriptions(events: list[dict]) -> None:
    products = {e["product"]: e for e in of_type(events, "product")}
    assert products["rolls-buns"]["title"] == "rolls/buns"
    assert products["rolls-buns"]["price"] == 1.09
    assert products["rolls-buns"]["synthetic_price"] is True
    sold = {i["product"] for o in of_type(events, "order") for i in o["items"]}
    assert set(products) == sold
    assert product_id("Instant food products") == "instant-food-products"


def test_dates_iso_or_day_first() -> None:
    assert parse_date("2015-07-21") == parse_date("21-07-2015")
    with pytest.raises(ValueError, match="not a date"):
        parse_date("July 21")
