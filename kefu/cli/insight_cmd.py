"""`kefu insight`: service-insight metrics (metrics.md §1-§3, §6) of a log, as table/JSON/CSV."""

from __future__ import annotations

import csv
import io
import sys
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kefu.cli.common import input_or_exit, settings_or_exit
from kefu.insight.backends import BACKENDS
from kefu.insight.build import facts_from_log
from kefu.insight.facts import read_parquet, write_parquet
from kefu.insight.metrics import AGENT_IDS, TOTAL_IDS, compute

err = Console(stderr=True)
BY = ("store", "agent", "day")
FORMATS = ("table", "json", "csv")


def _rows(doc: dict[str, Any], by: str) -> tuple[str, list[tuple[str, str, dict[str, Any]]]]:
    """(key column name, [(store, key, values)]) for the chosen grouping."""
    rows: list[tuple[str, str, dict[str, Any]]] = []
    for store, parts in doc["stores"].items():
        if by == "store":
            rows.append((store, "", parts["totals"]))
        else:
            section = parts["agents" if by == "agent" else "days"]
            rows.extend((store, key, values) for key, values in section.items())
    return ("" if by == "store" else by), rows


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1e6 else f"{value:.2f}"
    return str(value)


def render_csv(doc: dict[str, Any], by: str, ids: tuple[str, ...]) -> str:
    """One row per store (or store and agent/day), one column per metric id."""
    key, rows = _rows(doc, by)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["store", *([key] if key else []), *ids])
    for store, k, values in rows:
        cells = ["" if values.get(i) is None else values.get(i) for i in ids]
        w.writerow([store, *([k] if key else []), *cells])
    return out.getvalue()


def render_table(doc: dict[str, Any], by: str, ids: tuple[str, ...]) -> Table:
    """A rich table: metrics as rows when there are few stores/agents/days, else as columns."""
    key, rows = _rows(doc, by)
    names = [f"{s} {k}".strip() for s, k, _ in rows]
    if len(rows) <= len(ids):
        table = Table(title=f"service insight by {by}")
        table.add_column("metric")
        for n in names:
            table.add_column(n, justify="right")
        for i in ids:
            table.add_row(i, *[_fmt(v.get(i)) for _, _, v in rows])
        return table
    table = Table(title=f"service insight by {by}")
    table.add_column("store")
    if key:
        table.add_column(key)
    for i in ids:
        table.add_column(i, justify="right")
    for s, k, v in rows:
        table.add_row(s, *([k] if key else []), *[_fmt(v.get(i)) for i in ids])
    return table


def insight_command(
    events: Path = typer.Argument(
        ...,
        help="Events (JSON Lines, .jsonl.gz, Parquet) or a folder of fact tables (--save-facts).",
        show_default=False,
    ),
    day_from: str | None = typer.Option(
        None, "--from", help="First day (YYYY-MM-DD, store-local), inclusive. Default: all."
    ),
    day_to: str | None = typer.Option(
        None, "--to", help="Last day (YYYY-MM-DD, store-local), inclusive. Default: all."
    ),
    by: str = typer.Option("store", "--by", help="Rows: store | agent | day (table and CSV)."),
    fmt: str = typer.Option(
        "table", "--format", "-f", help="table | json (the whole metrics.json document) | csv."
    ),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="Store settings (TOML, config.md): [insight], timezone."
    ),
    backend: str = typer.Option("duckdb", "--backend", help="duckdb (in-process) | pyspark."),
    metrics: str | None = typer.Option(
        None, "--metrics", "-m", help="Comma-separated metric ids to show (table and CSV)."
    ),
    save_facts: Path | None = typer.Option(
        None, "--save-facts", help="Also write the fact tables as Parquet to this folder."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Store funnel, agent KPIs, 3-minute reply rate and transfer entry of EVENTS."""
    for name, value, allowed in (("--by", by, BY), ("--format", fmt, FORMATS),
                                 ("--backend", backend, BACKENDS)):  # fmt: skip
        if value not in allowed:
            err.print(f"[red]{name} must be one of {', '.join(allowed)}[/red]")
            raise typer.Exit(2)
    try:
        first = date.fromisoformat(day_from) if day_from else None
        last = date.fromisoformat(day_to) if day_to else None
    except ValueError as e:
        err.print(f"[red]bad date:[/red] {e}")
        raise typer.Exit(2) from None
    default_ids = TOTAL_IDS if by != "agent" else AGENT_IDS
    ids = tuple(m.strip() for m in metrics.split(",")) if metrics else default_ids
    unknown = [i for i in ids if i not in TOTAL_IDS]
    if unknown:
        err.print(f"[red]unknown metric id(s):[/red] {', '.join(unknown)}")
        raise typer.Exit(2)
    cfg = settings_or_exit(config)
    input_or_exit(events)
    if events.is_dir():
        tables = read_parquet(events)
    else:
        with Progress(TextColumn("replay"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=err, transient=True,
                      disable=quiet) as bar:  # fmt: skip
            task = bar.add_task("replay", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            tables, stats = facts_from_log(events, cfg, progress)
        if stats.rejected:
            err.print(f"{len(stats.rejected)} line(s) rejected")
    if save_facts is not None:
        write_parquet(tables, save_facts)
    doc = compute(tables, cfg, backend=backend, day_from=first, day_to=last)
    if fmt == "json":
        sys.stdout.buffer.write(
            orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
        )
        sys.stdout.write("\n")
    elif fmt == "csv":
        sys.stdout.write(render_csv(doc, by, ids))
    else:
        Console().print(render_table(doc, by, ids))


def register(app: typer.Typer) -> None:
    """Add `kefu insight`."""
    app.command("insight")(insight_command)
