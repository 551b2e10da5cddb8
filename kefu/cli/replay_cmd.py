"""`kefu replay`: back-test settings on a log of events (virtual clock)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kefu.cli.common import input_or_exit, settings_or_exit
from kefu.engine.replay import replay

err = Console(stderr=True)


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
) -> None:
    """Replay EVENTS on their own clock and write actions, metrics and rejected lines to OUT."""
    cfg = settings_or_exit(config)
    input_or_exit(events)
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

        summary = replay(events, cfg, out, progress)
    typer.echo(summary.line())
    if summary.events == 0 and summary.rejected > 0:
        err.print("[red]nothing could be read[/red]")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `kefu replay`."""
    app.command("replay")(replay_command)
