"""Replay throughput with every rule registered, against plain JSON-line parsing.

    .venv/bin/python bench/replay_throughput.py [--events 1000000] [--file F]

Generates a simulated log (or uses --file), then in the same run measures on one core:
plain `json.loads` and `orjson.loads` of every line, the typed decode alone, and the full
`kefu replay` (decode, sort, all rules, timers, writing actions). Target (issue 3): replay at
least one fifth of plain JSON-line parsing speed.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import orjson

from kefu.engine.output import action_line
from kefu.engine.readers import ReadStats, read_events
from kefu.engine.settings import Config
from kefu.runtime.registry import default_engine
from kefu.runtime.replay import load_sorted, replay, run


def simulate(path: Path, events: int) -> None:
    """Write about `events` simulated events (several stores, a week) to `path`."""
    from kefu.sim import generate

    buyers = max(200, events // 60)
    with path.open("wb") as fh:
        for n, line in enumerate(generate(stores=4, buyers=buyers, days=7, seed=7), 1):
            fh.write(line if line.endswith(b"\n") else line + b"\n")
            if n >= events:
                break


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--file", type=Path)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kefu-bench-"))
    path = args.file or work / "events.jsonl"
    if args.file is None:
        simulate(path, args.events)
    lines = path.read_bytes().splitlines()
    n = len(lines)
    t_json = timed(lambda: [json.loads(x) for x in lines])
    t_orjson = timed(lambda: [orjson.loads(x) for x in lines])
    t_decode = timed(lambda: list(read_events(path, ReadStats())))

    def engine_only() -> None:
        events = load_sorted(path, ReadStats())
        engine = default_engine(Config())
        actions = run(events, engine)
        with (work / "actions.jsonl").open("wb") as fh:
            for a in actions:
                fh.write(action_line(a, engine.settings(a.store).tz))

    t_engine = timed(engine_only)
    summary = replay(path, Config(), work / "out")
    full = summary.events / summary.seconds
    engine_rate = n / t_engine
    print(f"events: {n:,} ({path.stat().st_size / 1e6:.0f} MB), actions: {summary.actions:,}")
    print(f"json.loads:          {n / t_json:>10,.0f} lines/s")
    print(f"orjson.loads:        {n / t_orjson:>10,.0f} lines/s")
    print(f"typed decode:        {n / t_decode:>10,.0f} events/s")
    print(f"replay, engine:      {engine_rate:>10,.0f} events/s (decode, sort, all rules, timers,"
          " actions.jsonl)")  # fmt: skip
    print(f"replay, + metrics:   {full:>10,.0f} events/s (`kefu replay`: + facts, metrics.json)")
    for name, rate in (("engine", engine_rate), ("full", full)):
        print(f"{name}: / json.loads = {rate / (n / t_json):.2f}; "
              f"/ orjson.loads = {rate / (n / t_orjson):.2f} (target ≥ 0.20)")  # fmt: skip


if __name__ == "__main__":
    main()
