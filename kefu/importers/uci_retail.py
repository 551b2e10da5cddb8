"""UCI Online Retail (a UK giftware web shop, 2010-2011): invoices to orders and payments.

The file lists invoice lines; the lines of one invoice are adjacent, so invoices are built
one at a time while streaming. Readings (see docs/importers.md):

- an invoice -> `product` upserts for stock codes seen for the first time, then `order`
  (items, amount = sum of quantity x unit price) and `payment` of the same amount at the
  invoice time: the shop took payment at checkout;
- a cancellation (`C` + number, negative quantities) does not name the invoice it cancels:
  it cancels the latest earlier order of the same customer that holds all its stock codes
  in at least those quantities (`order.cancel`); when none is in the file (the original is
  older than the extract, or the customer is a guest) its lines are skipped and counted;
- lines with a quantity <= 0 outside a cancellation, or with neither description nor price,
  are stock adjustments, not sales: skipped and counted;
- `InvoiceDate` is month-day-year local time of Europe/London; blank `CustomerID` = a guest,
  given the buyer id `guest-<invoice>`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from kefu.importers.common import (
    PRIO_DECLARE,
    EventSink,
    ImportReport,
    ProgressFn,
    csv_records,
    epoch_ms,
    event,
    no_progress,
    open_text,
    rfc3339,
)

NAME = "uci-retail"
DEFAULT_STORE = "uci-retail"
LONDON = ZoneInfo("Europe/London")
COLUMNS = ("InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice")
# Stock codes that are charges or bookkeeping, not goods (postage, carriage, manual, fees...).
CHARGES = frozenset(
    {"POST", "DOT", "C2", "M", "m", "D", "S", "B", "CRUK", "PADS", "AMAZONFEE", "BANK CHARGES"}
)
_US_DATE = re.compile(r"^(\d{1,2})[-/](\d{1,2})[-/](\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$")


def parse_invoice_date(value: str) -> datetime:
    """`12-01-2010 08:26` (month-day-year, also `12/1/2010 8:26` or ISO) in London time."""
    v = value.strip()
    if m := _US_DATE.match(v):
        month, day, year, hh, mm, ss = m.groups()
    elif m := _ISO_DATE.match(v):
        year, month, day, hh, mm, ss = m.groups()
    else:
        raise ValueError(f"not a date: {v[:30]!r}")
    return datetime(int(year), int(month), int(day), int(hh), int(mm), int(ss or 0), tzinfo=LONDON)


@dataclass(slots=True)
class Line:
    """One valid invoice line."""

    line: int
    code: str
    title: str
    qty: int
    price: float
    at: datetime
    customer: str


@dataclass
class Invoice:
    """The adjacent lines of one invoice number."""

    number: str
    first_line: int
    lines: list[Line] = field(default_factory=list)


@dataclass
class Shop:
    """What the import remembers across invoices."""

    store: str
    products: set[str] = field(default_factory=set)
    finished: set[str] = field(default_factory=set)
    # customer -> [(invoice, remaining quantity per stock code)] in time order
    history: dict[str, list[tuple[str, Counter[str]]]] = field(default_factory=dict)


def _customer(value: str) -> str:
    v = value.strip()
    return v[:-2] if v.endswith(".0") else v


def _parse(rec: list[str], cols: list[int], line: int) -> Line:
    code, title, qty, date, price = (rec[i] for i in cols[1:6])
    if not code.strip():
        raise ValueError("empty StockCode")
    return Line(
        line=line,
        code=code.strip(),
        title=" ".join(title.split()),
        qty=int(qty),
        price=float(price),
        at=parse_invoice_date(date),
        customer=_customer(rec[cols[6]]) if cols[6] >= 0 else "",
    )


def read(
    path: Path,
    sink: EventSink,
    report: ImportReport,
    *,
    store: str | None = None,
    limit: int | None = None,
    progress: ProgressFn = no_progress,
) -> None:
    """Import invoice lines as products, orders, payments and cancellations."""
    shop = Shop(store or DEFAULT_STORE)
    with open_text(path, progress) as fh:
        records = csv_records(fh, report)
        first = next(records, None)
        if first is None:
            return
        header = first[1]
        index = {name.strip(): i for i, name in enumerate(header)}
        missing = [c for c in COLUMNS if c not in index]
        if missing:
            raise ValueError(f"not a UCI Online Retail file: missing {', '.join(missing)}")
        cols = [index[c] for c in COLUMNS] + [index.get("CustomerID", -1)]
        current: Invoice | None = None
        for n, (line, rec) in enumerate(records):
            if limit is not None and n >= limit:
                break
            report.rows += 1
            if len(rec) != len(header):
                detail = f"{len(rec)} columns instead of {len(header)}"
                report.skip(line, "malformed CSV row", detail)
                continue
            number = rec[cols[0]].strip()
            if current is None or number != current.number:
                if current is not None:
                    _invoice(current, shop, sink, report)
                if number in shop.finished or not number:
                    report.skip(line, "invoice lines not adjacent", number or "empty InvoiceNo")
                    current = None
                    continue
                current = Invoice(number, line)
            try:
                current.lines.append(_parse(rec, cols, line))
            except ValueError as err:
                report.skip(line, "bad value", str(err)[:120])
        if current is not None:
            _invoice(current, shop, sink, report)


def _invoice(inv: Invoice, shop: Shop, sink: EventSink, report: ImportReport) -> None:
    shop.finished.add(inv.number)
    if not inv.lines:
        return
    if inv.number.startswith("C"):
        _cancellation(inv, shop, sink, report)
        return
    sold: list[Line] = []
    for ln in inv.lines:
        if ln.qty <= 0:
            report.skip(ln.line, "stock adjustment", f"quantity {ln.qty} in {inv.number}")
        elif ln.price < 0:
            report.skip(ln.line, "stock adjustment", f"negative price in {inv.number}")
        elif not ln.title and ln.price == 0:
            report.skip(ln.line, "stock adjustment", f"no description, price 0 in {inv.number}")
        else:
            sold.append(ln)
    if not sold:
        return
    at = min(ln.at for ln in sold)  # a few invoices span two minutes: the first one counts
    ts, ms = rfc3339(at), epoch_ms(at)
    for ln in sold:
        if ln.code not in shop.products and ln.title:
            shop.products.add(ln.code)
            product = event(
                "product",
                ts,
                shop.store,
                f"uci-product-{ln.code}",
                product=ln.code,
                title=ln.title,
                price=ln.price,
                category="charge" if ln.code in CHARGES else "",
            )
            sink.add(product, ms, PRIO_DECLARE, line=ln.line)
    buyer = sold[0].customer or f"guest-{inv.number}"
    items = [{"product": ln.code, "qty": ln.qty, "price": ln.price} for ln in sold]
    amount = round(sum(ln.qty * ln.price for ln in sold), 2)
    order = event("order", ts, shop.store, f"uci-order-{inv.number}", order=inv.number)
    order |= {"buyer": buyer, "items": items, "amount": amount}
    if not sink.add(order, ms, line=inv.first_line):
        return
    payment = event("payment", ts, shop.store, f"uci-payment-{inv.number}", order=inv.number)
    sink.add(payment | {"amount": amount, "buyer": buyer}, ms, line=inv.first_line)
    if sold[0].customer:
        left = Counter[str]()
        for ln in sold:
            left[ln.code] += ln.qty
        shop.history.setdefault(buyer, []).append((inv.number, left))


def _cancellation(inv: Invoice, shop: Shop, sink: EventSink, report: ImportReport) -> None:
    """`order.cancel` of the latest earlier order of the customer holding every cancelled line."""
    wanted = Counter[str]()
    goods = []
    for ln in inv.lines:
        if ln.code in CHARGES:  # a discount or a refunded charge: no goods to match
            report.skip(ln.line, "discount or charge in a cancellation", f"{inv.number} {ln.code}")
        else:
            goods.append(ln)
            wanted[ln.code] += abs(ln.qty)
    if not goods:
        return
    customer = inv.lines[0].customer
    original = None
    for number, left in reversed(shop.history.get(customer, [])) if customer else ():
        if all(left[code] >= qty for code, qty in wanted.items()):
            original = number
            left.subtract(wanted)  # a later cancellation cannot take the same units again
            break
    if original is None:
        why = "guest" if not customer else "no earlier order of the customer holds these lines"
        for ln in goods:
            report.skip(ln.line, "cancellation of an order not in the file", f"{inv.number}: {why}")
        return
    at = min(ln.at for ln in goods)
    cancel = event("order.cancel", rfc3339(at), shop.store, f"uci-cancel-{inv.number}")
    sink.add(cancel | {"order": original}, epoch_ms(at), line=inv.first_line)
