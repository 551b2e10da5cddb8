"""Product-card traffic at scale: a 30-day report by source over 50 M impressions and views.

    .venv/bin/python bench/traffic_report.py [--rows 50000000] [--days 30] [--stores 20]
        [--scopes total,source] [--cache /tmp/kefu-traffic-bench] [--backend duckdb]
    [--memory-limit 2GB]

Generates the fact tables column by column with numpy straight into Parquet (no events, no
Python objects per row), cached under `--cache` and reused while the parameters match; the
generation runs in a child process so the peak memory reported is the report's own. Then it
runs the §7 expressions of `kefu.traffic.metrics` over the Parquet files (DuckDB reads them
itself) and prints seconds and peak RSS.

Data shape: `--stores` stores of 2,500 products each, 2 M buyers with a skewed activity,
10 % of rows are views (clicks), 85 % of touches are `card` (10 % live, 5 % video), 3 % of
card views lead to an order (85 % paid), plus 20 % more orders with no card view and, for half
as many of those buyers, orders in the 90 days before the range (returning buyers, repeats).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SOURCES = ["search", "shop", "recommend", "cart", "orders", "chat", "other"]
SOURCE_P = [0.35, 0.15, 0.3, 0.08, 0.04, 0.03, 0.05]
CARRIERS = ["card", "live", "video"]
CARRIER_P = [0.85, 0.10, 0.05]
CHUNK = 5_000_000
BUYERS = 2_000_000
PER_STORE = 2_500
FIRST = date(2026, 3, 1)
CST = 8 * 3_600_000
DAY_MS = 86_400_000


def _strings(prefix: str, n: int, width: int) -> pa.Array:
    return pa.array([f"{prefix}{i:0{width}d}" for i in range(n)], pa.string())


def _dict(indices: np.ndarray, dictionary: pa.Array) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)), dictionary)


def generate(folder: Path, rows: int, days: int, stores: int, seed: int = 7) -> None:
    """Write impressions/ and views/ (one file per chunk) and the small tables."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for sub in ("impressions", "views"):
        (folder / sub).mkdir(exist_ok=True)
    store_names = _strings("store-", stores, 2)
    buyer_names = _strings("b", BUYERS, 7)
    product_names = _strings("p", stores * PER_STORE, 6)
    source_names = pa.array(SOURCES, pa.string())
    carrier_names = pa.array(CARRIERS, pa.string())
    store_p = 1 / np.arange(1, stores + 1)
    store_p /= store_p.sum()
    prices = np.round(np.exp(rng.uniform(np.log(5), np.log(500), stores * PER_STORE)), 1)
    start_ms = int(datetime(2026, 3, 1, tzinfo=timezone(timedelta(hours=8))).timestamp() * 1000)
    span = days * DAY_MS
    orders: list[tuple[np.ndarray, ...]] = []
    written = 0
    part = 0
    while written < rows:
        n = min(CHUNK, rows - written)
        store = rng.choice(stores, n, p=store_p)
        buyer = (BUYERS * rng.random(n) ** 2).astype(np.int64)  # a few buyers are very active
        product = store * PER_STORE + (PER_STORE * rng.random(n) ** 1.5).astype(np.int64)
        source = rng.choice(len(SOURCES), n, p=SOURCE_P)
        carrier = rng.choice(len(CARRIERS), n, p=CARRIER_P)
        ts = start_ms + rng.integers(0, span, n)
        is_view = rng.random(n) < 0.10
        for sub, mask in (("impressions", ~is_view), ("views", is_view)):
            table = pa.table(
                {
                    "store": _dict(store[mask], store_names),
                    "buyer": _dict(buyer[mask], buyer_names),
                    "product": _dict(product[mask], product_names),
                    "source": _dict(source[mask], source_names),
                    "carrier": _dict(carrier[mask], carrier_names),
                    "ts_ms": pa.array(ts[mask]),
                    "local_ms": pa.array(ts[mask] + CST),
                }
            )
            pq.write_table(table, folder / sub / f"part-{part:03d}.parquet", row_group_size=1 << 20)
        buys = is_view & (carrier == 0) & (rng.random(n) < 0.03)
        delay = rng.integers(0, 2 * 3_600_000, int(buys.sum()))
        orders.append((store[buys], buyer[buys], product[buys], ts[buys] + delay))
        written += n
        part += 1
    o_store, o_buyer, o_product, o_ts = (np.concatenate(c) for c in zip(*orders, strict=True))
    extra = len(o_store) // 5  # orders with no card view (live, video, direct)
    e_store = rng.choice(stores, extra, p=store_p)
    # paid history orders in the 90 days before the range, by buyers who order again in it
    hist = len(o_store) // 2
    again = rng.integers(0, len(o_store), hist)
    h_store = o_store[again]
    o_buyer = np.concatenate([o_buyer, (BUYERS * rng.random(extra) ** 2).astype(np.int64),
                              o_buyer[again]])  # fmt: skip
    o_store = np.concatenate([o_store, e_store, h_store])
    o_product = np.concatenate([
        o_product, np.concatenate([e_store, h_store]) * PER_STORE
        + rng.integers(0, PER_STORE, extra + hist)])  # fmt: skip
    o_ts = np.concatenate([o_ts, start_ms + rng.integers(0, span, extra),
                           start_ms - rng.integers(1, 90 * DAY_MS, hist)])  # fmt: skip
    n_orders = len(o_store)
    order_names = _strings("o", n_orders, 8)
    idx = np.arange(n_orders)
    amount = prices[o_product]
    common = {"store": _dict(o_store, store_names), "order": order_names,
              "buyer": _dict(o_buyer, buyer_names)}  # fmt: skip
    pq.write_table(pa.table({**common, "amount": amount, "ts_ms": o_ts, "local_ms": o_ts + CST}),
                   folder / "orders.parquet")  # fmt: skip
    pq.write_table(pa.table({**common, "product": _dict(o_product, product_names),
                             "share": np.ones(n_orders), "ts_ms": o_ts, "local_ms": o_ts + CST}),
                   folder / "order_items.parquet")  # fmt: skip
    paid = rng.random(n_orders) < 0.85
    p_ts = o_ts[paid] + rng.integers(0, 1_800_000, int(paid.sum()))
    pq.write_table(pa.table({"store": _dict(o_store[paid], store_names),
                             "order": order_names.take(pa.array(idx[paid])),
                             "buyer": _dict(o_buyer[paid], buyer_names),
                             "amount": amount[paid], "ts_ms": p_ts, "local_ms": p_ts + CST}),
                   folder / "payments.parquet")  # fmt: skip
    from kefu.traffic.facts import SCHEMAS

    for name in ("buyers", "products"):
        pq.write_table(SCHEMAS[name].empty_table(), folder / f"{name}.parquet")


def tables(folder: Path) -> dict[str, str]:
    """Table name → Parquet path or glob."""
    out = {name: str(folder / name / "*.parquet") for name in ("impressions", "views")}
    for name in ("orders", "order_items", "payments", "buyers", "products"):
        out[name] = str(folder / f"{name}.parquet")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=50_000_000, help="impressions + views")
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--stores", type=int, default=20)
    ap.add_argument("--scopes", default="total,source")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/kefu-traffic-bench"))
    ap.add_argument("--backend", default="duckdb")
    ap.add_argument("--memory-limit", default=None, help="DuckDB memory_limit, e.g. 2GB")
    ap.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    key = f"rows{args.rows}-days{args.days}-stores{args.stores}"
    folder = args.cache / key
    if args.generate_only:
        t0 = time.perf_counter()
        generate(folder, args.rows, args.days, args.stores)
        (folder / "DONE").write_text(f"{time.perf_counter() - t0:.1f}")
        return
    if not (folder / "DONE").exists():
        print(f"generating {args.rows:,} rows into {folder} …", flush=True)
        subprocess.run([sys.executable, __file__, "--generate-only", "--rows", str(args.rows),
                        "--days", str(args.days), "--stores", str(args.stores),
                        "--cache", str(args.cache)], check=True)  # fmt: skip
        print(f"generated in {(folder / 'DONE').read_text()} s")
    from kefu.traffic.metrics import Session, Window

    paths = tables(folder)
    sizes = {n: pq.ParquetDataset(p if "*" not in p else str(Path(p).parent)).read(
        columns=[]).num_rows for n, p in paths.items()}  # fmt: skip
    scopes = tuple(args.scopes.split(","))
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    session = Session(paths, args.backend)
    if args.backend == "duckdb":
        session.con.raw_sql("SET threads = 2")
        if args.memory_limit:
            session.con.raw_sql(f"SET memory_limit = '{args.memory_limit}'")
    last = FIRST + timedelta(days=args.days - 1)
    doc = session.metrics(Window.days(FIRST, last), scopes)
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - cpu0  # all threads: less noisy than wall time on a busy box
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    store0 = doc["stores"]["store-00"]
    print(json.dumps({"rows": sizes, "scopes": scopes, "memory_limit": args.memory_limit,
                      "range": [str(FIRST), str(last)],
                      "stores": len(doc["stores"]), "seconds": round(seconds, 1),
                      "cpu_seconds": round(cpu, 1),
                      "peak_rss_mb": round(peak_mb), "store-00 totals": store0["totals"],
                      "store-00 search": store0.get("sources", {}).get("search")},
                     indent=2, ensure_ascii=False))  # fmt: skip


if __name__ == "__main__":
    main()
