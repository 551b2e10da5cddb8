"""Figures of a load run: throughput, latency percentiles, errors, and the checks (rich)."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.table import Table

from kefu.loadtest.traffic import Record


def percentile(values: list[float], q: float) -> float:
    """The `q`-th percentile (nearest rank) of `values`; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[k]


def summary(
    rec: Record, checks: list[tuple[str, bool, str]], meta: dict[str, Any]
) -> dict[str, Any]:
    """The run as plain data (for `--json` and bench notes)."""
    ops: dict[str, Any] = {}
    for op in sorted(set(rec.latency) | set(rec.ok) | {o for o, _ in rec.errors}):
        lat = rec.latency.get(op, [])
        ops[op] = {
            "ok": rec.ok.get(op, 0),
            "conflicts": rec.conflicts.get(op, 0),
            "errors": sum(n for (o, _), n in rec.errors.items() if o == op),
            "answered": len(lat),
            "p50_ms": round(percentile(lat, 50), 1) if lat else None,
            "p99_ms": round(percentile(lat, 99), 1) if lat else None,
            "max_ms": round(max(lat), 1) if lat else None,
        }
    answered = sum(len(v) for k, v in rec.latency.items() if k != "ws.delivery")
    return {
        **meta,
        "elapsed_s": round(rec.elapsed, 1),
        "requests_per_s": round(answered / rec.elapsed, 1) if rec.elapsed else 0.0,
        "answered": answered,
        "skipped": rec.skipped,
        "retries": rec.retries,
        "errors": {f"{o} {k}": n for (o, k), n in sorted(rec.errors.items())},
        "kills": rec.kills,
        "restart_s": {
            "mean": round(sum(rec.restart_s) / len(rec.restart_s), 1),
            "max": round(max(rec.restart_s), 1),
        }
        if rec.restart_s
        else None,
        "ws_frames": rec.ws_frames,
        "ops": ops,
        "checks": [{"name": n, "ok": ok, "detail": d} for n, ok, d in checks],
        "passed": all(ok for _, ok, _ in checks),
    }


def render(doc: dict[str, Any], console: Console) -> None:
    """Print the run's tables."""
    kills = f", {doc['kills']} SIGKILLs" if doc.get("kills") else ""
    restart = doc.get("restart_s")
    if restart:
        kills += f" (restart {restart['mean']} s mean, {restart['max']} s max)"
    console.print(
        f"[bold]{doc['answered']:,} requests answered in {doc['elapsed_s']} s → "
        f"{doc['requests_per_s']:,} req/s[/bold]{kills}; {doc['retries']} retries, "
        f"{doc['skipped']} operations skipped (client busy)"
    )
    t = Table(title="Operations", show_lines=False)
    for col in ("operation", "ok", "409/404", "errors", "p50 ms", "p99 ms", "max ms"):
        t.add_column(col, justify="left" if col == "operation" else "right")
    for op, v in doc["ops"].items():
        t.add_row(
            op,
            f"{v['ok']:,}",
            f"{v['conflicts']:,}",
            f"{v['errors']:,}",
            _ms(v["p50_ms"]),
            _ms(v["p99_ms"]),
            _ms(v["max_ms"]),
        )
    console.print(t)
    if doc["errors"]:
        e = Table(title="Errors")
        e.add_column("operation and kind")
        e.add_column("count", justify="right")
        for k, n in doc["errors"].items():
            e.add_row(k, f"{n:,}")
        console.print(e)
    c = Table(title="Checks")
    c.add_column("check")
    c.add_column("result")
    c.add_column("detail")
    for chk in doc["checks"]:
        c.add_row(
            chk["name"], "[green]PASS[/green]" if chk["ok"] else "[red]FAIL[/red]", chk["detail"]
        )
    console.print(c)


def _ms(v: float | None) -> str:
    return "–" if v is None else f"{v:,.1f}"
