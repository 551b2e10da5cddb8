"""The 转人工 hand-off report (rules.md §1.4–§1.5, metrics.md §6): each A/B arm, rollout
bucket band and store tier, with 95 % confidence intervals for the A/B difference.

Pipeline: events → the engine (as `kefu replay` runs it) → fact tables (`kefu.insight.facts`
plus a `handoff` table: every `handoff.button` decision with its bucket and the store tier at
that moment) → Ibis expressions on DuckDB → counts per group → rates and intervals here.

Readings (written down in docs/handoff_report.md):
- The population is the conversations whose first reply came from the bot: exactly those
  with a `handoff.button` decision. Their variant, bucket and tier are the decision's.
- `transfer_rate` (metrics.md §6): offered conversations with a click / offered. In the
  "no button" arm nothing is offered, so the arms are compared on `transfer_request_rate`:
  conversations with a transfer request the engine routed (click or words) / conversations
  (intention to treat: the arm's whole population).
- `transfer_success_rate`: requested conversations that a person held after the request
  (assigned at once or queued, then assigned) / requested conversations.
- `queue_wait_s`: queued → assigned, or → left the queue unserved (a wait cut short by
  leaving still counts, else a long queue looks short); as `kefu insight` computes it.
- `human_served_share`: conversations with an agent message / conversations.
- `reassignments` / `reassigned_conversations`: `assign`s with reason `reassign:timeout`
  (rules.md §2 reply timeout: the serving person left the buyer unanswered) and the
  conversations that had at least one.
- `satisfaction_rate`: ratings ≥ 4 / ratings (metrics.md §2), ratings of the group's
  conversations. (`review` events rate products, not service: not counted.)
- `inquiry_to_order_rate` (metrics.md §1): inquiry buyers of the group (human,
  buyer-initiated or proactive unless excluded) who ordered within the validity window.
  Being an inquiry is itself an outcome of the arm, so `buyer_order_rate` (every buyer of the
  group) is the unbiased comparison; both are reported.
- Days: a conversation belongs to the store-local day it opened; everything about it
  (clicks, waits, ratings, orders in its window) follows it.
- Intervals: Newcombe's hybrid score interval (from two Wilson intervals) for proportions,
  Welch's t interval for means. Units (conversations, ratings, buyers) are taken as
  independent; a buyer's conversations share one arm, so with many returning buyers the
  intervals are a little narrow.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from scipy import stats

from kefu.conversations.routing import REASSIGN_TIMEOUT
from kefu.engine.events import Event
from kefu.engine.readers import ReadStats
from kefu.engine.settings import Config
from kefu.insight.backends import connect, register
from kefu.insight.derived import Derived, day_of, left_join
from kefu.insight.facts import FactsBuilder
from kefu.insight.metrics import day_number, settings_table, stores_of
from kefu.runtime.registry import default_engine
from kefu.runtime.replay import load_sorted, run

Progress = Callable[[int, int], None]

BANDS = (5, 10, 20, 50, 100)  # seed 003's rollout steps: 5 → 10 → 20 → 50 → 100 %
CONFIDENCE = 0.95
DIGITS = 6
TREATMENT = "button"
CONTROLS = ("no_button", "outside_rollout")  # random splits by stable hash; tiers are not
DIMENSIONS = ("variant", "bucket", "tier")
SECTIONS = {"total": "totals", "variant": "variants", "bucket": "buckets", "tier": "tiers"}

# Rates: id → (numerator id, denominator id); the denominator is the rate's n.
RATES: dict[str, tuple[str, str]] = {
    "transfer_rate": ("clicked_conversations", "button_conversations"),
    "transfer_request_rate": ("transfer_requests", "conversations"),
    "transfer_success_rate": ("served_requests", "transfer_requests"),
    "human_served_share": ("human_served_conversations", "conversations"),
    "satisfaction_rate": ("good_ratings", "ratings"),
    "buyer_order_rate": ("order_buyers", "buyers"),
    "inquiry_to_order_rate": ("inquiry_order_buyers", "inquiry_buyers"),
}
MEANS = {"queue_wait_s": "queue_waits", "queue_wait_p90_s": "queue_waits"}
ROW_IDS = (
    "conversations",
    "button_conversations",
    "transfer_clicks",
    "clicked_conversations",
    "transfer_rate",
    "transfer_requests",
    "transfer_request_rate",
    "served_requests",
    "transfer_success_rate",
    "transfer_failures",
    "queue_waits",
    "queue_wait_s",
    "queue_wait_p90_s",
    "human_served_conversations",
    "human_served_share",
    "reassignments",
    "reassigned_conversations",
    "ratings",
    "good_ratings",
    "satisfaction_rate",
    "buyers",
    "order_buyers",
    "buyer_order_rate",
    "inquiry_buyers",
    "inquiry_order_buyers",
    "inquiry_to_order_rate",
)
COUNT_IDS = tuple(i for i in ROW_IDS if i not in RATES and i not in MEANS)
# What the A/B difference is computed for, in display order: (id, method).
AB_METRICS = (
    ("transfer_request_rate", "newcombe"),
    ("transfer_success_rate", "newcombe"),
    ("queue_wait_s", "welch"),
    ("human_served_share", "newcombe"),
    ("satisfaction_rate", "newcombe"),
    ("buyer_order_rate", "newcombe"),
    ("inquiry_to_order_rate", "newcombe"),
)


def n_of(metric: str) -> str | None:
    """The id holding a rate's or mean's n (None for counts)."""
    if metric in RATES:
        return RATES[metric][1]
    return MEANS.get(metric)


# -- facts --------------------------------------------------------------------------------------
def facts_from_events(
    events: Iterable[Event], config: Config, on_progress: Progress | None = None, total: int = 0
) -> dict[str, pa.Table]:
    """Replay time-ordered `events` with the engine; the report's fact tables."""
    builder = FactsBuilder(config)
    run(events, default_engine(config), builder, on_progress, total)
    return {**builder.tables(), "handoff": builder.handoff()}


def facts_from_log(
    source: str | Path, config: Config, on_progress: Progress | None = None
) -> tuple[dict[str, pa.Table], ReadStats]:
    """Read and replay a log (JSON Lines, .jsonl.gz, Parquet); tables and read statistics."""
    read = ReadStats()
    events = load_sorted(source, read)
    return facts_from_events(events, config, on_progress, len(events)), read


def facts_from_db(db: Any, store: str, config: Config) -> dict[str, pa.Table]:
    """The report's fact tables of `store` from what the live service committed (its log and
    outbox, `kefu.insight.decisions`): no rules run again. The server reads the roll-ups
    instead (`Rollups.facts(..., handoff=True)`: only the range's buyers)."""
    from kefu.insight.from_db import facts_from_db as insight_facts

    return insight_facts(db, store, config, handoff=True)


# -- expressions --------------------------------------------------------------------------------
def band_labels(edges: Sequence[int]) -> list[tuple[int, int, str]]:
    """(low, high, label) per band of buckets 0–99: edges 5, 10 → "00-04", "05-09", "10-99"."""
    cuts = [*sorted({int(e) for e in edges if 0 < int(e) < 100}), 100]
    out, low = [], 0
    for high in cuts:
        out.append((low, high, f"{low:02d}-{high - 1:02d}"))
        low = high
    return out


def _base(d: Derived, bands: Sequence[int], lo: int | None, hi: int | None) -> ir.Table:
    """One row per conversation with a button decision: its groups and outcome flags."""
    h, tr, m = d.f["handoff"], d.f["transfers"], d.f["messages"]
    c = d.conversations.select(
        "cid", "buyer", "day", "opened_ms", "la_ts", "human", "buyer_initiated", "proactive",
        "proactive_excluded", "validity_days",
    )  # fmt: skip
    t = h.join(c, "cid")
    if lo is not None:
        t = t.filter(t.day >= lo)
    if hi is not None:
        t = t.filter(t.day <= hi)
    requested = tr.kind.isin(["assigned", "queued", "failed"])
    per = tr.group_by("cid").aggregate(
        clicks=tr.kind.count(where=tr.kind == "click"),
        failures=tr.kind.count(where=tr.kind == "failed"),
        req_ms=tr.ts_ms.min(where=requested),
    )
    spoke = m.filter(m.sender == "agent").group_by("cid").aggregate(agent_msgs=m.seq.count())
    a = d.f["assignments"]
    moved = (
        a.filter(a.reason == REASSIGN_TIMEOUT).group_by("cid").aggregate(reassigns=a.cid.count())
    )
    o = d.f["orders"]
    orders = o.select("store", "buyer", o_ms=o.ts_ms, o_day=day_of(o.local_ms))
    j = t.select("cid", "store", "buyer", "day", "opened_ms", "validity_days").join(
        orders, ["store", "buyer"]
    )
    j = j.filter((j.o_ms >= j.opened_ms) & (j.o_day - j.day < j.validity_days))
    ordered = j.group_by("cid").aggregate(orders=j.o_ms.count())
    t = left_join(left_join(left_join(t, per, ["cid"]), spoke, ["cid"]), ordered, ["cid"])
    t = left_join(t, moved, ["cid"])
    band = ibis.cases(*[(t.bucket < high, label) for _, high, label in band_labels(bands)])
    clicks = t.clicks.fill_null(0)
    asked = t.req_ms.notnull()
    inquiry = t.human & (t.buyer_initiated | (t.proactive & ~t.proactive_excluded)).fill_null(False)
    return t.mutate(
        band=band,
        clicks=clicks,
        failures=t.failures.fill_null(0),
        reassigns=t.reassigns.fill_null(0),
        clicked=t.shown & (clicks > 0),
        asked=asked,
        served=asked & (t.la_ts >= t.req_ms).fill_null(False),
        agent_served=t.agent_msgs.fill_null(0) > 0,
        ordered=t.orders.fill_null(0) > 0,
        inquiry=inquiry.fill_null(False),
    )


def _scoped(t: ir.Table) -> list[tuple[str, ir.Table]]:
    """The table once per dimension, with its group as `key` (the total's key is "")."""
    cols = {"total": ibis.literal(""), "variant": t.variant, "bucket": t.band, "tier": t.tier}
    return [(dim, t.mutate(key=col.cast("string"))) for dim, col in cols.items()]


def _rollup(t: ir.Table, aggs: Callable[[ir.Table], dict[str, ir.Value]]) -> ir.Table:
    """Aggregate per (store, key) for every dimension, unioned into one query."""
    parts = [
        s.group_by(["store", "key"]).aggregate(**aggs(s)).mutate(dim=ibis.literal(dim))
        for dim, s in _scoped(t)
    ]
    out = parts[0]
    for p in parts[1:]:
        out = out.union(p)
    return out


def _conversation_counts(b: ir.Table) -> ir.Table:
    def aggs(t: ir.Table) -> dict[str, ir.Value]:
        return {
            "conversations": t.cid.count(),
            "button_conversations": t.cid.count(where=t.shown),
            "transfer_clicks": t.clicks.sum(),
            "clicked_conversations": t.cid.count(where=t.clicked),
            "transfer_requests": t.cid.count(where=t.asked),
            "served_requests": t.cid.count(where=t.served),
            "transfer_failures": t.failures.sum(),
            "human_served_conversations": t.cid.count(where=t.agent_served),
            "reassignments": t.reassigns.sum(),
            "reassigned_conversations": t.cid.count(where=t.reassigns > 0),
            "buyers": t.buyer.nunique(),
            "order_buyers": t.buyer.nunique(where=t.ordered),
            "inquiry_buyers": t.buyer.nunique(where=t.inquiry),
            "inquiry_order_buyers": t.buyer.nunique(where=t.inquiry & t.ordered),
        }

    return _rollup(b, aggs)


def _queue_waits(d: Derived, b: ir.Table) -> ir.Table:
    """Queued → first assignment after it, or → left the queue (`queue.leave`)."""
    tr, a = d.f["transfers"], d.f["assignments"]
    q = tr.filter(tr.kind == "queued").select("cid", q_ts="ts_ms")
    j = q.join(a.select("cid", a_ts="ts_ms"), "cid")
    served = j.filter(j.a_ts >= j.q_ts).group_by(["cid", "q_ts"]).aggregate(a_ts=j.a_ts.min())
    waits = served.select("cid", wait_ms=served.a_ts - served.q_ts).union(
        tr.filter(tr.kind == "leave").select("cid", wait_ms="waited_ms")
    )
    w = waits.join(b.select("cid", "store", "variant", "band", "tier"), "cid")
    w = w.mutate(wait_s=w.wait_ms.cast("float64") / 1000.0)
    return _rollup(
        w,
        lambda t: {
            "queue_waits": t.wait_s.count(),
            "queue_wait_s": t.wait_s.mean(),
            "queue_wait_p90_s": t.wait_s.quantile(0.9),
            "_wait_var": t.wait_s.var(how="sample"),
        },
    )


def _ratings(d: Derived, b: ir.Table) -> ir.Table:
    r = d.f["ratings"]
    r = r.filter(r.cid.notnull()).select("cid", "score")
    r = r.join(b.select("cid", "store", "variant", "band", "tier"), "cid")
    return _rollup(
        r, lambda t: {"ratings": t.score.count(), "good_ratings": t.score.count(where=t.score >= 4)}
    )


def expressions(
    tables: dict[str, Any], bands: Sequence[int] = BANDS, lo: int | None = None,
    hi: int | None = None,
) -> list[ir.Table]:  # fmt: skip
    """The report's three queries over registered tables (facts, `handoff`, `settings`)."""
    d = Derived(tables)
    b = _base(d, bands, lo, hi)
    return [_conversation_counts(b), _queue_waits(d, b), _ratings(d, b)]


# -- statistics ---------------------------------------------------------------------------------
def _z(confidence: float) -> float:
    return float(stats.norm.ppf(0.5 + confidence / 2))


def wilson(x: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval of a proportion x/n (n > 0)."""
    z = _z(confidence)
    p = x / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(
    x1: int, n1: int, x2: int, n2: int, confidence: float = CONFIDENCE
) -> tuple[float, float, float]:
    """p1 − p2 and Newcombe's hybrid score interval (method 10, from Wilson intervals)."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1, confidence)
    l2, u2 = wilson(x2, n2, confidence)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, low, high


def welch(
    m1: float, v1: float, n1: int, m2: float, v2: float, n2: int, confidence: float = CONFIDENCE
) -> tuple[float, float, float]:
    """m1 − m2 and Welch's t interval from sample means, variances (n − 1) and sizes (n ≥ 2)."""
    d = m1 - m2
    a, b = v1 / n1, v2 / n2
    se = math.sqrt(a + b)
    if se == 0:
        return d, d, d
    df = (a + b) ** 2 / (a * a / (n1 - 1) + b * b / (n2 - 1))
    t = float(stats.t.ppf(0.5 + confidence / 2, df))
    return d, d - t * se, d + t * se


def _round(v: float | None) -> float | None:
    if v is None or v != v:
        return None
    return round(float(v), DIGITS) + 0.0


def ab_difference(
    treatment: dict[str, Any], control: dict[str, Any], confidence: float = CONFIDENCE
) -> dict[str, dict[str, Any]]:
    """Treatment − control per AB metric, with its interval (null where n is too small)."""
    out: dict[str, dict[str, Any]] = {}
    for metric, method in AB_METRICS:
        n_id = n_of(metric)
        assert n_id is not None
        nt, nc = int(treatment.get(n_id) or 0), int(control.get(n_id) or 0)
        row: dict[str, Any] = {
            "treatment": _round(treatment.get(metric)),
            "control": _round(control.get(metric)),
            "n_treatment": nt,
            "n_control": nc,
            "diff": None,
            "ci_low": None,
            "ci_high": None,
            "method": method,
        }
        if method == "newcombe" and nt > 0 and nc > 0:
            num = RATES[metric][0]
            d, lo, hi = newcombe(int(treatment[num]), nt, int(control[num]), nc, confidence)
            row.update(diff=_round(d), ci_low=_round(lo), ci_high=_round(hi))
        elif method == "welch" and nt > 0 and nc > 0:
            mt, mc = float(treatment[metric]), float(control[metric])
            row["diff"] = _round(mt - mc)
            vt, vc = treatment.get("_wait_var"), control.get("_wait_var")
            if nt >= 2 and nc >= 2 and vt is not None and vc is not None:
                d, lo, hi = welch(mt, float(vt), nt, mc, float(vc), nc, confidence)
                row.update(ci_low=_round(lo), ci_high=_round(hi))
        out[metric] = row
    return out


# -- the document -------------------------------------------------------------------------------
def _shape(raw: dict[str, Any]) -> dict[str, Any]:
    """A group's row: every id, counts as ints (0 when absent), rates/means null when n = 0."""
    row: dict[str, Any] = {}
    for i in ROW_IDS:
        if i in RATES:
            num, den = RATES[i]
            n = int(raw.get(den) or 0)
            row[i] = _round(int(raw.get(num) or 0) / n) if n else None
        elif i in MEANS:
            row[i] = _round(raw.get(i)) if raw.get(MEANS[i]) else None
        else:
            row[i] = int(raw.get(i) or 0)
    return row


def empty_store() -> dict[str, Any]:
    """A store's section with nothing in range: zero counts, null rates, no groups."""
    return {"totals": _shape({}), "variants": {}, "buckets": {}, "tiers": {}, "ab": None}


def compute(
    tables: dict[str, pa.Table],
    config: Config | None = None,
    day_from: date | str | None = None,
    day_to: date | str | None = None,
    bands: Sequence[int] = BANDS,
    confidence: float = CONFIDENCE,
    con: Any = None,
) -> dict[str, Any]:
    """The report document: `{"from", "to", "confidence", "stores": {store: {totals, variants,
    buckets, tiers, ab}}}`; `ab` compares `button` with `no_button` (else `outside_rollout`)."""
    cfg = config or Config()
    stores = sorted(set(stores_of(tables)) | set(tables["handoff"].column("store").to_pylist()))
    con = con if con is not None else connect("duckdb")
    registered = register(
        con, {**tables, "settings": settings_table(stores, cfg)}, prefix="kefu_handoff"
    )
    lo = day_number(day_from) if day_from is not None else None
    hi = day_number(day_to) if day_to is not None else None
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    for expr in expressions(registered, bands, lo, hi):
        for row in con.to_pyarrow(expr).to_pylist():
            found.setdefault((row.pop("store"), row.pop("dim"), row.pop("key")), {}).update(row)
    doc: dict[str, Any] = {
        "from": str(day_from) if day_from is not None else None,
        "to": str(day_to) if day_to is not None else None,
        "confidence": confidence,
        "stores": {s: empty_store() for s in stores},
    }
    raw_groups: dict[str, dict[str, dict[str, Any]]] = {}
    for (store, dim, key), raw in sorted(found.items()):
        section = doc["stores"].setdefault(store, empty_store())
        if dim == "total":
            section["totals"] = _shape(raw)
        else:
            section[SECTIONS[dim]][key] = _shape(raw)
            if dim == "variant":
                raw_groups.setdefault(store, {})[key] = {**_shape(raw), **raw}
    for store, section in doc["stores"].items():
        arms = raw_groups.get(store, {})
        control = next((c for c in CONTROLS if arms.get(c, {}).get("conversations")), None)
        if arms.get(TREATMENT, {}).get("conversations") and control is not None:
            section["ab"] = {
                "treatment": TREATMENT,
                "control": control,
                "metrics": ab_difference(arms[TREATMENT], arms[control], confidence),
            }
    return doc


# -- flat output --------------------------------------------------------------------------------
CSV_HEADER = ["store", "dimension", "key", "metric", "value", "n", "n_control", "ci_low",
              "ci_high", "method"]  # fmt: skip


def csv_rows(doc: dict[str, Any]) -> list[list[Any]]:
    """Long format: one row per (store, dimension, group, metric); A/B differences as
    dimension `ab`, key `treatment-control`, value = the difference, n = the treatment's n."""
    rows: list[list[Any]] = []

    def cell(v: Any) -> Any:
        return "" if v is None else v

    for store, s in doc["stores"].items():
        groups = [("total", "", s["totals"])]
        for dim in DIMENSIONS:
            groups += [(dim, k, v) for k, v in s[SECTIONS[dim]].items()]
        for dim, key, row in groups:
            for metric in ROW_IDS:
                n_id = n_of(metric)
                n = row[n_id] if n_id else ""
                rows.append([store, dim, key, metric, cell(row[metric]), n, "", "", "", ""])
        ab = s.get("ab")
        if ab:
            key = f"{ab['treatment']}-{ab['control']}"
            for metric, r in ab["metrics"].items():
                rows.append([store, "ab", key, metric, cell(r["diff"]), r["n_treatment"],
                             r["n_control"], cell(r["ci_low"]), cell(r["ci_high"]),
                             r["method"]])  # fmt: skip
    return rows


def csv_text(doc: dict[str, Any]) -> str:
    """The long-format CSV of a report document."""
    from kefu.api.params import csv_text as write

    return write(CSV_HEADER, csv_rows(doc))
