"""metrics.md §7 (商品卡流量): every `card_` metric as Ibis expressions, on DuckDB or Spark.

Only `carrier == card` impressions and views count. An order item is card traffic when the
buyer viewed that product through a card at or before the order's time; its source is the
source of the latest such view (last touch). Scopes (one union query per report):

- `total` — the store over the range; `source`; `product`; `product_source` (the same
  product across sources); `day` and `hour` (store-local).

What puts a number in a range / day / hour: impressions and clicks — their own time; GMV,
paying, first-purchase and repeat users — the payment's time; `card_order_users` — the
order's time. Distinct buyers are distinct within each row (a day's buyers do not add up to
the range's).

Per-buyer flags use one trick so that both engines agree without window functions: the
earliest event of a buyer in a row wins, encoded as `ts × 2 + flag` and read back from
`min(...) % 2` (ties go to flag 0):
- `card_returning_click_users`: at the buyer's first click in the row, the buyer had paid in
  this store in the 365 days before; `card_new_click_users` are the others;
- `card_repeat_users`: at the buyer's first card-sourced payment in the row, the buyer had an
  earlier paid order in this store (any time); `card_first_purchase_users` the others.
`card_churned_users`: click users of the row who paid for nothing in this store (any channel,
any carrier) in the report's range.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from kefu.engine.events import SOURCES
from kefu.insight.backends import connect
from kefu.insight.backends import register as register_arrow

CARD_IDS = (
    "card_impression_users",
    "card_click_users",
    "card_clicks",
    "card_ctr",
    "card_clicks_per_user",
    "card_new_click_users",
    "card_returning_click_users",
    "card_gmv",
    "card_paying_users",
    "card_aov",
    "card_click_to_pay_rate",
    "card_uv_value",
    "card_first_purchase_users",
    "card_repeat_users",
    "card_churned_users",
)
# Project addition: the funnel's order step (impression → click → order → payment).
FUNNEL_IDS = ("card_order_users",)
IDS = CARD_IDS + FUNNEL_IDS
NULLABLE = frozenset(
    ("card_ctr", "card_clicks_per_user", "card_aov", "card_click_to_pay_rate", "card_uv_value")
)
AMOUNTS = frozenset(("card_gmv", "card_aov", "card_uv_value"))
SCOPES = ("total", "source", "product", "product_source", "day", "hour")
SECTIONS = {
    "total": "totals",
    "source": "sources",
    "product": "products",
    "product_source": "product_sources",
    "day": "days",
    "hour": "hours",
}
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
YEAR_MS = 365 * DAY_MS
EPOCH = date(1970, 1, 1)
DIGITS = 6
_COUNTS = ("imp_users", "click_users", "clicks", "returning", "churned", "paying", "repeat",
           "order_users")  # fmt: skip


# -- ranges -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Window:
    """A half-open range [start, end) of store-local milliseconds; None = unbounded."""

    start: int | None = None
    end: int | None = None

    @classmethod
    def days(cls, first: date | str | None, last: date | str | None) -> Window:
        """Calendar days `first` … `last` inclusive (either may be None)."""
        lo = day_number(first) * DAY_MS if first is not None else None
        hi = (day_number(last) + 1) * DAY_MS if last is not None else None
        return cls(lo, hi)


def day_number(d: date | str) -> int:
    """Days since 1970-01-01 of a calendar date (or YYYY-MM-DD)."""
    value = date.fromisoformat(d) if isinstance(d, str) else d
    return (value - EPOCH).days


def day_iso(n: int) -> str:
    """YYYY-MM-DD of a day number."""
    return (EPOCH + timedelta(days=n)).isoformat()


def in_window(t: ir.Table, w: Window, col: str = "local_ms") -> ir.Table:
    """The rows of `t` whose `col` (store-local ms) falls in `w`."""
    if w.start is not None:
        t = t.filter(t[col] >= w.start)
    if w.end is not None:
        t = t.filter(t[col] < w.end)
    return t


def ratio(num: ir.NumericValue, den: ir.NumericValue) -> ir.FloatingValue:
    """num / den, NULL when den is 0 or NULL (metrics.md: never 0 for an empty denominator)."""
    return num.fill_null(0).cast("float64") / den.nullif(0).cast("float64")


def _source_code(source: ir.StringValue) -> ir.IntegerValue:
    pairs = [(name, i) for i, name in enumerate(SOURCES)]
    return source.cases(*pairs, else_=SOURCES.index("other")).cast("int64")


def _source_name(code: ir.IntegerValue) -> ir.StringValue:
    return (code % 8).cases(*[(i, name) for i, name in enumerate(SOURCES)], else_="other")


def keyed(t: ir.Table, scope: str) -> ir.Table:
    """`t` (store, buyer, product, source, local_ms) with the scope's row key `k1`, `k2`."""
    empty = ibis.literal("")
    day = (t.local_ms // DAY_MS).cast("int64").cast("string")
    hour = ((t.local_ms % DAY_MS) // HOUR_MS).cast("int64").cast("string")
    k1, k2 = {
        "total": (empty, empty),
        "source": (t.source, empty),
        "product": (t.product, empty),
        "product_source": (t.product, t.source),
        "day": (day, empty),
        "hour": (day, hour),
    }[scope]
    return t.mutate(scope=ibis.literal(scope), k1=k1, k2=k2)


KEYS = ["store", "scope", "k1", "k2"]


# -- building blocks --------------------------------------------------------------------------
class Card:
    """The card-traffic building blocks over registered fact tables, for one range (lazy)."""

    def __init__(self, f: dict[str, ir.Table], window: Window, materialize: bool = False) -> None:
        self.f = f
        self.w = window
        self.materialize = materialize

    def _keep(self, t: ir.Table) -> ir.Table:
        """Compute a shared intermediate once (`Table.cache`) when asked: every scope of a
        report reads it, and Spark would otherwise recompute it per scope."""
        return t.cache() if self.materialize else t

    @cached_property
    def pays(self) -> ir.Table:
        """Paid orders with a known buyer: store, order, buyer, amount, ts_ms, local_ms."""
        p = self.f["payments"]
        return p.filter(p.buyer.notnull())

    @cached_property
    def views(self) -> ir.Table:
        """Card views (clicks), all time."""
        v = self.f["views"]
        return v.filter(v.carrier == "card")

    @cached_property
    def impressions(self) -> ir.Table:
        """Card impressions in the range."""
        i = self.f["impressions"]
        return in_window(i.filter(i.carrier == "card"), self.w)

    @cached_property
    def clicks(self) -> ir.Table:
        """Card views in the range, `ret` = 1 when the buyer paid in this store in the 365
        days before the click."""
        c = in_window(self.views, self.w).select("store", "buyer", "product", "source", "ts_ms",
                                           "local_ms")  # fmt: skip
        p = self.pays.select(p_store="store", p_buyer="buyer", p_ts="ts_ms")
        cond = [c.store == p.p_store, c.buyer == p.p_buyer, p.p_ts < c.ts_ms,
                p.p_ts >= c.ts_ms - YEAR_MS]  # fmt: skip
        returning = c.semi_join(p, cond).mutate(ret=ibis.literal(1, "int64"))
        new = c.anti_join(p, cond).mutate(ret=ibis.literal(0, "int64"))
        return self._keep(returning.union(new))

    @cached_property
    def payers(self) -> ir.Table:
        """(store, buyer) of everyone who paid in the store in the range, `paid` = 1."""
        p = in_window(self.pays, self.w)
        return p.select("store", "buyer").distinct().mutate(paid=ibis.literal(1, "int64"))

    @cached_property
    def sourced(self) -> ir.Table:
        """Order items that are card traffic, with their last-touch `source` (all time)."""
        oi = self.f["order_items"]
        v = self.views
        v = v.select(v_store="store", v_buyer="buyer", v_product="product", v_ts="ts_ms",
                     v_code=v.ts_ms * 8 + _source_code(v.source))  # fmt: skip
        j = oi.join(v, [oi.store == v.v_store, oi.buyer == v.v_buyer, oi.product == v.v_product,
                        v.v_ts <= oi.ts_ms])  # fmt: skip
        last = j.group_by(["store", "order", "buyer", "product", "share", "ts_ms", "local_ms"])
        last = last.aggregate(code=j.v_code.max())
        return self._keep(last.mutate(source=_source_name(last.code)).drop("code"))

    @cached_property
    def paid_items(self) -> ir.Table:
        """Card-sourced items of paid orders in the range: `gmv` (the item's share of the
        payment), `repeat` = 1 when the buyer had paid another order of the store earlier;
        `local_ms`/`ts_ms` are the payment's."""
        s = self.sourced.drop("ts_ms", "local_ms")
        p = self.pays
        # the buyer's first payment in the store, as a window (a join here let DuckDB pair
        # payments and sources by store alone: billions of rows at 50 M facts)
        p = p.select("store", "order", pay_ts="ts_ms", pay_local="local_ms", pay_amount="amount",
                     first_ts=p.ts_ms.min().over(group_by=[p.store, p.buyer]))  # fmt: skip
        j = s.join(p, ["store", "order"])
        j = j.mutate(gmv=j.share * j.pay_amount, repeat=(j.first_ts < j.pay_ts).cast("int64"),
                     ts_ms=j.pay_ts, local_ms=j.pay_local)  # fmt: skip
        return self._keep(in_window(j, self.w))

    @cached_property
    def ordered_items(self) -> ir.Table:
        """Card-sourced order items created in the range."""
        return in_window(self.sourced, self.w)

    def click_buyers(self, scopes: Iterable[str]) -> ir.Table:
        """One row per (row key, buyer): clicks, first-click `ret` flag, paid in range."""
        parts = []
        for scope in scopes:
            t = keyed(self.clicks, scope)
            parts.append(t.group_by([*KEYS, "buyer"]).aggregate(
                clicks=t.count(), first=(t.ts_ms * 2 + t.ret).min()))  # fmt: skip
        per = _union(parts)
        per = left_join(per, self.payers, ["store", "buyer"])
        return per.mutate(ret=(per.first % 2).cast("int64"), paid=per.paid.fill_null(0))

    def paying_buyers(self, scopes: Iterable[str]) -> ir.Table:
        """One row per (row key, buyer) of card-sourced payments: gmv, first-payment repeat."""
        parts = []
        for scope in scopes:
            t = keyed(self.paid_items, scope)
            parts.append(t.group_by([*KEYS, "buyer"]).aggregate(
                gmv=t.gmv.sum(), first=(t.ts_ms * 2 + t.repeat).min()))  # fmt: skip
        per = _union(parts)
        return per.mutate(repeat=(per.first % 2).cast("int64"))


def left_join(left: ir.Table, right: ir.Table, keys: list[str]) -> ir.Table:
    """Left join on equal-named keys, keeping one copy of each key."""
    joined = left.view().left_join(right.view(), keys)
    return joined.drop(*[f"{k}_right" for k in keys if f"{k}_right" in joined.columns])


def _union(parts: list[ir.Table]) -> ir.Table:
    out = parts[0]
    for p in parts[1:]:
        out = out.union(p)
    return out


# -- the report -------------------------------------------------------------------------------
def metrics_expr(
    f: dict[str, ir.Table],
    window: Window,
    scopes: Iterable[str] = SCOPES,
    materialize: bool = False,
) -> ir.Table:
    """One row per (store, scope, k1, k2) with every id of IDS."""
    scopes = tuple(dict.fromkeys(scopes))  # a scope twice would count twice
    card = Card(f, window, materialize)
    null_i, null_f = ibis.null("int64"), ibis.null("float64")

    def shaped(t: ir.Table, **values: Any) -> ir.Table:
        cols = {name: values.get(name, null_i) for name in _COUNTS}
        return t.select(*KEYS, **cols, gmv=values.get("gmv", null_f))

    parts = []
    for scope in scopes:
        t = keyed(card.impressions, scope)
        g = t.group_by(KEYS).aggregate(imp_users=t.buyer.nunique())
        parts.append(shaped(g, imp_users=g.imp_users))
    cb = card.click_buyers(scopes)
    g = cb.group_by(KEYS).aggregate(
        click_users=cb.count(), clicks=cb.clicks.sum(), returning=cb.ret.sum(),
        churned=(1 - cb.paid).sum(),
    )  # fmt: skip
    parts.append(shaped(g, click_users=g.click_users, clicks=g.clicks, returning=g.returning,
                        churned=g.churned))  # fmt: skip
    pb = card.paying_buyers(scopes)
    g = pb.group_by(KEYS).aggregate(paying=pb.count(), repeat=pb.repeat.sum(), gmv=pb.gmv.sum())
    parts.append(shaped(g, paying=g.paying, repeat=g.repeat, gmv=g.gmv))
    for scope in scopes:
        t = keyed(card.ordered_items, scope)
        g = t.group_by(KEYS).aggregate(order_users=t.buyer.nunique())
        parts.append(shaped(g, order_users=g.order_users))
    u = _union(parts)
    r = u.group_by(KEYS).aggregate(
        **{name: u[name].sum() for name in _COUNTS}, gmv=u.gmv.sum()
    )  # fmt: skip
    click_users, paying, gmv = r.click_users.fill_null(0), r.paying.fill_null(0), r.gmv
    return r.select(
        *KEYS,
        card_impression_users=r.imp_users.fill_null(0),
        card_click_users=click_users,
        card_clicks=r.clicks.fill_null(0),
        card_ctr=ratio(click_users, r.imp_users),
        card_clicks_per_user=ratio(r.clicks, click_users),
        card_new_click_users=click_users - r.returning.fill_null(0),
        card_returning_click_users=r.returning.fill_null(0),
        card_gmv=gmv.fill_null(0.0),
        card_paying_users=paying,
        card_aov=ratio(gmv, paying),
        card_click_to_pay_rate=ratio(paying, click_users),
        card_uv_value=ratio(gmv, click_users),
        card_first_purchase_users=paying - r.repeat.fill_null(0),
        card_repeat_users=r.repeat.fill_null(0),
        card_churned_users=r.churned.fill_null(0),
        card_order_users=r.order_users.fill_null(0),
    )


# -- running ----------------------------------------------------------------------------------
Tables = dict[str, "pa.Table | str | Path"]


def register(con: Any, tables: Tables) -> dict[str, ir.Table]:
    """Arrow tables (any backend) or Parquet paths/globs (read by the engine itself)."""
    arrow = {k: v for k, v in tables.items() if isinstance(v, pa.Table)}
    out = register_arrow(con, arrow, prefix="kefu_traffic") if arrow else {}
    for name, path in tables.items():
        if not isinstance(path, pa.Table):
            out[name] = con.read_parquet(str(path), table_name=f"kefu_traffic_{name}")
    return out


def _clean(metric: str, value: Any, digits: int | None = DIGITS) -> Any:
    if value is None:
        return None if metric in NULLABLE else (0.0 if metric in AMOUNTS else 0)
    if isinstance(value, float) or metric in AMOUNTS:
        value = float(value)
        if value != value:  # NaN never reaches the document
            return None
        return value if digits is None else round(value, digits) + 0.0  # -0.0 → 0.0
    return int(value)


def shape(
    values: dict[str, Any], ids: Iterable[str] = IDS, digits: int | None = DIGITS
) -> dict[str, Any]:
    """Values of one row, cleaned: counts 0, amounts 0.0, undefined rates None; floats
    rounded to `digits` (None: exact, for computing changes)."""
    return {i: _clean(i, values.get(i), digits) for i in ids}


def empty_store() -> dict[str, Any]:
    """A store's document with no traffic at all."""
    return {"totals": shape({}), **{SECTIONS[s]: {} for s in SCOPES if s != "total"}}


def document(
    rows: Iterable[dict[str, Any]], stores: Iterable[str] = (), digits: int | None = DIGITS
) -> dict[str, Any]:
    """Rows of `metrics_expr` → `{"stores": {store: {totals, sources, products, …}}}`.

    Days are YYYY-MM-DD; hours `HH` under their day; product_sources product → source.
    """
    out: dict[str, dict[str, Any]] = {s: empty_store() for s in stores}
    for row in rows:
        store, scope, k1, k2 = row["store"], row["scope"], row["k1"], row["k2"]
        doc = out.setdefault(store, empty_store())
        values = shape(row, IDS, digits)
        if scope == "total":
            doc["totals"] = values
        elif scope == "day":
            doc["days"][day_iso(int(k1))] = values
        elif scope == "hour":
            doc["hours"].setdefault(day_iso(int(k1)), {})[f"{int(k2):02d}"] = values
        elif scope == "product_source":
            doc["product_sources"].setdefault(k1, {})[k2] = values
        else:
            doc[SECTIONS[scope]][k1] = values
    for doc in out.values():
        for name in ("sources", "products", "days"):
            doc[name] = dict(sorted(doc[name].items()))
        doc["hours"] = {d: dict(sorted(h.items())) for d, h in sorted(doc["hours"].items())}
        doc["product_sources"] = {
            p: dict(sorted(s.items())) for p, s in sorted(doc["product_sources"].items())
        }
    return {"stores": dict(sorted(out.items()))}


def run(con: Any, expr: ir.Table) -> list[dict[str, Any]]:
    """Execute one expression to Python rows (through Arrow: NULL stays None)."""
    rows: list[dict[str, Any]] = con.to_pyarrow(expr).to_pylist()
    return rows


# Compiled SQL per (report, window shape, scopes, table schemas): building and compiling the
# Ibis expressions costs 0.1–0.25 s a report, more than running them on a store's facts
# (issue #19). Tables are registered under fixed names (`kefu_traffic_<name>`), and the
# window and the store enter the expressions only as literals, so the text is compiled once
# with stand-ins and the real values are put in their place.
_SQL: OrderedDict[tuple[Any, ...], str] = OrderedDict()
_SQL_LOCK = threading.Lock()
_SQL_KEPT = 64
_START, _END = 7_777_000_000_000_011, 7_777_000_000_000_013
_STORE = "kefu-store-stand-in-8d1c"
Build = Callable[[dict[str, ir.Table], Window, str | None], ir.Table]


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Session:
    """Fact tables registered once on one backend; every report of this module runs here.

    On DuckDB (the server's backend) each report's SQL is compiled once per process and
    shape (`rows`) and the shared building blocks are not materialised: one pipelined query
    per report. Elsewhere (Spark) the blocks are cached tables, as `materialize` says.
    """

    def __init__(
        self, tables: Tables, backend: str = "duckdb", con: Any = None, materialize: bool = True
    ) -> None:
        self.con = con if con is not None else connect(backend)
        self.compiled = self.con.name == "duckdb"
        if con is None and self.compiled:
            # spill to the system temp folder, not `.tmp` in whatever folder the server runs in
            spill = Path(tempfile.gettempdir()) / f"kefu-duckdb-{os.getpid()}"
            self.con.raw_sql(f"SET temp_directory = '{spill.as_posix()}'")
        self.f = register(self.con, tables)
        self.materialize = materialize and not self.compiled

    def rows(
        self, name: str, build: Build, window: Window, store: str | None, *key: Any
    ) -> list[dict[str, Any]]:
        """Rows of `build(f, window, store)`; on DuckDB through SQL compiled once per
        (`name`, `key`, which window bounds and store are set, table schemas)."""
        if not self.compiled:
            return run(self.con, build(self.f, window, store))
        shape = tuple(sorted((n, str(t.schema())) for n, t in self.f.items()))
        ck = (name, key, window.start is None, window.end is None, store is None, shape)
        with _SQL_LOCK:
            sql = _SQL.get(ck)
            if sql is not None:
                _SQL.move_to_end(ck)
        if sql is None:
            stand = Window(None if window.start is None else _START,
                           None if window.end is None else _END)  # fmt: skip
            sql = str(self.con.compile(build(self.f, stand, None if store is None else _STORE)))
            with _SQL_LOCK:
                _SQL[ck] = sql
                while len(_SQL) > _SQL_KEPT:
                    _SQL.popitem(last=False)
        sql = sql.replace(str(_START), str(window.start)).replace(str(_END), str(window.end))
        if store is not None:
            sql = sql.replace(_quoted(_STORE), _quoted(store))
        found: list[dict[str, Any]] = self.con.con.sql(sql).to_arrow_table().to_pylist()
        return found

    def metrics(
        self,
        window: Window = Window(),
        scopes: Iterable[str] = SCOPES,
        store: str | None = None,
        digits: int | None = DIGITS,
    ) -> dict[str, Any]:
        """The metrics document over `window` for `scopes` (optionally one store only)."""
        chosen = tuple(dict.fromkeys(scopes))
        materialize = self.materialize

        def build(f: dict[str, ir.Table], w: Window, s: str | None) -> ir.Table:
            expr = metrics_expr(f, w, chosen, materialize)
            return expr if s is None else expr.filter(expr.store == s)

        found = self.rows("metrics", build, window, store, chosen)
        return document(found, [store] if store is not None else (), digits)

    def first_day(self, store: str) -> str | None:
        """The store's first local day in the log (None: nothing yet) — a comparison with a
        period before it compares with data that was never collected."""

        def build(f: dict[str, ir.Table], w: Window, s: str | None) -> ir.Table:
            dated = [t for t in f.values() if "local_ms" in t.columns and "store" in t.columns]
            return _union([t.filter(t.store == s).aggregate(first=t.local_ms.min()) for t in dated])

        firsts = [r["first"] for r in self.rows("first_day", build, Window(), store)]
        known = [int(x) for x in firsts if x is not None and x == x]  # NaN-safe
        return day_iso(min(known) // DAY_MS) if known else None


def compute(
    tables: Tables,
    backend: str = "duckdb",
    day_from: date | str | None = None,
    day_to: date | str | None = None,
    scopes: Iterable[str] = SCOPES,
    store: str | None = None,
) -> dict[str, Any]:
    """The §7 document of `tables` for the calendar days `day_from` … `day_to`."""
    return Session(tables, backend).metrics(Window.days(day_from, day_to), scopes, store)
