"""What every command does the same way: settings errors, missing or unreadable inputs and
unusable output paths are one line and exit code 2; what a read left out is pointed at."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from kefu.engine.readers import ReadStats
    from kefu.engine.settings import Config

err = Console(stderr=True, soft_wrap=True)  # a message stays one line, however long


@contextmanager
def migrated_transaction(db: str | None) -> Iterator[Session]:
    """One transaction on the database at `db` brought to the latest schema first; the
    engine is closed afterwards (a command's short use of the database)."""
    from kefu.storage.db import make_engine, session_factory, upgrade

    engine = make_engine(db)
    try:
        upgrade(engine)
        with session_factory(engine).begin() as s:
            yield s
    finally:
        engine.dispose()


def settings_or_exit(path: Path | None) -> Config:
    """The settings file, or a message naming the bad key and exit code 2."""
    from kefu.engine.settings import SettingsError, load_config

    try:
        return load_config(path)
    except SettingsError as e:
        err.print(f"[red]settings error:[/red] {e}")
        raise typer.Exit(2) from None


def settings_for_events(events: Path | None, config: Path | None) -> Config:
    """The settings for replaying `events`: `config` when given, else the settings file
    `kefu import` wrote beside the events (`x.settings.toml`, said on stderr), else defaults."""
    if config is None and events is not None and events.is_file():
        from kefu.importers.common import settings_path

        beside = settings_path(events)
        if beside.is_file():
            err.print(f"settings: {beside} (beside the events; --config to choose others)")
            config = beside
    return settings_or_exit(config)


def input_or_exit(path: Path) -> Path:
    """`path` if it exists, else a clear message and exit code 2."""
    if not path.exists():
        err.print(f"[red]no such file:[/red] {path}")
        raise typer.Exit(2)
    return path


def command_group(app: typer.Typer, name: str, help_text: str) -> typer.Typer:
    """The app's sub-command group `name`, created if nobody registered it yet: modules
    sharing a group (`eval`, `train`) join it instead of shadowing each other."""
    for info in app.registered_groups:
        if info.name == name and info.typer_instance is not None:
            return info.typer_instance
    sub = typer.Typer(help=help_text, no_args_is_help=True)
    app.add_typer(sub, name=name)
    return sub


def readable_file_or_exit(path: Path, folder_ok: bool = False) -> Path:
    """`path` if it is a file this process may read (or a folder, with `folder_ok`); else one
    line saying what is wrong and exit code 2."""
    input_or_exit(path)
    if path.is_dir() and not folder_ok:
        err.print(
            f"[red]{path} is a folder:[/red] give an events file (.jsonl, .jsonl.gz, .parquet)"
        )
        raise typer.Exit(2)
    if not os.access(path, os.R_OK):
        err.print(f"[red]permission denied:[/red] cannot read {path}")
        raise typer.Exit(2)
    if path.is_file() and path.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            pq.ParquetFile(str(path))
        except (OSError, ValueError) as e:  # ArrowInvalid / ArrowIOError
            err.print(f"[red]{path} is not a readable Parquet file:[/red] {e}", highlight=False)
            raise typer.Exit(2) from None
    return path


def output_dir_or_exit(path: Path) -> Path:
    """`path` as an output folder (created when missing); a file there, or a folder this
    process may not write, is one line and exit code 2 before any work is done."""
    if path.exists() and not path.is_dir():
        err.print(f"[red]--out {path} is a file:[/red] give a folder (it is created if missing)")
        raise typer.Exit(2)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        err.print(f"[red]cannot create the folder {path}:[/red] {e.strerror or e}")
        raise typer.Exit(2) from None
    if not os.access(path, os.W_OK):
        err.print(f"[red]permission denied:[/red] cannot write into {path}")
        raise typer.Exit(2)
    return path


def report_read(
    source: Path, stats: ReadStats, rejected_file: Path | None = None, limit: int = 3
) -> int:
    """Tell the user what reading `source` left out, on stderr; the exit code it deserves.

    Rejected lines are pointed at (`rejected_file`, the first few inline); an empty input
    warns; a file that broke off keeps what was read but ends with exit code 2; nothing
    readable at all is exit code 1.
    """
    if stats.broken is not None and stats.lines == 0:
        err.print(f"[red]error:[/red] {source}: {stats.rejected[-1].reason}", highlight=False)
        return 2
    if stats.rejected:
        where = f" — see {rejected_file}" if rejected_file is not None else ""
        err.print(f"[yellow]{len(stats.rejected)} line(s) rejected[/yellow]{where}")
        for r in stats.rejected[:limit]:
            field = f" `{r.field}`" if r.field else ""
            err.print(f"  line {r.line}{field}: {r.reason}", markup=False, highlight=False)
    if stats.broken is not None:
        kept = f"the {stats.accepted} event(s) before it were used" if stats.accepted else ""
        err.print(
            f"[red]error:[/red] {source} stops at {stats.broken}" + (f"; {kept}" if kept else ""),
            highlight=False,
        )
        return 2
    if stats.lines == 0:
        err.print(f"[yellow]warning:[/yellow] {source} holds no events (empty file)")
        return 0
    if stats.accepted == 0 and stats.duplicates == 0:
        err.print("[red]nothing could be read[/red]")
        return 1
    return 0
