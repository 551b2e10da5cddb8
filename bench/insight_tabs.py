"""What a supervisor's report tab costs: one store's insight report from the roll-ups.

    .venv/bin/python bench/insight_tabs.py [--buyers 1500] [--days 7] [--db /tmp/tabs.db]

A simulated store (`kefu.sim`, ~60 k events at the defaults) goes through the live service
into a SQLite database; the roll-ups take it in; then the same report is asked several
times, as the 绩效 tab does: the first pays for building and compiling the Ibis expressions
(once per process and shape, `kefu.insight.metrics._sql`), the next ones only read the
range's rows and run the SQL. `--warm` compiles ahead as `kefu demo` does at start.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--buyers", type=int, default=1500)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--db", default="/tmp/kefu-bench-tabs.db")
    ap.add_argument("--warm", action="store_true", help="compile the SQL before the reports")
    args = ap.parse_args()

    from kefu.engine.clock import VirtualClock
    from kefu.engine.settings import parse_config
    from kefu.insight.metrics import warm_sql
    from kefu.insight.rollup import Rollups
    from kefu.runtime.service import EngineService
    from kefu.sim import generate
    from kefu.storage.db import make_engine, upgrade

    path = Path(args.db)
    fresh = not path.exists()
    db = make_engine(f"sqlite:///{path}")
    cfg = parse_config({"bot": {"enabled": False}})
    if fresh:
        upgrade(db)
        svc = EngineService(db, cfg, clock=VirtualClock())
        lines = list(generate(stores=1, buyers=args.buyers, days=args.days, seed=3))
        t = time.perf_counter()
        for i in range(0, len(lines), 2000):
            svc.ingest(lines[i : i + 2000])
        svc.close()
        print(f"ingested {len(lines):,} events in {time.perf_counter() - t:.1f} s")
    rollups = Rollups(db, cfg)
    t = time.perf_counter()
    rollups.refresh_all()
    print(f"roll-ups refreshed in {time.perf_counter() - t:.2f} s")
    if args.warm:
        t = time.perf_counter()
        warm_sql((None, ("funnel", "sales")))
        print(f"report SQL compiled ahead in {time.perf_counter() - t:.1f} s")
    store = rollups.stores()[0]
    for n in range(4):
        t = time.perf_counter()
        rollups.report([store], "2026-11-02", "2026-11-05", refresh=False)
        print(f"report {n + 1} (4 days, every part): {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    rollups.report([store], "2026-11-02", "2026-11-05", refresh=False, parts=("funnel", "sales"))
    print(f"funnel + sales only: {time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main()
