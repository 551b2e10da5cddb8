"""`kefu import`: turn a public data set into a kefu events file that `kefu replay` reads."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from kefu.cli import common
from kefu.importers import run_import

err = common.err


class Format(StrEnum):
    """The data sets `kefu import` reads (mappings in docs/importers.md)."""

    twcs = "twcs"
    jddc = "jddc"
    uci_retail = "uci-retail"
    taobao = "taobao"
    groceries = "groceries"
    keywords = "keywords"


FORMAT_HELP = (
    "twcs: Customer Support on Twitter (twcs.csv); "
    "jddc: JD.com chats (the *context* file, its *response* file beside it); "
    "uci-retail: UCI Online Retail invoices; "
    "taobao: Taobao UserBehavior clicks; "
    "groceries: member-day grocery baskets; "
    "keywords: market keyword CSV (date, keyword, search_popularity, online_products, "
    "click_share) into the database (--db), not an events file."
)


def import_command(
    fmt: Format = typer.Argument(..., metavar="FORMAT", help=FORMAT_HELP, show_default=False),
    path: Path = typer.Argument(
        ..., metavar="PATH", help="The data file (CSV or text; .gz accepted).", show_default=False
    ),
    out: str | None = typer.Option(
        None, "--out", "-o", help="Events file: .jsonl, or .jsonl.gz to compress; - for stdout."
    ),
    store: str | None = typer.Option(
        None,
        "--store",
        "-s",
        help="Store name of the events (default: jd, uci-retail, taobao, groceries). "
        "For twcs, where each company is a store: keep only this company (e.g. AmazonHelp).",
    ),
    limit: int | None = typer.Option(
        None, "--limit", "-n", min=1, help="Read at most N data rows (lines for jddc)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    db: str | None = typer.Option(
        None, "--db", help="keywords only: database URL (default $KEFU_DB or ./var/kefu.db)."
    ),
) -> None:
    """Import PATH in FORMAT and write its events, ordered by time, to OUT.

    Bad rows are skipped and counted, never fatal; the first few are listed with their line
    number after the one-line summary.
    """
    if fmt is Format.keywords:
        from kefu.cli.traffic_cmd import import_keywords

        import_keywords(path, store or "default", db)
        return
    if out is None:
        err.print("[red]--out is required[/red] (an events file, or - for stdout)")
        raise typer.Exit(2)
    if not path.is_file():
        err.print(f"[red]no such file:[/red] {path}")
        raise typer.Exit(2)
    if out != "-":
        Path(out).parent.mkdir(parents=True, exist_ok=True)
    with Progress(
        TextColumn("{task.description:<9}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=quiet,
    ) as bar:
        task = bar.add_task("reading", total=None)

        def progress(phase: str, done: int, total: int | None) -> None:
            bar.update(task, description=phase, completed=done, total=total)

        try:
            report = run_import(fmt.value, path, out, store=store, limit=limit, progress=progress)
        except (ValueError, FileNotFoundError) as e:
            err.print(f"[red]cannot import:[/red] {e}")
            raise typer.Exit(2) from None
    summary = report.line()
    typer.echo(summary, err=out == "-")  # stdout carries the events with `--out -`
    for line, reason in report.examples:
        typer.echo(f"  line {line}: {reason}", err=True)
    if report.settings is not None:
        typer.echo(
            f"settings for this log: {report.settings} ({report.settings_why}); "
            f"kefu replay reads it when no --config is given",
            err=True,
        )
    if report.events == 0 and report.rows > 0:
        err.print("[red]nothing could be imported[/red]")
        raise typer.Exit(1)
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    """Add `kefu import`."""
    app.command("import")(import_command)
