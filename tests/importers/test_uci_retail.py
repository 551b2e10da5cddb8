"""`kefu import uci-retail` on the UCI Online Retail extract copied in tests/data."""

from __future__ import annotations

from pathlib import Path

import pytest

from kefu.importers import run_import
from kefu.importers.uci_retail import parse_invoice_date
from tests.importers.conftest import TEST_DATA, SliceFn
from tests.importers.helpers import of_type, read_output

UCI = str(TEST_DATA / "uci_online_retail_head.csv")


@pytest.fixture
def head1000(data_slice: SliceFn, tmp_path: Path) -> list[dict]:
    """The header and the first 999 invoice lines (66 invoice numbers), imported."""
    src = data_slice(UCI, first=1000)
    report = run_import("uci-retail", src, tmp_path / "events.jsonl")
    assert report.rows == 999
    assert dict(report.skipped) == {
        "cancellation of an order not in the file": 8,  # C536383 (1 line), C536391 (7)
        "discount or charge in a cancellation": 1,  # C536379, stock code D
        "stock adjustment": 1,  # 536414: 56 x 22139, no description, price 0
    }
    assert [line for line, _ in report.examples] == [143, 156, 237, 624]
    return read_output(tmp_path / "events.jsonl")


def test_invoice_becomes_order_and_payment(head1000: list[dict]) -> None:
    order = next(e for e in of_type(head1000, "order") if e["order"] == "536365")
    assert order["ts"] == "2010-12-01T08:26:00+00:00"  # "12-01-2010 08:26", London in winter
    assert order["buyer"] == "17850"
    assert order["items"][:2] == [
        {"product": "85123A", "qty": 6, "price": 2.55},
        {"product": "71053", "qty": 6, "price": 3.39},
    ]
    assert len(order["items"]) == 7
    # 6x2.55 + 6x3.39 + 8x2.75 + 6x3.39 + 6x3.39 + 2x7.65 + 6x4.25
    assert order["amount"] == 139.12
    payment = next(e for e in of_type(head1000, "payment") if e["order"] == "536365")
    assert (payment["ts"], payment["amount"], payment["buyer"]) == (order["ts"], 139.12, "17850")


def test_products_are_declared_before_their_first_order(head1000: list[dict]) -> None:
    products = of_type(head1000, "product")
    assert len(products) == 585  # distinct stock codes sold in the slice
    heart = next(e for e in products if e["product"] == "85123A")
    assert (heart["title"], heart["price"]) == ("WHITE HANGING HEART T-LIGHT HOLDER", 2.55)
    first_order = next(i for i, e in enumerate(head1000) if e["type"] == "order")
    assert head1000.index(heart) < first_order
    postage = next(e for e in products if e["product"] == "POST")
    assert postage["category"] == "charge"


def test_cancellation_cancels_the_customers_earlier_order(head1000: list[dict]) -> None:
    # C536506: customer 17897 returns 6 of the 8 JAM MAKING SET WITH JARS of order 536488.
    assert of_type(head1000, "order.cancel") == [
        {
            "ts": "2010-12-01T12:38:00+00:00",
            "type": "order.cancel",
            "store": "uci-retail",
            "id": "uci-cancel-C536506",
            "order": "536488",
        }
    ]
    assert len(of_type(head1000, "order")) == 61  # 66 invoices - 4 cancellations - 536414


def test_guest_invoice_and_invoice_spanning_two_minutes(
    data_slice: SliceFn, tmp_path: Path
) -> None:
    src = data_slice(UCI, first=1, extra=range(2423, 2465))
    run_import("uci-retail", src, tmp_path / "e.jsonl")
    orders = {e["order"]: e for e in of_type(read_output(tmp_path / "e.jsonl"), "order")}
    assert orders["536591"]["ts"] == "2010-12-01T16:57:00+00:00"  # its lines say 16:57 and 16:58
    assert len(orders["536591"]["items"]) == 40
    guest = orders["536592"]  # blank CustomerID
    assert guest["buyer"] == "guest-536592"
    assert guest["amount"] == 4.21  # 1 x 2.51 + 2 x 0.85 (its first two lines)


def test_invoice_dates_are_london_local_time() -> None:
    assert parse_invoice_date("12-01-2010 08:26").isoformat() == "2010-12-01T08:26:00+00:00"
    assert parse_invoice_date("06-15-2011 10:00").isoformat() == "2011-06-15T10:00:00+01:00"
    assert parse_invoice_date("12/1/2010 8:26") == parse_invoice_date("12-01-2010 08:26")
    with pytest.raises(ValueError, match="not a date"):
        parse_invoice_date("2010-13")


def test_bad_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    src = tmp_path / "bad.csv"
    src.write_text(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,six,12-01-2010 08:26,2.55,17850,UK\n"
        "536365,71053,WHITE METAL LANTERN,6,12-01-2010 08:26,3.39,17850,United Kingdom\n"
        "536366,22633,HAND WARMER UNION JACK,6,yesterday,1.85,17850,United Kingdom\n"
        "536367,84879,ASSORTED COLOUR BIRD ORNAMENT\n",
        encoding="utf-8",
    )
    report = run_import("uci-retail", src, tmp_path / "e.jsonl")
    assert report.rows == 4
    assert dict(report.skipped) == {"bad value": 2, "malformed CSV row": 1}
    assert [line for line, _ in report.examples] == [2, 4, 5]
    orders = of_type(read_output(tmp_path / "e.jsonl"), "order")
    assert [(o["order"], o["amount"]) for o in orders] == [("536365", 20.34)]
