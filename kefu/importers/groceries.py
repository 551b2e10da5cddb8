"""Groceries (Kaggle "Groceries dataset"): member-day baskets to orders and payments.

Rows are `Member_number,Date,itemDescription[,...]`, one row per item bought; the rows of a
basket (member + date) are scattered through the file, so baskets are gathered in memory
(one small counter per basket) before anything is emitted. Readings (docs/importers.md):

- one basket -> one `order` (items with their counts as quantities) + `payment`;
- products come from `itemDescription` (id = its slug, title = the text as written);
- the data has neither prices nor times of day: both are made up, stable across runs
  (`"synthetic_price": true` on products, `"synthetic_ts": true` on every event); a basket
  is placed on its real date between 08:00 and 20:00 UTC.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

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
    stable_fraction,
    synthetic_price,
)

NAME = "groceries"
DEFAULT_STORE = "groceries"
COLUMNS = ("Member_number", "Date", "itemDescription")
OPENING = timedelta(hours=8)
OPEN_SECONDS = 12 * 3600
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")  # Kaggle's original 21-07-2015
_SLUG = re.compile(r"[^a-z0-9]+")


def parse_date(value: str) -> datetime:
    """`2015-07-21` or day-first `21-07-2015`, as midnight UTC."""
    v = value.strip()
    if m := _ISO.match(v):
        year, month, day = m.groups()
    elif m := _DMY.match(v):
        day, month, year = m.groups()
    else:
        raise ValueError(f"not a date: {v[:20]!r}")
    return datetime(int(year), int(month), int(day), tzinfo=UTC)


def product_id(description: str) -> str:
    """`tropical fruit` -> `tropical-fruit`."""
    return _SLUG.sub("-", description.lower()).strip("-")


def item_price(product: str) -> float:
    """The made-up price of a grocery item: 0.49 to 9.99, log-uniform."""
    return synthetic_price(f"groceries:{product}", low=0.5, high=10.0, step=0.1)


@dataclass
class Basket:
    """The items of one member on one day, in the order first seen."""

    line: int
    items: Counter[str] = field(default_factory=Counter)


def read(
    path: Path,
    sink: EventSink,
    report: ImportReport,
    *,
    store: str | None = None,
    limit: int | None = None,
    progress: ProgressFn = no_progress,
) -> None:
    """Import grocery rows as one order and one payment per member-day basket."""
    shop = store or DEFAULT_STORE
    baskets: dict[tuple[str, str], Basket] = {}
    titles: dict[str, str] = {}
    with open_text(path, progress) as fh:
        records = csv_records(fh, report)
        first = next(records, None)
        if first is None:
            return
        index = {name.strip(): i for i, name in enumerate(first[1])}
        missing = [c for c in COLUMNS if c not in index]
        if missing:
            raise ValueError(f"not a groceries file: missing {', '.join(missing)}")
        cols = [index[c] for c in COLUMNS]
        for n, (line, rec) in enumerate(records):
            if limit is not None and n >= limit:
                break
            report.rows += 1
            if len(rec) <= max(cols):
                report.skip(line, "malformed CSV row", f"{len(rec)} columns")
                continue
            member, date, description = (rec[i].strip() for i in cols)
            product = product_id(description)
            if not member or not product:
                report.skip(line, "bad value", "empty Member_number or itemDescription")
                continue
            try:
                day = parse_date(date).date().isoformat()
            except ValueError as err:
                report.skip(line, "bad value", str(err))
                continue
            titles.setdefault(product, description)
            baskets.setdefault((member, day), Basket(line)).items[product] += 1

    first_sold: dict[str, tuple[int, str, int]] = {}  # product -> ms, ts, line
    for (member, day), basket in baskets.items():
        order_id = f"{member}-{day}"
        at = parse_date(day) + OPENING
        at += timedelta(seconds=int(stable_fraction(order_id) * OPEN_SECONDS))
        ts, ms = rfc3339(at), epoch_ms(at)
        lines = [(p, q, item_price(p)) for p, q in basket.items.items()]
        items = [{"product": p, "qty": q, "price": price} for p, q, price in lines]
        amount = round(sum(q * price for _, q, price in lines), 2)
        order = event("order", ts, shop, f"gr-order-{order_id}", order=order_id, buyer=member)
        order |= {"items": items, "amount": amount, "synthetic_ts": True}
        if not sink.add(order, ms, line=basket.line):
            continue
        payment = event("payment", ts, shop, f"gr-payment-{order_id}", order=order_id)
        payment |= {"amount": amount, "buyer": member, "synthetic_ts": True}
        sink.add(payment, ms, line=basket.line)
        for p in basket.items:
            if p not in first_sold or ms < first_sold[p][0]:
                first_sold[p] = (ms, ts, basket.line)
    for p, (ms, ts, line) in first_sold.items():
        upsert = event("product", ts, shop, f"gr-product-{p}", product=p, title=titles[p])
        upsert |= {"price": item_price(p), "synthetic_price": True, "synthetic_ts": True}
        sink.add(upsert, ms, PRIO_DECLARE, line=line)
