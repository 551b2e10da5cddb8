"""metrics.md §1 (store funnel), §2 (agent KPIs), §3 (3-minute reply rate), §6 (transfer entry).

Each metric is defined once, as an Ibis expression over the fact tables, and grouped by
scope: `total` (the store over the date range), `day` (store-local calendar day) and
`agent` (§6: `variant`, the 转人工 A/B arm, instead of agent). One query per part (a union
of its scopes) runs on DuckDB or Spark; `compute` assembles the metrics.json document.

Which day a number belongs to (readings; metrics.md says "per day" only):
messages — the message's day; rounds (`avg_response_s`) — the round's start;
conversation-level ids (`first_response_s`, `reply_rate`, `reply_3min_rate`, §6) — the day the
conversation opened; inquiries — the conversation's day, with its orders/payments in the
validity window after it; sales (`assisted_sales` … `aov`, `paid_amount`) — the payment's day;
`order_amount` — the order's day; `satisfaction_rate` — the rating's day.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from kefu.engine.settings import Config
from kefu.insight.backends import connect, register
from kefu.insight.derived import REPLY_LIMIT_S, WINDOW_END_MS, WINDOW_START_MS, Derived, left_join
from kefu.insight.derived import time_of_day as tod

STORE_IDS = (
    "inquiry_buyers",
    "inquiry_order_buyers",
    "inquiry_paid_buyers",
    "inquiry_to_order_rate",
    "order_to_pay_rate",
    "inquiry_to_pay_rate",
    "assisted_sales",
    "silent_sales",
    "store_sales",
    "assisted_share",
    "aov",
)
AGENT_IDS = (
    "consulted_buyers",
    "received_buyers",
    "inquiry_buyers",
    "inquiry_order_buyers",
    "inquiry_paid_buyers",
    "inquiry_to_order_rate",
    "inquiry_to_pay_rate",
    "order_amount",
    "paid_amount",
    "buyer_messages",
    "agent_messages",
    "qa_ratio",
    "first_response_s",
    "avg_response_s",
    "reply_rate",
    "satisfaction_rate",
    "reply_3min_rate",
)
TRANSFER_IDS = (
    "button_conversations",
    "transfer_clicks",
    "transfer_rate",
    "transfer_success_rate",
    "queue_wait_s",
    "queue_wait_p90_s",
    "transfer_failures",
)
URGE_IDS = (
    "urged_buyers",
    "urge_order_buyers",
    "urge_order_amount",
    "urge_paid_amount",
    "urge_conversion_rate",
)
GUIDE_IDS = (
    "guide_prompted_buyers",
    "guide_seen_buyers",
    "guide_view_rate",
    "guide_adopted_buyers",
    "guide_adoption_rate",
    "guide_browse_rate",
    "guide_pay_rate",
    "guide_gmv",
)
TOTAL_IDS = tuple(dict.fromkeys(STORE_IDS + AGENT_IDS + TRANSFER_IDS + URGE_IDS + GUIDE_IDS))
SCOPE_IDS = {
    "total": TOTAL_IDS,
    "day": TOTAL_IDS,
    "agent": AGENT_IDS + GUIDE_IDS,
    "variant": TRANSFER_IDS,
}
# Rates, shares, ratios and means are null when undefined; counts and amounts are 0.
NULLABLE = frozenset(
    i for i in TOTAL_IDS if i.endswith(("_rate", "_share", "_ratio", "_s")) or i == "aov"
)
# Money: always a float in the document (0.0, never 0).
AMOUNTS = frozenset(
    ("assisted_sales", "silent_sales", "store_sales", "aov", "order_amount", "paid_amount",
     "urge_order_amount", "urge_paid_amount", "guide_gmv")
)  # fmt: skip
DIGITS = 6
EPOCH = date(1970, 1, 1)

Aggs = Callable[[ir.Table], dict[str, ir.Value]]


# -- helpers ----------------------------------------------------------------------------------
def ratio(num: ir.NumericValue, den: ir.NumericValue) -> ir.FloatingValue:
    """num / den, NULL when den is 0 or NULL (metrics.md: never 0 for an empty denominator)."""
    return num.fill_null(0).cast("float64") / den.nullif(0).cast("float64")


def _in_range(t: ir.Table, col: str, lo: int | None, hi: int | None) -> ir.Table:
    if lo is not None:
        t = t.filter(t[col] >= lo)
    if hi is not None:
        t = t.filter(t[col] <= hi)
    return t


def _scoped(t: ir.Table, scopes: Iterable[str], agent: str = "agent") -> list[tuple[str, ir.Table]]:
    """The table once per scope, with the scope's grouping `key` as a string."""
    out: list[tuple[str, ir.Table]] = []
    for scope in scopes:
        if scope == "total":
            out.append((scope, t.mutate(key=ibis.literal(""))))
        elif scope == "day":
            out.append((scope, t.mutate(key=t.day.cast("string"))))
        else:
            col = agent if scope == "agent" else scope
            kept = t.filter(t[col].notnull())
            out.append((scope, kept.mutate(key=kept[col].cast("string"))))
    return out


def _rollup(scoped: list[tuple[str, ir.Table]], aggs: Aggs) -> ir.Table:
    """One aggregate per scope (group by store and key), unioned into one query."""
    parts = [
        t.group_by(["store", "key"]).aggregate(**aggs(t)).mutate(scope=ibis.literal(scope))
        for scope, t in scoped
    ]
    out = parts[0]
    for p in parts[1:]:
        out = out.union(p)
    return out


# -- the parts --------------------------------------------------------------------------------
def messages_part(d: Derived, lo: int | None, hi: int | None) -> ir.Table:
    """consulted_buyers, received_buyers, buyer_messages, agent_messages, qa_ratio (§2)."""
    m = _in_range(d.messages, "day", lo, hi)

    def aggs(t: ir.Table) -> dict[str, ir.Value]:
        is_buyer = t.sender == "buyer"
        return {
            "consulted_buyers": t.buyer.nunique(where=is_buyer & t.human),
            "received_buyers": t.buyer.nunique(where=t.sender == "agent"),
            "buyer_messages": t.sender.count(where=is_buyer),
            "agent_messages": t.sender.count(where=t.sender == "agent"),
        }

    r = _rollup(_scoped(m, ("total", "day", "agent")), aggs)
    return r.mutate(qa_ratio=ratio(r.agent_messages, r.buyer_messages))


def rounds_part(d: Derived, lo: int | None, hi: int | None) -> ir.Table:
    """avg_response_s: mean response time over answered rounds, by the round's agent (§2)."""
    r = _in_range(d.rounds, "day", lo, hi)
    return _rollup(
        _scoped(r, ("total", "day", "agent")),
        lambda t: {"avg_response_s": t.response_s.mean()},
    )


def replies_part(d: Derived, lo: int | None, hi: int | None) -> ir.Table:
    """first_response_s, reply_rate (§2) and reply_3min_rate (§3), per conversation and agent."""
    r = d.rounds
    within = r.answered & (r.response_s <= REPLY_LIMIT_S)
    bad = (r.in_window & ~within).cast("int64")
    ca = r.group_by(
        ["store", "cid", "agent", "buyer_initiated", "assigned_ms", "off_ms", "conv_day"]
    ).aggregate(
        answered_rounds=r.answered.cast("int64").sum(),
        bad_rounds=bad.sum(),
        first_rt=r.response_s.max(where=r.first & r.answered),
    )
    assigned_tod = tod(ca.assigned_ms + ca.off_ms)
    ca = ca.mutate(
        day=ca.conv_day,
        qualifies=ca.buyer_initiated
        & (assigned_tod >= WINDOW_START_MS)
        & (assigned_tod < WINDOW_END_MS),
    )
    ca = _in_range(ca, "day", lo, hi)
    # One row per conversation for the store and day scopes (a conversation moved between
    # agents has a row per agent in `ca`): plain counts instead of COUNT(DISTINCT), which
    # DuckDB runs as one extra aggregation per distinct count.
    cc = ca.group_by(["store", "cid", "day", "qualifies"]).aggregate(
        replied=(ca.answered_rounds > 0).any(),
        bad=(ca.bad_rounds > 0).any(),
        first_rt=ca.first_rt.max(),  # only the first round's agent has it
    )
    ca = ca.mutate(replied=ca.answered_rounds > 0, bad=ca.bad_rounds > 0)

    def aggs(t: ir.Table) -> dict[str, ir.Value]:  # rows unique per conversation (and agent)
        return {
            "first_response_s": t.first_rt.mean(),
            "_replied": t.cid.count(where=t.replied),
            "_with_rounds": t.cid.count(),
            "_r3_den": t.cid.count(where=t.qualifies),
            "_r3_bad": t.cid.count(where=t.qualifies & t.bad),
        }

    out = _rollup(_scoped(cc, ("total", "day")) + _scoped(ca, ("agent",)), aggs)
    return out.mutate(
        reply_rate=ratio(out._replied, out._with_rounds),
        reply_3min_rate=ratio(out._r3_den - out._r3_bad, out._r3_den),
    )


def ratings_part(d: Derived, lo: int | None, hi: int | None) -> ir.Table:
    """satisfaction_rate: ratings ≥ 4 / all ratings, by the rated (or last) agent (§2)."""
    r = d.f["ratings"]
    conv = d.conversations.select("cid", "last_agent")
    r = left_join(r, conv, ["cid"])
    r = r.mutate(agent=r.agent.fill_null(r.last_agent), day=r.local_ms // 86_400_000)
    r = _in_range(r.mutate(day=r.day.cast("int64")), "day", lo, hi)

    def aggs(t: ir.Table) -> dict[str, ir.Value]:
        return {"_good": t.score.count(where=t.score >= 4), "_ratings": t.score.count()}

    out = _rollup(_scoped(r, ("total", "day", "agent")), aggs)
    return out.mutate(satisfaction_rate=ratio(out._good, out._ratings))


def funnel_part(d: Derived, lo: int | None, hi: int | None) -> ir.Table:
    """inquiry_buyers → inquiry_order_buyers → inquiry_paid_buyers and their rates (§1, §2)."""
    inq = _in_range(d.inquiries, "day", lo, hi)
    o = d.orders
    created = o.filter(o.ts_ms.notnull()).select(
        "store", "buyer", "order_agent", "credited", o_ms=o.ts_ms, o_day=o.day, p_day=o.pay_day
    )
    cols = ["store", "buyer", "day", "ordered", "paid"]

    def matched(rows: ir.Table) -> ir.Table:
        j = rows.join(created, ["store", "buyer"])
        lag = j.o_day - j.day
        j = j.filter((j.o_ms >= j.opened_ms) & (lag < j.validity_days))
        pay_lag = j.p_day - j.day
        in_window = j.p_day.notnull() & (pay_lag >= 0) & (pay_lag < j.validity_days)
        return j.mutate(paid_in_window=in_window.fill_null(False))

    store_rows = inq.mutate(ordered=ibis.literal(False), paid=ibis.literal(False)).select(cols)
    hits = matched(inq)
    store_rows = store_rows.union(
        hits.mutate(ordered=ibis.literal(True), paid=hits.paid_in_window).select(cols)
    )
    inq_a = inq.join(d.conversation_agents, "cid")
    agent_cols = [*cols, "agent"]
    agent_rows = inq_a.mutate(ordered=ibis.literal(False), paid=ibis.literal(False)).select(
        agent_cols
    )
    ahits = matched(inq_a)
    agent_rows = agent_rows.union(
        ahits.mutate(
            ordered=(ahits.order_agent == ahits.agent).fill_null(False),
            paid=(ahits.paid_in_window & (ahits.credited == ahits.agent)).fill_null(False),
        ).select(agent_cols)
    )

    def aggs(t: ir.Table) -> dict[str, ir.Value]:
        return {
            "inquiry_buyers": t.buyer.nunique(),
            "inquiry_order_buyers": t.buyer.nunique(where=t.ordered),
            "inquiry_paid_buyers": t.buyer.nunique(where=t.paid),
        }

    scoped = _scoped(store_rows, ("total", "day")) + _scoped(agent_rows, ("agent",))
    out = _rollup(scoped, aggs)
    return out.mutate(
        inquiry_to_order_rate=ratio(out.inquiry_order_buyers, out.inquiry_buyers),
        order_to_pay_rate=ratio(out.inquiry_paid_buyers, out.inquiry_order_buyers),
        inquiry_to_pay_rate=ratio(out.inquiry_paid_buyers, out.inquiry_buyers),
    )


def sales_part(d: Derived, lo: int | None, hi: int | None) -> ir.Table:
    """assisted/silent/store sales, assisted_share, aov (§1); paid_amount per agent (§2)."""
    o = d.orders
    paid = o.filter(o.pay_ms.notnull())
    paid = _in_range(paid.mutate(day=paid.pay_day, agent=paid.credited), "day", lo, hi)

    def aggs(t: ir.Table) -> dict[str, ir.Value]:
        return {
            "assisted_sales": t.pay_amount.sum(where=t.credited.notnull()),
            "silent_sales": t.pay_amount.sum(where=t.credited.isnull()),
            "store_sales": t.pay_amount.sum(),
            "_paying_buyers": t.buyer.nunique(),
        }

    out = _rollup(_scoped(paid, ("total", "day", "agent")), aggs)
    return out.mutate(
        paid_amount=out.assisted_sales.fill_null(0.0),
        assisted_share=ratio(out.assisted_sales, out.store_sales),
        aov=ratio(out.store_sales, out._paying_buyers),
    )


def orders_part(d: Derived, lo: int | None, hi: int | None) -> ir.Table:
    """order_amount: amount of orders credited (order rule) to an agent, by order day (§2)."""
    o = d.orders
    made = o.filter(o.ts_ms.notnull())
    made = _in_range(made.mutate(agent=made.order_agent), "day", lo, hi)
    return _rollup(
        _scoped(made, ("total", "day", "agent")),
        lambda t: {"order_amount": t.amount.sum(where=t.order_agent.notnull())},
    )


def transfer_part(d: Derived, lo: int | None, hi: int | None) -> ir.Table:
    """button_conversations, transfer_clicks/rate/success_rate, transfer_failures (§6)."""
    tr = d.f["transfers"]
    requested = tr.kind.isin(["assigned", "queued", "failed"])
    per = tr.group_by("cid").aggregate(
        clicks=tr.kind.count(where=tr.kind == "click"),
        failures=tr.kind.count(where=tr.kind == "failed"),
        req_ms=tr.ts_ms.min(where=requested),
    )
    c = d.conversations.select("store", "cid", "day", "variant", "button_shown", "la_ts")
    t = _in_range(left_join(c, per, ["cid"]), "day", lo, hi)
    t = t.mutate(
        offered=t.button_shown.fill_null(False),
        clicks=t.clicks.fill_null(0),
        failures=t.failures.fill_null(0),
    )

    def aggs(t: ir.Table) -> dict[str, ir.Value]:
        asked = t.req_ms.notnull()
        return {
            "button_conversations": t.cid.nunique(where=t.offered),
            "transfer_clicks": t.clicks.sum(),
            "transfer_failures": t.failures.sum(),
            "_clicked": t.cid.nunique(where=t.offered & (t.clicks > 0)),
            "_asked": t.cid.nunique(where=asked),
            "_served": t.cid.nunique(where=asked & (t.la_ts >= t.req_ms).fill_null(False)),
        }

    out = _rollup(_scoped(t, ("total", "day", "variant")), aggs)
    return out.mutate(
        transfer_rate=ratio(out._clicked, out.button_conversations),
        transfer_success_rate=ratio(out._served, out._asked),
    )


def queue_part(d: Derived, lo: int | None, hi: int | None) -> ir.Table:
    """queue_wait_s (mean) and queue_wait_p90_s: queued → assigned, or → left the queue (§6)."""
    tr, a = d.f["transfers"], d.f["assignments"]
    q = tr.filter(tr.kind == "queued").select("cid", q_ts="ts_ms")
    j = q.join(a.select("cid", a_ts="ts_ms"), "cid")
    served = j.filter(j.a_ts >= j.q_ts).group_by(["cid", "q_ts"]).aggregate(a_ts=j.a_ts.min())
    waits = served.select("cid", wait_ms=served.a_ts - served.q_ts).union(
        tr.filter(tr.kind == "leave").select("cid", wait_ms="waited_ms")
    )
    c = d.conversations.select("store", "cid", "day", "variant")
    w = _in_range(waits.join(c, "cid"), "day", lo, hi)
    w = w.mutate(wait_s=w.wait_ms.cast("float64") / 1000.0)
    return _rollup(
        _scoped(w, ("total", "day", "variant")),
        lambda t: {"queue_wait_s": t.wait_s.mean(), "queue_wait_p90_s": t.wait_s.quantile(0.9)},
    )


def urge_part(d: Derived, lo: int | None, hi: int | None) -> ir.Table:
    """metrics.md §5 (seed 002): urges and the orders and payments they led to.

    An order counts when the urged buyer placed it after an urge, on the urge's day or the
    next; its payment counts when made by the end of that next day. Orders and payments are
    counted on the day they happened, not on the urge's day. With several qualifying urges
    the latest urge day sets the payment window.
    """
    u = d.f["urges"]
    sends = u.filter(u.kind == "send")
    sends = sends.mutate(day=(sends.local_ms // 86_400_000).cast("int64"))
    o = d.f["orders"]
    o = o.mutate(day=(o.local_ms // 86_400_000).cast("int64"))
    j = o.join(sends.select("store", "buyer", u_ts="ts_ms", u_day="day"), ["store", "buyer"])
    j = j.filter((j.ts_ms >= j.u_ts) & (j.day - j.u_day >= 0) & (j.day - j.u_day <= 1))
    urged_orders = j.group_by(["store", "order", "buyer", "amount", "day", "ts_ms"]).aggregate(
        u_day=j.u_day.max()
    )
    p = d.f["payments"]
    p = p.mutate(day=(p.local_ms // 86_400_000).cast("int64"))
    paid = p.join(
        urged_orders.select("store", "order", o_ts="ts_ms", u_day="u_day"), ["store", "order"]
    )
    paid = paid.filter((paid.ts_ms >= paid.o_ts) & (paid.day <= paid.u_day + 1))
    pieces = [
        sends.select("store", "day", buyer_u=sends.buyer, buyer_o=ibis.null("string"),
                     o_amount=ibis.null("float64"), p_amount=ibis.null("float64")),
        urged_orders.select("store", "day", buyer_u=ibis.null("string"), buyer_o="buyer",
                            o_amount="amount", p_amount=ibis.null("float64")),
        paid.select("store", "day", buyer_u=ibis.null("string"), buyer_o=ibis.null("string"),
                    o_amount=ibis.null("float64"), p_amount="amount"),
    ]  # fmt: skip
    t = pieces[0].union(pieces[1]).union(pieces[2])
    t = _in_range(t, "day", lo, hi)

    def aggs(x: ir.Table) -> dict[str, ir.Value]:
        return {
            "urged_buyers": x.buyer_u.nunique(),
            "urge_order_buyers": x.buyer_o.nunique(),
            "urge_order_amount": x.o_amount.sum(),
            "urge_paid_amount": x.p_amount.sum(),
        }

    out = _rollup(_scoped(t, ("total", "day")), aggs)
    return out.mutate(urge_conversion_rate=ratio(out.urge_order_buyers, out.urged_buyers))


def guide_part(d: Derived, lo: int | None, hi: int | None) -> ir.Table:
    """metrics.md §4 (seed 000), buyer-level, per agent and store, on the first panel's day.

    Prompted: a `guide.panel` for the agent. Seen: a `guide.view` by that agent after it.
    Adopted: seen, and the agent sent ≥ 1 of the recommended (non-inquired) items after it.
    Browsed / paid: the buyer then viewed / paid for a sent recommended item within the
    validity window from the send (`insight.validity_days`); GMV is those items' amounts.
    """
    g, settings = d.f["guide"], d.f["settings"].select("store", "validity_days")
    panels = g.filter(g.kind == "panel")
    keys = ["store", "agent", "buyer"]
    first = panels.group_by(keys).aggregate(p_ts=panels.ts_ms.min(), p_local=panels.local_ms.min())
    first = first.mutate(day=(first.p_local // 86_400_000).cast("int64"))
    rec = panels.filter(panels.product.notnull()).select(*keys, "product").distinct()
    views = g.filter(g.kind == "view").select(*keys, v_ts="ts_ms")
    seen = views.join(first, keys).filter(lambda t: t.v_ts >= t.p_ts).select(*keys).distinct()
    sends = g.filter(g.kind == "send").select(*keys, "product", s_ts="ts_ms", s_local="local_ms")
    sends = sends.join(rec, [*keys, "product"]).join(first.select(*keys, "p_ts"), keys)
    sends = sends.filter(sends.s_ts >= sends.p_ts).join(settings, ["store"])
    sends = sends.mutate(last_day=(sends.s_local // 86_400_000).cast("int64")
                         + sends.validity_days - 1)  # fmt: skip
    adopted = sends.select(*keys).distinct().join(seen, keys).select(*keys).distinct()
    iv = d.f["item_views"].select("store", "buyer", "product", iv_ts="ts_ms", iv_local="local_ms")
    browsed = sends.join(iv, ["store", "buyer", "product"])
    browsed = browsed.filter(
        (browsed.iv_ts >= browsed.s_ts)
        & ((browsed.iv_local // 86_400_000).cast("int64") <= browsed.last_day)
    )
    browsed = browsed.select(*keys).distinct()
    oi, pay = d.f["order_items"], d.f["payments"]
    paid_items = oi.join(pay.select("store", "order", pay_ts="ts_ms", pay_local="local_ms"),
                         ["store", "order"])  # fmt: skip
    bought = sends.join(paid_items.select("store", "buyer", "product", "order", "amount",
                                          "pay_ts", "pay_local"),
                        ["store", "buyer", "product"])  # fmt: skip
    bought = bought.filter(
        (bought.pay_ts >= bought.s_ts)
        & ((bought.pay_local // 86_400_000).cast("int64") <= bought.last_day)
    )
    bought = bought.select(*keys, "order", "product", "amount").distinct()
    gmv = bought.group_by(keys).aggregate(gmv=bought.amount.sum())
    flags = first.select(*keys, "day")
    for name, t in (("is_seen", seen), ("is_adopted", adopted), ("is_browsed", browsed)):
        flags = left_join(flags, t.mutate(**{name: ibis.literal(1)}), keys)
    flags = left_join(flags, gmv, keys)
    flags = _in_range(flags, "day", lo, hi)

    def aggs(t: ir.Table) -> dict[str, ir.Value]:
        adopted_b = t.is_adopted.notnull()
        return {
            "guide_prompted_buyers": t.buyer.nunique(),
            "guide_seen_buyers": t.buyer.nunique(where=t.is_seen.notnull()),
            "guide_adopted_buyers": t.buyer.nunique(where=adopted_b),
            "_browsed": t.buyer.nunique(where=adopted_b & t.is_browsed.notnull()),
            "_paid": t.buyer.nunique(where=adopted_b & t.gmv.notnull()),
            "guide_gmv": t.gmv.sum(where=adopted_b),
        }

    out = _rollup(_scoped(flags, ("total", "day", "agent")), aggs)
    return out.mutate(
        guide_view_rate=ratio(out.guide_seen_buyers, out.guide_prompted_buyers),
        guide_adoption_rate=ratio(out.guide_adopted_buyers, out.guide_seen_buyers),
        guide_browse_rate=ratio(out._browsed, out.guide_adopted_buyers),
        guide_pay_rate=ratio(out._paid, out.guide_adopted_buyers),
    )


PARTS = (
    messages_part,
    rounds_part,
    replies_part,
    ratings_part,
    funnel_part,
    sales_part,
    orders_part,
    transfer_part,
    queue_part,
    urge_part,
    guide_part,
)


# -- assembly ---------------------------------------------------------------------------------
def settings_table(stores: Iterable[str], config: Config) -> pa.Table:
    """The `[insight]` settings of each store, joined into the expressions (per-store values)."""
    names = sorted(set(stores))
    ins = [config.for_store(s).insight for s in names]
    return pa.table(
        {
            "store": pa.array(names, pa.string()),
            "attribution": pa.array([i.attribution for i in ins], pa.string()),
            "validity_days": pa.array([i.validity_days for i in ins], pa.int64()),
            "proactive_excluded": pa.array([i.proactive_excluded for i in ins], pa.bool_()),
        }
    )


def stores_of(tables: dict[str, pa.Table]) -> list[str]:
    """Every store named in the fact tables."""
    seen: set[str] = set()
    for name in ("conversations", "orders", "payments", "ratings"):
        seen.update(s for s in tables[name].column("store").to_pylist() if s is not None)
    return sorted(seen)


def day_number(d: date | str) -> int:
    """Days since 1970-01-01 of a calendar date (or YYYY-MM-DD)."""
    value = date.fromisoformat(d) if isinstance(d, str) else d
    return (value - EPOCH).days


def _clean(metric: str, value: Any) -> Any:
    if value is None:
        return None if metric in NULLABLE else (0.0 if metric in AMOUNTS else 0)
    if isinstance(value, float) or metric in AMOUNTS:
        value = float(value)
        if value != value:  # NaN never reaches the document
            return None
        value = round(value, DIGITS)
        return value + 0.0  # -0.0 → 0.0
    return int(value)


PART_NAMES = {p.__name__.removesuffix("_part"): p for p in PARTS}


def expressions(
    tables: dict[str, Any],
    lo: int | None = None,
    hi: int | None = None,
    materialize: bool = False,
    parts: Iterable[str] | None = None,
) -> list[ir.Table]:
    """Each part's Ibis expression over registered fact tables (plus `settings`); `parts`
    chooses some by name (`messages`, `replies`, `funnel` …), default all."""
    d = Derived(tables, materialize)
    chosen = PARTS if parts is None else [PART_NAMES[name] for name in parts]
    return [part(d, lo, hi) for part in chosen]


def compute(
    tables: dict[str, pa.Table],
    config: Config | None = None,
    backend: str = "duckdb",
    day_from: date | str | None = None,
    day_to: date | str | None = None,
    con: Any = None,
    materialize: bool = True,
    stores: Iterable[str] | None = None,
    parts: Iterable[str] | None = None,
) -> dict[str, Any]:
    """The metrics.json document `{"stores": {store: {totals, days, agents, variants}}}`.

    `materialize` computes the shared building blocks (conversations, rounds, messages,
    orders) once as temporary tables instead of once per part: about 2x faster (one part
    alone is never materialized). `stores`:
    the stores the document lists (default: those in the tables). `parts`: only these parts
    (`PART_NAMES`); the other ids are then absent or 0/null.
    """
    cfg = config or Config()
    chosen = list(parts) if parts is not None else None
    # Materializing pays when several parts share the blocks; one part alone runs faster as
    # one pipelined query (DuckDB pushes its projections and filters through).
    materialize = materialize and (chosen is None or len(chosen) > 1)
    stores = sorted(set(stores_of(tables)) | set(stores or ()))
    all_tables = {**tables, "settings": settings_table(stores, cfg)}
    own = con is None
    con = con if con is not None else connect(backend)
    registered = register(con, all_tables)
    lo = day_number(day_from) if day_from is not None else None
    hi = day_number(day_to) if day_to is not None else None
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    if own and con.name == "duckdb":
        results = [con.con.sql(q).to_arrow_table() for q in _sql(con, registered, lo, hi, chosen)]
    else:
        results = [con.to_pyarrow(e) for e in expressions(registered, lo, hi, materialize, chosen)]
    for result in results:
        for row in result.to_pylist():
            slot = found.setdefault((row.pop("store"), row.pop("scope"), row.pop("key")), {})
            slot.update(row)
    return document(stores, found)


# Compiled SQL per (range, parts, table schemas): building and compiling the Ibis
# expressions costs ~3 s, running them on a store's facts well under one (issue #19). The
# tables are registered under fixed names (`kefu_<name>`) and every setting the metrics read
# is data (the `settings` table), so the same text serves any facts of the same shape.
_SQL: OrderedDict[tuple[Any, ...], list[str]] = OrderedDict()
_SQL_LOCK = threading.Lock()
_SQL_KEPT = 64


# The day range enters the expressions only as `day >= lo` / `day <= hi` (`_in_range`), so
# the text is compiled once with these stand-ins and the real days are put in its place: any
# range of a store shares one compilation.
_LO, _HI = 1_987_654_301, 1_987_654_329


def _sql(
    con: Any, registered: dict[str, Any], lo: int | None, hi: int | None, parts: Any
) -> list[str]:
    """The DuckDB SQL of each part (one pipelined query each), compiled once per shape."""
    shape = tuple(sorted((name, str(t.schema())) for name, t in registered.items()))
    key = (lo is None, hi is None, tuple(parts) if parts is not None else None, shape)
    with _SQL_LOCK:
        compiled = _SQL.get(key)
        if compiled is not None:
            _SQL.move_to_end(key)
    if compiled is None:
        stand_lo = None if lo is None else _LO
        stand_hi = None if hi is None else _HI
        exprs = expressions(registered, stand_lo, stand_hi, False, parts)
        compiled = [str(con.compile(e)) for e in exprs]
        with _SQL_LOCK:
            _SQL[key] = compiled
            while len(_SQL) > _SQL_KEPT:
                _SQL.popitem(last=False)
    return [q.replace(str(_LO), str(lo)).replace(str(_HI), str(hi)) for q in compiled]


def warm_sql(parts: Iterable[Iterable[str] | None] = (None,)) -> None:
    """Compile the report SQL of every range shape ahead (the server's start-up thread), so
    the first report a supervisor opens does not pay the ~3 s compilation."""
    from kefu.insight.facts import empty_tables

    con = connect("duckdb")
    registered = register(con, {**empty_tables(), "settings": settings_table([], Config())})
    for chosen in parts:
        for lo, hi in ((0, 0), (None, None)):  # what the web app and the CLI ask most
            _sql(con, registered, lo, hi, list(chosen) if chosen is not None else None)


def document(
    stores: Iterable[str], found: dict[tuple[str, str, str], dict[str, Any]]
) -> dict[str, Any]:
    """Assemble rows (store, scope, key) → values into the sorted, rounded document."""
    out: dict[str, Any] = {}
    for store in sorted(stores):
        out[store] = {"totals": {}, "days": {}, "agents": {}, "variants": {}}
    for (store, scope, key), values in found.items():
        if store not in out:
            out[store] = {"totals": {}, "days": {}, "agents": {}, "variants": {}}
        ids = SCOPE_IDS[scope]
        shaped = {i: _clean(i, values.get(i)) for i in ids}
        if scope == "total":
            out[store]["totals"] = shaped
        elif scope == "day":
            iso = (EPOCH + timedelta(days=int(key))).isoformat()
            out[store]["days"][iso] = shaped
        elif scope == "agent":
            out[store]["agents"][key] = shaped
        else:
            out[store]["variants"][key] = shaped
    for store, doc in out.items():
        if not doc["totals"]:
            doc["totals"] = {i: _clean(i, None) for i in TOTAL_IDS}
        for section in ("days", "agents", "variants"):
            doc[section] = dict(sorted(doc[section].items()))
        out[store] = doc
    return {"stores": dict(sorted(out.items()))}
