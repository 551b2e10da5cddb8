"""`kefu replay`: back-test settings on a log of events (virtual clock)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kefu.cli import common
from kefu.cli.common import (
    output_dir_or_exit,
    readable_file_or_exit,
    report_read,
    settings_for_events,
)

err = common.err


def replay_command(
    events: Path = typer.Argument(
        ..., help="Events: JSON Lines, .jsonl.gz or Parquet.", show_default=False
    ),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="Store settings (TOML, config.md). Defaults when omitted."
    ),
    out: Path = typer.Option(
        ..., "--out", "-o", help="Output folder for actions.jsonl, metrics.json, rejected.jsonl."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    encoding: str | None = typer.Option(
        None,
        "--encoding",
        help="Text encoding of EVENTS (default: UTF-8, with or without BOM; GB18030 and "
        "UTF-16 files are recognised).",
    ),
) -> None:
    """Replay EVENTS on their own clock and write actions, metrics and rejected lines to OUT."""
    readable_file_or_exit(events)
    cfg = settings_for_events(events, config)
    output_dir_or_exit(out)
    if encoding is not None:
        import codecs

        try:
            codecs.lookup(encoding)
        except LookupError:
            err.print(f"[red]unknown --encoding {encoding}[/red] (e.g. utf-8, gb18030, utf-16)")
            raise typer.Exit(2) from None
    from kefu.runtime.replay import replay

    with Progress(
        TextColumn("replay"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=quiet,
    ) as bar:
        task = bar.add_task("replay", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        summary = replay(events, cfg, out, progress, encoding)
    typer.echo(summary.line())
    code = report_read(events, summary.read, out / "rejected.jsonl")
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add `kefu replay`."""
    app.command("replay")(replay_command)
