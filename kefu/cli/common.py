"""What every command does the same way: settings errors and missing inputs exit with code 2."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from kefu.engine.settings import Config, SettingsError, load_config

err = Console(stderr=True)


def settings_or_exit(path: Path | None) -> Config:
    """The settings file, or a message naming the bad key and exit code 2."""
    try:
        return load_config(path)
    except SettingsError as e:
        err.print(f"[red]settings error:[/red] {e}")
        raise typer.Exit(2) from None


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
