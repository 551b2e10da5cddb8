"""`kefu insight`: service-insight metrics (metrics.md §1-§3, §6) as table/JSON/CSV.

`kefu insight EVENTS …` replays a log; `kefu insight --db URL …` reads the daily roll-ups of
a kefu database (caught up with its event log first); `kefu insight rebuild` derives the
roll-ups again from the log. `insight` is a group whose default command is `report`, so
`kefu insight EVENTS` keeps working.
"""

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
from typer.core import TyperGroup

from kefu.cli import common
from kefu.cli.common import (
    readable_file_or_exit,
    report_read,
    settings_for_events,
    settings_or_exit,
)
from kefu.engine.settings import Config
from kefu.insight.backends import BACKENDS
from kefu.insight.build import facts_from_log
from kefu.insight.export import grouped_rows, render_csv
from kefu.insight.facts import read_parquet, write_parquet
from kefu.insight.metrics import AGENT_IDS, TOTAL_IDS, compute

err = common.err
BY = ("store", "agent", "day")
FORMATS = ("table", "json", "csv")


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1e6 else f"{value:.2f}"
    return str(value)


def render_tables(
    doc: dict[str, Any], by: str, ids: tuple[str, ...], width: int = 80
) -> tuple[list[Table], list[str]]:
    """Rich tables that fit `width` columns: metric ids as rows, stores (agents, days) as
    columns, split into as many tables as the width needs. Metrics with no value anywhere are
    left out and returned as the second item (json/csv still carry them)."""
    _, rows = grouped_rows(doc, by)
    names = [f"{s} {k}".strip() for s, k, _ in rows]
    shown = [i for i in ids if any(v.get(i) is not None for _, _, v in rows)]
    empty = [i for i in ids if i not in shown]
    if not rows or not shown:
        return [], empty
    label = max(len(i) for i in shown) + 3
    cells = [
        max(len(n), *(len(_fmt(v.get(i))) for i in shown)) + 3
        for n, (_, _, v) in zip(names, rows, strict=True)
    ]
    chunks: list[list[int]] = [[]]
    used = label + 1
    for j, w in enumerate(cells):
        if chunks[-1] and used + w > width:
            chunks.append([])
            used = label + 1
        chunks[-1].append(j)
        used += w
    tables = []
    for n, chunk in enumerate(chunks, 1):
        part = f" ({n}/{len(chunks)})" if len(chunks) > 1 else ""
        table = Table(title=f"service insight by {by}{part}", min_width=None)
        table.add_column("metric", no_wrap=True)
        for j in chunk:
            table.add_column(names[j], justify="right", no_wrap=True)
        for i in shown:
            table.add_row(i, *[_fmt(rows[j][2].get(i)) for j in chunk])
        tables.append(table)
    return tables, empty


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError as e:
        err.print(f"[red]bad date:[/red] {e}")
        raise typer.Exit(2) from None


def _bar(quiet: bool) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err, transient=True, disable=quiet)  # fmt: skip


def _rollups(db: str | None, cfg: Config, adopt: bool) -> Any:
    """The roll-ups of the database at `db` (migrated to the newest schema first)."""
    from kefu.insight.rollup import Rollups
    from kefu.storage.db import make_engine, upgrade

    engine = make_engine(db)
    upgrade(engine)
    return Rollups(engine, cfg, adopt_settings=adopt)


def _stores(rollups: Any, store: str | None) -> list[str]:
    known = rollups.stores()
    if store is None:
        return list(known)
    chosen = [s.strip() for s in store.split(",") if s.strip()]
    missing = [s for s in chosen if s not in known]
    if missing:
        err.print(f"[red]no events of store(s):[/red] {', '.join(missing)}")
        raise typer.Exit(2)
    return chosen


def _tables_from_db(
    db: str, store: str | None, cfg: Config, first: date | None, last: date | None,
    refresh: bool, quiet: bool,
) -> tuple[Any, list[str]]:  # fmt: skip
    """Fact tables of the stores for the range from the roll-ups (caught up unless told)."""
    from kefu.insight.metrics import day_number
    from kefu.insight.rollup import SettingsMismatch, read_facts

    rollups = _rollups(db, cfg, adopt=False)
    stores = _stores(rollups, store)
    if refresh:
        try:
            with _bar(quiet) as bar:
                for s in stores:
                    task = bar.add_task(f"catch up {s}", total=None)

                    def progress(done: int, total: int, task: Any = task) -> None:
                        bar.update(task, completed=done, total=total)

                    rollups.refresh(s, progress)
        except SettingsMismatch as e:
            err.print(f"[red]{e}[/red] (or --no-refresh to read them as they are)")
            raise typer.Exit(2) from None
    lo = day_number(first) if first else None
    hi = day_number(last) if last else None
    return read_facts(rollups.db, stores, lo, hi), stores


def insight_command(
    events: Path | None = typer.Argument(
        None,
        help="Events (JSON Lines, .jsonl.gz, Parquet) or a folder of fact tables (--save-facts)."
        " Not with --db.",
        show_default=False,
    ),
    db: str | None = typer.Option(
        None, "--db", help="Read the roll-ups of this kefu database (URL) instead of EVENTS."
    ),
    store: str | None = typer.Option(
        None, "--store", "-s", help="With --db: only these stores (comma-separated)."
    ),
    refresh: bool = typer.Option(
        True, "--refresh/--no-refresh", help="With --db: catch the roll-ups up with the log."
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
    """Store funnel, agent KPIs, 3-minute reply rate and transfer entry of EVENTS or --db."""
    for name, value, allowed in (("--by", by, BY), ("--format", fmt, FORMATS),
                                 ("--backend", backend, BACKENDS)):  # fmt: skip
        if value not in allowed:
            err.print(f"[red]{name} must be one of {', '.join(allowed)}[/red]")
            raise typer.Exit(2)
    first, last = _day(day_from), _day(day_to)
    if (events is None) == (db is None):
        err.print("[red]give EVENTS or --db URL (one of them)[/red]")
        raise typer.Exit(2)
    default_ids = TOTAL_IDS if by != "agent" else AGENT_IDS
    ids = tuple(m.strip() for m in metrics.split(",")) if metrics else default_ids
    unknown = [i for i in ids if i not in TOTAL_IDS]
    if unknown:
        err.print(f"[red]unknown metric id(s):[/red] {', '.join(unknown)}")
        raise typer.Exit(2)
    cfg = settings_for_events(events, config)
    stores: list[str] = []
    if db is not None:
        tables, stores = _tables_from_db(db, store, cfg, first, last, refresh, quiet)
    elif events is not None and readable_file_or_exit(events, folder_ok=True).is_dir():
        tables = read_parquet(events)
    elif events is not None:
        with _bar(quiet) as bar:
            task = bar.add_task("replay", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            tables, stats = facts_from_log(events, cfg, progress)
        code = report_read(events, stats)
        if code:
            raise typer.Exit(code)
    if save_facts is not None:
        write_parquet(tables, save_facts)
    doc = compute(tables, cfg, backend=backend, day_from=first, day_to=last, stores=stores)
    if fmt == "json":
        sys.stdout.buffer.write(
            orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
        )
        sys.stdout.write("\n")
    elif fmt == "csv":
        sys.stdout.write(render_csv(doc, by, ids))
    else:
        console = Console()
        tables, empty = render_tables(doc, by, ids, console.width)
        for table in tables:
            console.print(table)
        if not tables:
            err.print("no data for the chosen range and metrics")
        if empty:
            err.print(
                f"{len(empty)} metric(s) without data left out ({', '.join(empty[:4])}"
                f"{', …' if len(empty) > 4 else ''}); --format json or csv shows every id",
                highlight=False,
            )


def rebuild_command(
    db: str | None = typer.Option(
        None, "--db", help="Database URL (default: $KEFU_DB or sqlite:///./var/kefu.db)."
    ),
    store: str | None = typer.Option(
        None, "--store", "-s", help="Only these stores (comma-separated). Default: every store."
    ),
    day_from: str | None = typer.Option(
        None, "--from", help="Only the rows of days from this one (YYYY-MM-DD, store-local)."
    ),
    day_to: str | None = typer.Option(
        None, "--to", help="Only the rows of days up to this one (YYYY-MM-DD, store-local)."
    ),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="The server's store settings (TOML): the replay's rules."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Derive the daily roll-ups again from the event log (all days, or --from/--to only)."""
    from kefu.insight.metrics import day_number

    first, last = _day(day_from), _day(day_to)
    if first and last and first > last:
        err.print("[red]--from is after --to[/red]")
        raise typer.Exit(2)
    cfg = settings_or_exit(config)
    rollups = _rollups(db, cfg, adopt=True)
    days = (day_number(first) if first else None, day_number(last) if last else None)
    total_events = total_rows = 0
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, disable=quiet) as bar:  # fmt: skip
        for s in _stores(rollups, store):
            task = bar.add_task(f"rebuild {s}", total=None)

            def progress(done: int, total: int, task: Any = task) -> None:
                bar.update(task, completed=done, total=total)

            res = rollups.rebuild(s, days, progress)
            bar.update(task, completed=res.events, total=res.events)
            total_events += res.events
            total_rows += res.rows
    err.print(f"rebuilt: {total_events} events → {total_rows} roll-up rows")


REBUILD_HELP = (
    "Derive the daily roll-ups again from the event log (all days, or --from/--to only).\n\n"
    "Without a range a store's roll-ups are deleted and its log is followed from the start, "
    "in pieces, so a running server keeps working. With a range the log is replayed up to "
    "where the roll-ups are and only the rows of those days are replaced, in one transaction."
)


class _ReportByDefault(TyperGroup):
    """`kefu insight ARGS` means `kefu insight report ARGS` unless ARGS name a command."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["report", *args]
        return super().parse_args(ctx, args)


def follow_command(
    db: str | None = typer.Option(
        None, "--db", help="Database URL (default: $KEFU_DB or sqlite:///./var/kefu.db)."
    ),
    every: float = typer.Option(30.0, "--every", min=0.1, help="Seconds between refreshes."),
    once: bool = typer.Option(False, "--once", help="Refresh once and exit."),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="The server's store settings (TOML): the replay's rules."
    ),
) -> None:
    """Keep the roll-ups caught up with the log, in a process of its own.

    The live servers catch a store up when a report asks; on a busy deployment this follower
    does the replay beside them instead (its CPU is not the API's), so reports find the
    roll-ups nearly current. Several followers or servers share the work: a store another
    process is refreshing is left to it. Stops on Ctrl-C.
    """
    import time

    cfg = settings_or_exit(config)
    rollups = _rollups(db, cfg, adopt=True)
    try:
        while True:
            started = time.monotonic()
            done = rollups.follow_once()
            events = sum(r.events for r in done.values())
            if events or once:
                err.print(f"{len(done)} store(s) refreshed, {events} new events, "
                          f"{time.monotonic() - started:.1f} s")  # fmt: skip
            if once:
                return
            time.sleep(max(0.0, every - (time.monotonic() - started)))
    except KeyboardInterrupt:
        return


def register(app: typer.Typer) -> None:
    """Add `kefu insight` (report, the default), `kefu insight rebuild` and `… follow`."""
    group = typer.Typer(
        cls=_ReportByDefault,
        help="Service insight: metrics of a log or of a database's roll-ups; rebuild them.",
        no_args_is_help=True,
    )
    group.command("report")(insight_command)
    group.command("rebuild", help=REBUILD_HELP)(rebuild_command)
    group.command("follow")(follow_command)
    app.add_typer(group, name="insight")
