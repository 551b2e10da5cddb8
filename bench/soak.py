"""Soak: two `kefu serve` processes on PostgreSQL with Redis under simulated store traffic.

    .venv/bin/python bench/soak.py                        # 30 minutes, the issue's target
    .venv/bin/python bench/soak.py --duration 240 --rate 30
    .venv/bin/python bench/soak.py --duration 600 --kill-every 20 --max-kills 25

A fresh database `kefu_soak_<pid>` is made on the PostgreSQL server (dropped afterwards
unless --keep-db), two servers are started on loopback ports with `--redis`, and `kefu
loadtest`'s clients drive buyers and agents through the REST API and WebSockets for
`--duration` seconds (optionally SIGKILLing a server every ~`--kill-every` s). Then every
accepted event is checked to be stored exactly once and every conversation complete and in
order; throughput, p50/p99 latencies and errors are printed (and written with --json).

Traffic: a big store at its peak (a 双11 evening) handles about 10 operations a second —
messages, 转人工 presses, product clicks, agents' replies and closes — across ~50 agents and
~2,000 buyers in conversation; 10× that peak is `--rate 100`. On this project's shared
2-core machine a single store's writes are serialised (one advisory lock per store), so the
rate actually sustained is printed next to the one asked for.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import psycopg
from rich.console import Console

from kefu.loadtest.report import render
from kefu.loadtest.runner import Options, execute
from kefu.storage.db import upgrade


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=1800.0, help="seconds of load")
    ap.add_argument("--rate", type=float, default=100.0, help="operations started per second")
    ap.add_argument("--buyers", type=int, default=2000)
    ap.add_argument("--agents", type=int, default=50)
    ap.add_argument("--capacity", type=int, default=5)
    ap.add_argument("--kill-every", type=float, default=None, help="SIGKILL a server every ~S s")
    ap.add_argument("--max-kills", type=int, default=100)
    ap.add_argument(
        "--pg", default=os.environ.get("KEFU_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
    )
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    ap.add_argument("--keep-db", action="store_true")
    args = ap.parse_args()

    name = f"kefu_soak_{os.getpid()}"
    with psycopg.connect(args.pg, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = args.pg.rsplit("/", 1)[0] + f"/{name}"
    console = Console()
    try:
        upgrade(url)
        kills = f", SIGKILL every ~{args.kill_every:g} s" if args.kill_every else ""
        console.print(
            f"soak: 2 servers on {name} + Redis, {args.rate:g} ops/s for "
            f"{args.duration:g} s, {args.buyers} buyers, {args.agents} agents{kills}"
        )
        opts = Options(db=url, servers=2, redis=args.redis, duration=args.duration,
                       rate=args.rate, buyers=args.buyers, agents=args.agents,
                       capacity=args.capacity, kill_every=args.kill_every,
                       max_kills=args.max_kills, drain_timeout=120)  # fmt: skip
        doc = execute(opts, progress=lambda m: console.print(m))
        render(doc, console)
        if args.json is not None:
            args.json.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
        return 0 if doc["passed"] else 1
    finally:
        if not args.keep_db:
            with psycopg.connect(args.pg, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
