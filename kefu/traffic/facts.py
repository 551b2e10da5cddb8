"""Fact tables for product-card traffic: impressions, views, orders, payments, profiles.

Card traffic needs no conversation state, so these facts come straight from the events (no
engine replay): any order of events works, `tables()` resolves what depends on later events
(an order's buyer for a payment that does not name one, the latest profile or catalogue
upsert). Columns follow kefu.insight.facts: `ts_ms` epoch milliseconds and `local_ms` the
same instant as store-local wall-clock milliseconds, so days and hours are integer
arithmetic on every engine. Tables are Arrow with real nulls (never pandas: stack.md).

Readings fixed here (docs/traffic.md):
- one order per (store, order id): the earliest `order` event; one payment per order: the
  earliest `payment` (a repeated payment of the same order is not new money);
- an order's items are merged per product; each item carries `share`, its fraction of the
  order (qty × price over the items' total, or by quantity when the items carry no prices),
  so an item's paid amount is `share × payment amount`;
- impressions and views keep their `carrier`: metrics filter `card`, other analyses may not.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
from sqlalchemy import Engine as SAEngine

from kefu.engine import events as ev
from kefu.engine.readers import ReadStats, read_events
from kefu.engine.settings import Config
from kefu.storage.parquet import read_tables, write_tables

_I64 = pa.int64()
_STR = pa.string()
_F64 = pa.float64()

SCHEMAS: dict[str, pa.Schema] = {
    "impressions": pa.schema(
        [("store", _STR), ("buyer", _STR), ("product", _STR), ("source", _STR),
         ("carrier", _STR), ("ts_ms", _I64), ("local_ms", _I64)]
    ),
    "views": pa.schema(
        [("store", _STR), ("buyer", _STR), ("product", _STR), ("source", _STR),
         ("carrier", _STR), ("ts_ms", _I64), ("local_ms", _I64)]
    ),
    "orders": pa.schema(
        [("store", _STR), ("order", _STR), ("buyer", _STR), ("amount", _F64),
         ("ts_ms", _I64), ("local_ms", _I64)]
    ),
    # One row per (order, product); ts is the order's.
    "order_items": pa.schema(
        [("store", _STR), ("order", _STR), ("buyer", _STR), ("product", _STR),
         ("share", _F64), ("ts_ms", _I64), ("local_ms", _I64)]
    ),
    # One row per paid order; buyer from the payment, else from its order (null if unknown).
    "payments": pa.schema(
        [("store", _STR), ("order", _STR), ("buyer", _STR), ("amount", _F64),
         ("ts_ms", _I64), ("local_ms", _I64)]
    ),
    "buyers": pa.schema(
        [("store", _STR), ("buyer", _STR), ("province", _STR), ("gender", _STR),
         ("age_band", _STR)]
    ),
    "products": pa.schema(
        [("store", _STR), ("product", _STR), ("title", _STR), ("category", _STR),
         ("price", _F64)]
    ),
}  # fmt: skip
TABLES = tuple(SCHEMAS)
# Event types card traffic reads; other stores contribute only what churn needs.
TYPES = ("impression", "view", "order", "payment", "product", "buyer")
OTHER_STORE_TYPES = ("order", "payment", "product")
_PROFILE = ("province", "gender", "age_band")


class LocalTime:
    """Store-local wall-clock milliseconds, each store in its own timezone (cached offsets)."""

    def __init__(self, config: Config | None = None) -> None:
        self._config = config or Config()
        self._tz: dict[str, ZoneInfo] = {}
        self._off: dict[tuple[str, int], int] = {}

    def offset(self, store: str, ts: int) -> int:
        """The store's UTC offset (ms) at `ts`, cached per quarter hour."""
        key = (store, ts // 900_000)
        off = self._off.get(key)
        if off is None:
            tz = self._tz.get(store)
            if tz is None:
                tz = self._tz[store] = self._config.for_store(store).tz
            delta = datetime.fromtimestamp(ts / 1000, tz).utcoffset()
            off = self._off[key] = int(delta.total_seconds() * 1000) if delta else 0
        return off

    def local(self, store: str, ts: int) -> int:
        """`ts` as store-local wall-clock milliseconds."""
        return ts + self.offset(store, ts)


class TrafficFacts:
    """Collects card-traffic fact rows from events in any order; `tables()` gives Arrow."""

    def __init__(self, config: Config | None = None) -> None:
        self.clock = LocalTime(config)
        self._touch: dict[str, list[list[Any]]] = {
            "impressions": [[] for _ in range(7)],
            "views": [[] for _ in range(7)],
        }
        self._orders: dict[tuple[str, str], ev.Order] = {}
        self._payments: dict[tuple[str, str], ev.Payment] = {}
        self._buyers: dict[tuple[str, str], dict[str, tuple[int, str]]] = {}
        self._products: dict[tuple[str, str], ev.Product] = {}

    def add(self, event: ev.Event) -> None:
        """Record one event (types other than card-traffic ones are ignored)."""
        if isinstance(event, (ev.Impression, ev.View)):
            cols = self._touch["impressions" if isinstance(event, ev.Impression) else "views"]
            store, ts = event.store, event.at
            for col, value in zip(
                cols,
                (store, event.buyer, event.product, event.source, event.carrier, ts,
                 self.clock.local(store, ts)),
                strict=True,
            ):  # fmt: skip
                col.append(value)
        elif isinstance(event, ev.Order):
            _keep_first(self._orders, (event.store, event.order), event)
        elif isinstance(event, ev.Payment):
            _keep_first(self._payments, (event.store, event.order), event)
        elif isinstance(event, ev.Product):
            key = (event.store, event.product)
            old = self._products.get(key)
            if old is None or event.at >= old.at:
                self._products[key] = event
        elif isinstance(event, ev.Buyer):
            fields = self._buyers.setdefault((event.store, event.buyer), {})
            for name in _PROFILE:
                value = getattr(event, name)
                if value is not None and (name not in fields or event.at >= fields[name][0]):
                    fields[name] = (event.at, value)

    def add_all(self, events: Iterable[ev.Event]) -> TrafficFacts:
        """Record every event; returns self."""
        for e in events:
            self.add(e)
        return self

    def tables(self) -> dict[str, pa.Table]:
        """Every fact table as Arrow (explicit schemas, real nulls)."""
        out = {name: _table(self._touch[name], SCHEMAS[name]) for name in self._touch}
        local = self.clock.local
        orders: list[tuple[Any, ...]] = []
        items: list[tuple[Any, ...]] = []
        for (store, oid), o in sorted(self._orders.items()):
            lo = local(store, o.at)
            orders.append((store, oid, o.buyer, o.amount, o.at, lo))
            for product, share in item_shares(o).items():
                items.append((store, oid, o.buyer, product, share, o.at, lo))
        out["orders"] = _rows(orders, SCHEMAS["orders"])
        out["order_items"] = _rows(items, SCHEMAS["order_items"])
        pays: list[tuple[Any, ...]] = []
        for (store, oid), p in sorted(self._payments.items()):
            order = self._orders.get((store, oid))
            buyer = p.buyer if p.buyer is not None else (order.buyer if order else None)
            pays.append((store, oid, buyer, p.amount, p.at, local(store, p.at)))
        out["payments"] = _rows(pays, SCHEMAS["payments"])
        out["buyers"] = _rows(
            [(s, b, *(f[n][1] if n in f else None for n in _PROFILE))
             for (s, b), f in sorted(self._buyers.items())],
            SCHEMAS["buyers"],
        )  # fmt: skip
        out["products"] = _rows(
            [(s, p, e.title, e.category, e.price) for (s, p), e in sorted(self._products.items())],
            SCHEMAS["products"],
        )
        return out


def _keep_first(seen: dict[tuple[str, str], Any], key: tuple[str, str], event: Any) -> None:
    old = seen.get(key)
    if old is None or event.at < old.at:
        seen[key] = event


def item_shares(order: ev.Order) -> dict[str, float]:
    """Each product's fraction of the order: by qty × price, or by qty when prices are 0."""
    by_value: dict[str, float] = {}
    by_qty: dict[str, float] = {}
    for item in order.items:
        by_value[item.product] = by_value.get(item.product, 0.0) + item.qty * item.price
        by_qty[item.product] = by_qty.get(item.product, 0.0) + item.qty
    weights = by_value if sum(by_value.values()) > 0 else by_qty
    total = sum(weights.values())
    return {p: w / total for p, w in weights.items()} if total > 0 else {}


def _table(cols: list[list[Any]], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_arrays(
        [pa.array(c, type=f.type) for c, f in zip(cols, schema, strict=True)], schema=schema
    )


def _rows(rows: list[tuple[Any, ...]], schema: pa.Schema) -> pa.Table:
    cols: list[list[Any]] = (
        [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in schema]
    )
    return _table(cols, schema)


def empty_tables() -> dict[str, pa.Table]:
    """Every fact table with no rows."""
    return {name: schema.empty_table() for name, schema in SCHEMAS.items()}


def facts_from_events(
    events: Iterable[ev.Event], config: Config | None = None
) -> dict[str, pa.Table]:
    """Fact tables of already decoded events."""
    return TrafficFacts(config).add_all(events).tables()


def facts_from_log(
    source: str | Path, config: Config | None = None, stats: ReadStats | None = None
) -> dict[str, pa.Table]:
    """Fact tables of an events file (JSON Lines, .jsonl.gz or Parquet), streamed."""
    return TrafficFacts(config).add_all(read_events(source, stats)).tables()


def facts_from_db(
    db: SAEngine, store: str, config: Config, others: bool = True
) -> dict[str, pa.Table]:
    """Card-traffic facts of `store` from the live event log; with `others`, the other
    stores' orders, payments and catalogue too (where churned buyers went)."""
    from kefu.storage.repo import logged_events

    facts = TrafficFacts(config)
    facts.add_all(logged_events(db, store, TYPES))
    if others:
        facts.add_all(logged_events(db, store, OTHER_STORE_TYPES, other_stores=True))
    return facts.tables()


def write_parquet(tables: dict[str, pa.Table], folder: str | Path) -> None:
    """Write each fact table to `folder/<name>.parquet`."""
    write_tables(tables, folder, TABLES)


def read_parquet(folder: str | Path) -> dict[str, pa.Table]:
    """Read the fact tables written by `write_parquet` (a missing table is empty)."""
    return read_tables(folder, SCHEMAS)
