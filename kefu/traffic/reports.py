"""The views over §7 a supervisor asks for (seed 004): period vs previous period, today vs
yesterday by hour, one product's funnel across sources, audience, churned users' destinations.

All run the Ibis expressions of `kefu.traffic.metrics` (or, for audience and churn, the ones
here) on one `Session`, so DuckDB and Spark give the same numbers.

Churned users' destinations never name another store, product or buyer: a deployment's
stores are separate tenants, and an API token of store A learns nothing about store B
(kefu/api/deps.py). What they bought elsewhere is shown by the purchased product's category
only, and a category row is shown only when it aggregates at least `min_stores` other
stores and `min_buyers` buyers; smaller rows are merged into one `(other)` row under the
same rule, and what still fails it is left out (counted in `suppressed_buyers`).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir

from kefu.traffic.facts import LocalTime
from kefu.traffic.metrics import (
    DAY_MS,
    DIGITS,
    IDS,
    SECTIONS,
    Card,
    Session,
    Window,
    day_iso,
    day_number,
    empty_store,
    in_window,
    left_join,
    shape,
)

MIN_STORES = 2
MIN_BUYERS = 3
OTHER = "(other)"
UNKNOWN = "unknown"
AUDIENCE_ATTRS = ("province", "gender", "age_band", "customer")


def change(current: Any, previous: Any) -> float | None:
    """Relative change (current − previous) / previous; None when undefined."""
    if current is None or previous is None or previous == 0:
        return None
    return round((current - previous) / previous, DIGITS) + 0.0


def changes(current: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """Each id's relative change (from exact values; rounded to 6 places)."""
    return {i: change(current.get(i), previous.get(i)) for i in IDS}


def rounded(values: dict[str, Any]) -> dict[str, Any]:
    """Exact values (`digits=None`) as the document shows them."""
    return shape(values)


def compared(current: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """`{"current", "previous", "change"}` of two exact rows."""
    return {"current": rounded(current), "previous": rounded(previous),
            "change": changes(current, previous)}  # fmt: skip


def previous_days(first: date | str, last: date | str) -> tuple[str, str]:
    """The period of the same length just before `first` … `last`."""
    lo, hi = day_number(first), day_number(last)
    n = hi - lo + 1
    return day_iso(lo - n), day_iso(lo - 1)


def period(
    session: Session,
    store: str,
    first: date | str,
    last: date | str,
    scopes: tuple[str, ...] = ("total", "source"),
) -> dict[str, Any]:
    """§7 for `first` … `last` and the previous period of the same length, with the change.

    Each section maps a row key to `{"current", "previous", "change"}`; `totals` directly.
    """
    p_first, p_last = previous_days(first, last)
    cur = session.metrics(Window.days(first, last), scopes, store, None)["stores"][store]
    prev = session.metrics(Window.days(p_first, p_last), scopes, store, None)["stores"][store]
    data_from = session.first_day(store)
    out: dict[str, Any] = {
        "store": store,
        "from": str(first),
        "to": str(last),
        "previous_from": p_first,
        "previous_to": p_last,
        # the previous period starts before the store's first data: its totals are partial,
        # so a change against it is not a change (a UI shows no percentage)
        "data_from": data_from,
        "previous_complete": data_from is not None and data_from <= p_first,
    }
    blank = shape({})
    for scope in scopes:
        name = SECTIONS[scope]
        if scope == "total":
            out["totals"] = compared(cur["totals"], prev["totals"])
            continue
        keys = sorted(set(cur[name]) | set(prev[name]))
        out[name] = {k: compared(cur[name].get(k, blank), prev[name].get(k, blank)) for k in keys}
    return out


def realtime(session: Session, store: str, now_ms: int, clock: LocalTime) -> dict[str, Any]:
    """Today until `now` by hour next to yesterday by hour; today's totals so far against
    yesterday's until the same time of day."""
    local_now = clock.local(store, now_ms)
    today = local_now // DAY_MS
    start = today * DAY_MS
    so_far = session.metrics(Window(start, local_now + 1), ("total", "hour"), store, None)
    yday = session.metrics(Window(start - DAY_MS, start), ("hour",), store)
    y_same = session.metrics(
        Window(start - DAY_MS, local_now + 1 - DAY_MS), ("total",), store, None
    )
    t_doc, y_doc = so_far["stores"][store], yday["stores"][store]
    t_hours = t_doc["hours"].get(day_iso(today), {})
    y_hours = y_doc["hours"].get(day_iso(today - 1), {})
    now_hour = (local_now % DAY_MS) // 3_600_000
    blank = shape({})
    hours = [
        {
            "hour": f"{h:02d}",
            "today": rounded(t_hours.get(f"{h:02d}", blank)) if h <= now_hour else None,
            "yesterday": y_hours.get(f"{h:02d}", blank),
        }
        for h in range(24)
    ]
    t_tot, y_tot = t_doc["totals"], y_same["stores"][store]["totals"]
    return {
        "store": store,
        "day": day_iso(today),
        "yesterday": day_iso(today - 1),
        "until": f"{now_hour:02d}:{(local_now % 3_600_000) // 60_000:02d}",
        "hours": hours,
        "totals": {
            "today": rounded(t_tot),
            "yesterday_same_time": rounded(y_tot),
            "change": changes(t_tot, y_tot),
        },
    }


FUNNEL_STEPS = (
    ("impression", "card_impression_users"),
    ("click", "card_click_users"),
    ("order", "card_order_users"),
    ("payment", "card_paying_users"),
)


def funnel_steps(values: dict[str, Any]) -> list[dict[str, Any]]:
    """Impression → click → order → payment users, each with its rate from the step before."""
    out: list[dict[str, Any]] = []
    before: int | None = None
    for step, metric in FUNNEL_STEPS:
        users = values.get(metric, 0)
        rate = None if not before else round(users / before, DIGITS)
        out.append({"step": step, "users": users, "rate": rate})
        before = users
    return out


def funnel(session: Session, store: str, product: str, window: Window = Window()) -> dict[str, Any]:
    """One product's funnel overall and across sources, with every §7 id of each."""
    doc = session.metrics(window, ("product", "product_source"), store)["stores"][store]
    overall = doc["products"].get(product, shape({}))
    by_source = doc["product_sources"].get(product, {})
    return {
        "store": store,
        "product": product,
        "metrics": overall,
        "funnel": funnel_steps(overall),
        "sources": {
            s: {"metrics": v, "funnel": funnel_steps(v)} for s, v in sorted(by_source.items())
        },
    }


# -- audience ---------------------------------------------------------------------------------
def audience_expr(f: dict[str, ir.Table], window: Window, materialize: bool = False) -> ir.Table:
    """Card click users of the range by source ('' = all), whether they paid card traffic
    (same source), and one profile attribute: rows (store, k1, bought, attribute, value,
    buyers)."""
    card = Card(f, window, materialize)
    cb = card.click_buyers(("total", "source"))
    pb = card.paying_buyers(("total", "source"))
    pb = pb.select("store", "scope", "k1", "buyer", bought=ibis.literal(1, "int64"))
    t = left_join(cb, pb, ["store", "scope", "k1", "buyer"])
    prof = f["buyers"].select("store", "buyer", "province", "gender", "age_band")
    t = left_join(t, prof, ["store", "buyer"])
    t = t.mutate(
        bought=t.bought.notnull(),
        customer=ibis.ifelse(t.ret == 1, "returning", "new"),
    )
    parts = []
    for attr in AUDIENCE_ATTRS:
        x = t.mutate(attribute=ibis.literal(attr), value=t[attr].fill_null(UNKNOWN))
        parts.append(
            x.group_by(["store", "k1", "bought", "attribute", "value"]).aggregate(buyers=x.count())
        )
    out = parts[0]
    for p in parts[1:]:
        out = out.union(p)
    return out


def audience(session: Session, store: str, window: Window = Window()) -> dict[str, Any]:
    """`{"all": …, "sources": {source: …}}`, each `{"buyers", "bought", "not_bought"}` where
    the last two map attribute → value → distinct click users."""
    materialize = session.materialize

    def build(f: dict[str, ir.Table], w: Window, s: str | None) -> ir.Table:
        expr = audience_expr(f, w, materialize)
        return expr.filter(expr.store == s)

    rows = session.rows("audience", build, window, store)
    groups: dict[str, dict[str, Any]] = {}
    for r in rows:
        g = groups.setdefault(r["k1"], {"buyers": 0, "bought": {}, "not_bought": {}})
        side = g["bought" if r["bought"] else "not_bought"]
        side.setdefault(r["attribute"], {})[r["value"]] = int(r["buyers"])
        if r["attribute"] == AUDIENCE_ATTRS[0]:
            g["buyers"] += int(r["buyers"])
    for g in groups.values():
        for side in ("bought", "not_bought"):
            g[side] = {a: dict(sorted(g[side].get(a, {}).items())) for a in AUDIENCE_ATTRS}
    empty = {"buyers": 0, "bought": {a: {} for a in AUDIENCE_ATTRS},
             "not_bought": {a: {} for a in AUDIENCE_ATTRS}}  # fmt: skip
    return {
        "store": store,
        "all": groups.pop("", empty),
        "sources": dict(sorted(groups.items())),
    }


# -- churned users and where they went --------------------------------------------------------
def destinations_expr(
    f: dict[str, ir.Table], window: Window, store: str, source: str | None = None
) -> ir.Table:
    """What this store's churned card clickers paid for in other stores in the range, one row
    per (category, other store, buyer): orders, items, gmv. Internal: never shown as is."""
    card = Card(f, window)
    c = in_window(card.views, window)
    c = c.filter(c.store == store)
    if source is not None:
        c = c.filter(c.source == source)
    churned = c.select("store", "buyer").distinct().anti_join(card.payers, ["store", "buyer"])
    churned = churned.select(c_buyer="buyer")
    p = in_window(card.pays.filter(card.pays.store != store), window)
    p = p.join(churned, p.buyer == churned.c_buyer).drop("c_buyer")
    items = f["order_items"].select("store", "order", "product", "share")
    j = left_join(p.select("store", "order", "buyer", "amount"), items, ["store", "order"])
    prods = f["products"].select("store", "product", "category")
    j = left_join(j, prods, ["store", "product"])
    j = j.mutate(
        category=ibis.ifelse(j.category.isnull() | (j.category == ""), UNKNOWN, j.category),
        gmv=j.share.fill_null(1.0) * j.amount,
    )
    return j.group_by(["category", "store", "buyer"]).aggregate(
        orders=j.order.nunique(), items=j.count(), gmv=j.gmv.sum()
    )


def clicked_categories_expr(f: dict[str, ir.Table], window: Window, store: str) -> ir.Table:
    """Categories of this store's products that got card clicks in the range."""
    c = in_window(Card(f, window).views, window)
    c = c.filter(c.store == store).select("store", "product").distinct()
    prods = f["products"].select("store", "product", "category")
    j = c.join(prods, ["store", "product"])
    return j.select("category").distinct()


def _bucket(rows: list[dict[str, Any]]) -> dict[str, Any]:
    buyers = {r["buyer"] for r in rows}
    gmv = sum(r["gmv"] or 0.0 for r in rows)
    items = sum(r["items"] for r in rows)
    return {
        "buyers": len(buyers),
        "stores": len({r["store"] for r in rows}),
        "orders": sum(r["orders"] for r in rows),
        "gmv": round(gmv, DIGITS) + 0.0,
        "avg_item_amount": round(gmv / items, DIGITS) + 0.0 if items else None,
    }


def churn(
    session: Session,
    store: str,
    window: Window = Window(),
    source: str | None = None,
    min_stores: int = MIN_STORES,
    min_buyers: int = MIN_BUYERS,
) -> dict[str, Any]:
    """`card_churned_users` of the range (optionally of one source) and where they went:
    other stores' purchases by category, thresholded so no store or buyer stands out."""
    scopes = ("total",) if source is None else ("source",)
    doc = session.metrics(window, scopes, store)["stores"].get(store, empty_store())
    values = doc["totals"] if source is None else doc["sources"].get(source, shape({}))
    rows = session.rows("destinations",
                        lambda f, w, s: destinations_expr(f, w, str(s), source), window, store,
                        source)  # fmt: skip
    clicked = {
        r["category"]
        for r in session.rows("clicked_categories",
                              lambda f, w, s: clicked_categories_expr(f, w, str(s)), window, store)
    }  # fmt: skip
    by_cat: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_cat.setdefault(r["category"], []).append(r)

    def shown(b: dict[str, Any]) -> bool:
        return b["stores"] >= min_stores and b["buyers"] >= min_buyers

    categories: list[dict[str, Any]] = []
    rest: list[dict[str, Any]] = []
    covered: set[str] = set()
    for cat, cat_rows in by_cat.items():
        b = _bucket(cat_rows)
        if shown(b):
            categories.append({"category": cat, "clicked_here": cat in clicked, **b})
            covered.update(r["buyer"] for r in cat_rows)
        else:
            rest.extend(cat_rows)
    categories.sort(key=lambda c: (-c["buyers"], -c["gmv"], c["category"]))
    if rest and shown(_bucket(rest)):
        categories.append({"category": OTHER, "clicked_here": False, **_bucket(rest)})
        covered.update(r["buyer"] for r in rest)
    for c in categories:
        del c["stores"]  # how many competitors is itself a hint; the threshold is enough
    elsewhere = {r["buyer"] for r in rows}
    visible = _bucket(rows)["stores"] >= min_stores
    return {
        "store": store,
        "source": source,
        "card_churned_users": values["card_churned_users"],
        "card_click_users": values["card_click_users"],
        "bought_elsewhere_users": len(elsewhere) if visible else None,
        "categories": categories if visible else [],
        "suppressed_buyers": len(elsewhere - covered) if visible else None,
        "thresholds": {"min_stores": min_stores, "min_buyers": min_buyers},
    }


def warm(session: Session, store: str, now_ms: int, clock: LocalTime) -> None:
    """Run once each report the 商品卡流量 tab asks for its default range (the store's last 14
    days), so their SQL is compiled before a supervisor opens the tab (the server's warm-up)."""
    last = date.fromisoformat(day_iso(clock.local(store, now_ms) // DAY_MS))
    first = last - timedelta(days=13)
    window = Window.days(first, last)
    period(session, store, first, last, ("total", "source"))
    for scope in ("day", "product"):
        session.metrics(window, (scope,), store)
    audience(session, store, window)
    churn(session, store, window)
    realtime(session, store, now_ms, clock)
