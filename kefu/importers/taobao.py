"""Taobao UserBehavior (Alibaba Tianchi): pv / fav / cart / buy clicks to shopping events.

Rows are `user_id,item_id,category_id,behavior_type,timestamp` (Unix seconds; the header is
optional, as upstream has none). Readings (see docs/importers.md):

- pv -> `view` (source `other`, carrier `card`: the log says neither), fav -> `favorite`,
  cart -> `cart.add`, buy -> `order` of one item + `payment` at the same second;
- the data has no prices: each item gets a made-up price, stable across runs
  (`synthetic_price` of the item id), used by its `product` event (`"synthetic_price": true`)
  and its orders;
- an item's `product` event (title `Taobao item <id>`, category = category_id) is emitted
  at its first appearance;
- time is shown in China time (+08:00).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from kefu.importers.common import (
    PRIO_DECLARE,
    EventSink,
    ImportReport,
    ProgressFn,
    csv_records,
    event,
    no_progress,
    open_text,
    rfc3339,
    synthetic_price,
)

NAME = "taobao"
DEFAULT_STORE = "taobao"
CST = timezone(timedelta(hours=8))
HEADER = ("user_id", "item_id", "category_id", "behavior_type", "timestamp")
TYPES = {"pv": "view", "fav": "favorite", "cart": "cart.add", "buy": "order"}


def item_price(item: str) -> float:
    """The made-up price of an item (the data has none): 4.9 to 499.9, log-uniform."""
    return synthetic_price(f"taobao:{item}")


def read(
    path: Path,
    sink: EventSink,
    report: ImportReport,
    *,
    store: str | None = None,
    limit: int | None = None,
    progress: ProgressFn = no_progress,
) -> None:
    """Import behaviour rows as views, favourites, cart adds, orders and payments."""
    shop = store or DEFAULT_STORE
    prices: dict[str, float] = {}  # item -> made-up price; an item is declared once
    # Exact duplicate rows would repeat an id: the upstream file is sorted by user then
    # time, so remembering the rows of the current (user, second) is enough to drop them.
    moment: tuple[str, str] | None = None
    same_moment: set[tuple[str, str]] = set()
    with open_text(path, progress) as fh:
        n = 0
        for line, rec in csv_records(fh, report):
            if line == 1 and tuple(c.strip() for c in rec) == HEADER:
                continue
            if limit is not None and n >= limit:
                break
            n += 1
            report.rows += 1
            if len(rec) != len(HEADER):
                report.skip(line, "malformed CSV row", f"{len(rec)} columns instead of 5")
                continue
            user, item, category, behavior, stamp = (c.strip() for c in rec)
            kind = TYPES.get(behavior)
            if kind is None:
                report.skip(line, "unknown behavior_type", behavior[:20])
                continue
            if not (user and item):
                report.skip(line, "bad value", "empty user_id or item_id")
                continue
            try:
                at = datetime.fromtimestamp(int(stamp), CST)
            except (ValueError, OverflowError, OSError):
                report.skip(line, "bad value", f"timestamp {stamp[:20]!r}")
                continue
            if (user, stamp) != moment:
                moment, same_moment = (user, stamp), set()
            if (item, behavior) in same_moment:
                report.skip(line, "duplicate row", f"{user},{item},{behavior},{stamp}")
                continue
            same_moment.add((item, behavior))
            ts, ms = rfc3339(at), int(stamp) * 1000
            price = prices.get(item)
            if price is None:
                price = prices[item] = item_price(item)
                product = event("product", ts, shop, f"tb-product-{item}", product=item)
                product |= {"title": f"Taobao item {item}", "price": price, "category": category}
                sink.add(product | {"synthetic_price": True}, ms, PRIO_DECLARE, line=line)
            key = f"tb-{user}-{item}-{behavior}-{stamp}"
            if kind == "view":
                view = event("view", ts, shop, key, buyer=user, product=item)
                sink.add(view | {"source": "other", "carrier": "card"}, ms, line=line)
            elif kind != "order":
                sink.add(event(kind, ts, shop, key, buyer=user, product=item), ms, line=line)
            else:
                order = event("order", ts, shop, key, order=f"{user}-{item}-{stamp}", buyer=user)
                order["items"] = [{"product": item, "qty": 1, "price": price}]
                if sink.add(order | {"amount": price}, ms, line=line):
                    payment = event("payment", ts, shop, f"{key}-paid", order=order["order"])
                    payment["amount"] = price
                    sink.add(payment | {"buyer": user}, ms, line=line)
