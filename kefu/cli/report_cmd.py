"""`kefu report handoff`: the 转人工 A/B and rollout report of a log, as table/JSON/CSV."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kefu.cli import common
from kefu.cli.common import (
    readable_file_or_exit,
    report_read,
    settings_for_events,
)

err = common.err
FORMATS = ("table", "json", "csv")
report_app = typer.Typer(help="Reports computed by replaying a log through the engine.",
                         no_args_is_help=True)  # fmt: skip


@report_app.callback()
def report() -> None:
    """Reports computed by replaying a log through the engine (run `kefu report X --help`)."""


def _cell(row: dict[str, Any], metric: str) -> str:
    from kefu.conversations.report import n_of

    value = row.get(metric)
    if value is None:
        text = "—"
    elif isinstance(value, float):
        text = f"{value:.4g}"
    else:
        text = str(value)
    n_id = n_of(metric)
    return f"{text} (n={row.get(n_id, 0)})" if n_id else text


def _diff_cell(d: dict[str, Any] | None) -> str:
    if d is None or d["diff"] is None:
        return "—"
    if d["ci_low"] is None:
        return f"{d['diff']:+.4g}"
    return f"{d['diff']:+.4g} [{d['ci_low']:+.4g}, {d['ci_high']:+.4g}]"


def render_tables(doc: dict[str, Any]) -> list[Table]:
    """Per store: metrics as rows; one table per dimension (variant with the A/B column)."""
    from kefu.conversations.report import DIMENSIONS, ROW_IDS, SECTIONS

    pct = round(doc["confidence"] * 100)
    tables = []
    for store, s in doc["stores"].items():
        for dim in DIMENSIONS:
            groups = s[SECTIONS[dim]]
            ab = s["ab"] if dim == "variant" else None
            table = Table(title=f"{store}: 转人工 by {dim}")
            table.add_column("metric")
            table.add_column("all", justify="right")
            for key in groups:
                table.add_column(key, justify="right")
            if ab is not None:
                table.add_column(f"{ab['treatment']} − {ab['control']} [{pct} % CI]",
                                 justify="right")  # fmt: skip
            for metric in ROW_IDS:
                cells = [_cell(s["totals"], metric), *[_cell(g, metric) for g in groups.values()]]
                if ab is not None:
                    cells.append(_diff_cell(ab["metrics"].get(metric)))
                table.add_row(metric, *cells)
            tables.append(table)
    return tables


@report_app.command("handoff")
def handoff_command(
    events: Path = typer.Option(
        ..., "--events", "-e", help="Events (JSON Lines, .jsonl.gz, Parquet).", show_default=False
    ),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="Store settings (TOML): handoff, bot, store timezone."
    ),
    fmt: str = typer.Option(
        "table", "--format", "-f", help="table | json (the whole document) | csv (long format)."
    ),
    day_from: str | None = typer.Option(
        None, "--from", help="First day (YYYY-MM-DD, store-local) conversations opened on."
    ),
    day_to: str | None = typer.Option(
        None, "--to", help="Last day (YYYY-MM-DD, store-local), inclusive. Default: all."
    ),
    bands: str = typer.Option(
        "5,10,20,50", "--bands", help="Rollout bucket edges (0–100): groups buckets 0–99."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Per A/B arm, rollout bucket band and store tier: button exposure, transfer rate and
    success, queue wait, human-served share, satisfaction, inquiry conversion, with n and a
    95 % interval for the A/B difference."""
    from kefu.conversations.report import compute, csv_text, facts_from_log

    if fmt not in FORMATS:
        err.print(f"[red]--format must be one of {', '.join(FORMATS)}[/red]")
        raise typer.Exit(2)
    try:
        first = date.fromisoformat(day_from) if day_from else None
        last = date.fromisoformat(day_to) if day_to else None
        edges = [int(x) for x in bands.split(",") if x.strip()]
    except ValueError as e:
        err.print(f"[red]bad --from/--to/--bands:[/red] {e}")
        raise typer.Exit(2) from None
    if first and last and first > last:
        err.print("[red]--from is after --to[/red]")
        raise typer.Exit(2)
    readable_file_or_exit(events)
    cfg = settings_for_events(events, config)
    with Progress(TextColumn("replay"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True, disable=quiet) as bar:  # fmt: skip
        task = bar.add_task("replay", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        tables, stats = facts_from_log(events, cfg, progress)
    code = report_read(events, stats)
    if code:
        raise typer.Exit(code)
    doc = compute(tables, cfg, first, last, bands=edges)
    if fmt == "json":
        sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
        sys.stdout.write("\n")
    elif fmt == "csv":
        sys.stdout.write(csv_text(doc))
    else:
        out = Console(width=max(Console().width, 160))
        for table in render_tables(doc):
            out.print(table)


def register(app: typer.Typer) -> None:
    """Add `kefu report handoff`."""
    app.add_typer(report_app, name="report")
