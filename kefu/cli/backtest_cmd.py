"""`kefu backtest urge`: compare urge settings on a log before switching them on."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from kefu.cli import common
from kefu.cli.common import readable_file_or_exit, report_read, settings_or_exit

err = common.err
out = Console()
backtest_app = typer.Typer(help="Back-test settings on history.", no_args_is_help=True)


@backtest_app.command("urge")
def urge_command(
    events: Path = typer.Option(..., "--events", "-e", help="Events: JSONL, .jsonl.gz, Parquet."),
    config: list[Path] = typer.Option(
        ..., "--config", "-c", help="A settings file; give it again to compare several."
    ),
    output_format: str = typer.Option("table", "--format", help="table or csv."),
) -> None:
    """Replay EVENTS under each settings file: urges sent, skips by reason, attributed orders."""
    from kefu.engine.readers import ReadStats
    from kefu.runtime.replay import load_sorted
    from kefu.urge.backtest import backtest, label, rows

    if output_format not in ("table", "csv"):
        err.print("[red]--format must be table or csv[/red]")
        raise typer.Exit(2)
    configs = [(label(p), settings_or_exit(p)) for p in config]
    readable_file_or_exit(events)
    stats = ReadStats()
    with err.status("replaying…"):
        evs = load_sorted(events, stats)
        results = backtest(evs, configs)
    code = report_read(events, stats)
    if code:
        raise typer.Exit(code)
    table_rows = rows(results)
    names = [name for name, _ in configs]
    if output_format == "csv":
        import csv
        import sys

        w = csv.writer(sys.stdout)
        w.writerow(["metric", *names])
        for name, cells in table_rows:
            w.writerow([name, *cells])
        return
    t = Table(title=f"urge back-test on {events.name} ({len(evs):,} events)")
    t.add_column("")
    for name in names:
        t.add_column(name, justify="right")
    for name, cells in table_rows:
        t.add_row(name, *cells)
    out.print(t)


def register(app: typer.Typer) -> None:
    """Add `kefu backtest …`."""
    app.add_typer(backtest_app, name="backtest")
