"""`kefu simulate`: write a realistic, deterministic store log (see docs/simulator.md)."""

from __future__ import annotations

import contextlib
import gzip
import os
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import BinaryIO

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from kefu.cli import common

err = common.err


def _open(out: str) -> BinaryIO:
    """The output stream: stdout for "-", gzip for *.gz, else a plain file."""
    if out == "-":
        return sys.stdout.buffer
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    if out.endswith(".gz"):
        return gzip.open(out, "wb", compresslevel=1)  # type: ignore[return-value]
    return open(out, "wb")


def simulate_command(
    out: str = typer.Option(..., "--out", "-o", help="Output: .jsonl, .jsonl.gz, or - for stdout."),
    stores: int = typer.Option(1, min=1, max=10_000, help="Number of stores (s001, s002 …)."),
    buyers: int = typer.Option(1000, min=1, help="Buyers per store (about a fifth visit a day)."),
    days: int = typer.Option(7, min=1, max=3650, help="Days to simulate."),
    seed: int = typer.Option(1, help="Random seed: the same arguments give identical bytes."),
    start: str = typer.Option("2026-11-01", help="First day (YYYY-MM-DD, China time, +08:00)."),
) -> None:
    """Generate simulated store events in time order, streaming, deterministic per seed.

    Catalogues, agents' shifts, buyers with a daily rhythm, browsing, chats, orders,
    payments, after-sales: JSON lines of spec/events.md. Calibration: docs/simulator.md.
    """
    from kefu.sim import generate

    try:
        first = date.fromisoformat(start)
    except ValueError:
        err.print(f"[red]bad --start:[/red] {start!r} is not YYYY-MM-DD")
        raise typer.Exit(2) from None
    counts: Counter[str] = Counter()
    began = time.perf_counter()
    fh = _open(out)
    n = 0
    try:
        with Progress(
            TextColumn("simulate [bold]{task.fields[day]}[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("days · {task.fields[events]:,} events"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            disable=out == "-",
        ) as bar:
            task = bar.add_task("simulate", total=days, day=str(first), events=0)

            def day_done(day: date) -> None:
                bar.update(task, advance=1, day=str(day), events=n)

            batch: list[bytes] = []
            for line in generate(stores, buyers, days, seed, first, on_day=day_done, counts=counts):
                batch.append(line)
                if len(batch) == 4096:  # one write per batch: writes, not JSON, were the cost
                    n += len(batch)
                    fh.write(b"\n".join(batch) + b"\n")
                    batch.clear()
            if batch:
                n += len(batch)
                fh.write(b"\n".join(batch) + b"\n")
    except BrokenPipeError:  # `kefu simulate --out - | head`: the reader has had enough
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - no second error at exit
        raise typer.Exit(0) from None
    finally:
        with contextlib.suppress(BrokenPipeError):
            if out == "-":
                fh.flush()
            else:
                fh.close()
    took = time.perf_counter() - began
    err.print(
        f"simulated {n:,} events ({counts['message']:,} messages, {counts['order']:,} orders, "
        f"{counts['payment']:,} payments) for {stores} store(s) × {days} day(s), seed {seed}, "
        f"in {took:.1f} s ({n / max(took, 1e-9):,.0f} events/s) → {out}",
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    """Add `kefu simulate`."""
    app.command("simulate")(simulate_command)
