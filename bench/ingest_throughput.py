"""Ingestion through the API: events/s into a real `kefu serve` process on loopback.

    .venv/bin/python bench/ingest_throughput.py [--events 100000] [--batch 1000]
        [--db sqlite|postgresql]

Starts `kefu serve` on a free loopback port with a fresh database, posts simulated events in
batches to `POST /api/v1/events` (NDJSON) and reports events/s end to end (validation, log
append, rules, projection, outbox, timers and snapshots committed per batch).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_db(kind: str, work: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{work / 'bench.db'}"
    import psycopg

    name = f"kefu_bench_{os.getpid()}"
    with psycopg.connect("host=127.0.0.1 dbname=test user=postgres", autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name}")
        c.execute(f"CREATE DATABASE {name}")
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=1_000)
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    args = ap.parse_args()
    from kefu.sim import generate

    work = Path(tempfile.mkdtemp(prefix="kefu-ingest-"))
    url = fresh_db(args.db, work)
    lines: list[bytes] = []
    for line in generate(stores=1, buyers=max(100, args.events // 12), days=7, seed=3):
        lines.append(line.rstrip(b"\n"))  # one store: ingest needs that store's admin token
        if len(lines) >= args.events:
            break
    from kefu.accounts.tokens import create_token
    from kefu.storage.db import make_engine, session_factory, upgrade

    db = make_engine(url)
    upgrade(db)
    with session_factory(db).begin() as s:
        token = create_token(s, "s001", "bench", "admin")
    db.dispose()
    port = free_port()
    kefu = str(Path(sys.executable).parent / "kefu")
    proc = subprocess.Popen(
        [kefu, "serve", "--db", url, "--port", str(port)],
        env={**os.environ, "KEFU_DB": url, "KEFU_RATE_LIMIT": "off"},
        cwd=work,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/api/v1/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        with httpx.Client(base_url=base, timeout=120) as client:
            t0 = time.perf_counter()
            accepted = 0
            for i in range(0, len(lines), args.batch):
                body = b"\n".join(lines[i : i + args.batch])
                r = client.post(
                    "/api/v1/events", content=body,
                    headers={"content-type": "application/x-ndjson",
                             "authorization": f"Bearer {token}"},
                )  # fmt: skip
                r.raise_for_status()
                accepted += r.json()["accepted"]
            dt = time.perf_counter() - t0
        print(f"{args.db}: {accepted:,} events in {dt:.1f} s → {accepted / dt:,.0f} events/s "
              f"(batches of {args.batch})")  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
