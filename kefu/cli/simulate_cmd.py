"""`kefu simulate`: write a realistic, deterministic store log (see kefu/sim/generator.py)."""

from __future__ import annotations

import gzip
import sys
from datetime import date
from pathlib import Path
from typing import BinaryIO, cast

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

err = Console(stderr=True)


def simulate_command(
    out: str = typer.Option(..., "--out", "-o", help="Output: .jsonl, .jsonl.gz, or - for stdout."),
    stores: int = typer.Option(1, min=1, max=10_000, help="Number of stores."),
    buyers: int = typer.Option(1000, min=1, help="Buyers per store (about a fifth visit a day)."),
    days: int = typer.Option(7, min=1, max=3650, help="Days to simulate."),
    seed: int = typer.Option(1, help="Random seed: the same seed gives identical output."),
    start: str = typer.Option("2026-11-01", help="First day (YYYY-MM-DD, Asia/Shanghai)."),
) -> None:
    """Generate simulated store events in time order, streaming, deterministic per seed."""
    from kefu.sim import generate

    try:
        first = date.fromisoformat(start)
    except ValueError:
        err.print(f"[red]bad --start:[/red] {start!r} is not YYYY-MM-DD")
        raise typer.Exit(2) from None
    fh: BinaryIO
    if out == "-":
        fh = sys.stdout.buffer
    else:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        raw = gzip.open(out, "wb") if out.endswith(".gz") else open(out, "wb")  # noqa: SIM115
        fh = cast(BinaryIO, raw)
    n = 0
    last_day = ""
    with Progress(
        TextColumn("simulate {task.fields[day]}"),
        BarColumn(),
        TextColumn("{task.completed:,} events"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=out == "-",
    ) as bar:
        task = bar.add_task("simulate", total=None, day="")
        try:
            for line in generate(stores=stores, buyers=buyers, days=days, seed=seed, start=first):
                fh.write(line)
                fh.write(b"\n")
                n += 1
                if n % 20_000 == 0:
                    day = line[line.find(b'"ts":"') + 6 :][:10].decode()
                    if day != last_day:
                        last_day = day
                    bar.update(task, completed=n, day=day)
        finally:
            if out != "-":
                fh.close()
    err.print(f"simulated {n:,} events: {stores} store(s), {days} day(s), seed {seed} → {out}")


def register(app: typer.Typer) -> None:
    """Add `kefu simulate`."""
    app.command("simulate")(simulate_command)
