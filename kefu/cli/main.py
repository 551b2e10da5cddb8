"""The `kefu` command: one typer app; each command group lives in its own module.

Command modules are imported only when their command runs (or its own `--help` is asked):
`kefu --help` and `kefu --version` load no analytics, model or web libraries. A user's
mistake (a folder given as a file, a corrupt archive, an output path that is a file) ends in
one line saying what to do and exit code 2, never a traceback (kefu.cli.errors).
"""

from __future__ import annotations

import importlib
from difflib import get_close_matches
from typing import Any

import typer
from typer import _click as click  # typer vendors click; its classes are these
from typer.core import TyperCommand, TyperGroup

from kefu.cli.errors import user_error_message

# name -> (modules that register it, the one-line help of `kefu --help`), in listing order.
COMMANDS: dict[str, tuple[tuple[str, ...], str]] = {
    "replay": (
        ("replay_cmd",),
        "Replay EVENTS on their own clock and write actions, metrics and rejected lines to OUT.",
    ),
    "import": (("import_cmd",), "Import PATH in FORMAT and write its events, ordered by time."),
    "simulate": (("simulate_cmd",), "Generate simulated store events, deterministic per seed."),
    "serve": (("serve_cmd",), "Run the live server: events in, rules, timers, REST + WebSocket."),
    "demo": (("demo_cmd",), "Start a demo store: simulated history, then the live server."),
    "traffic": (("traffic_cmd",), "Product-card traffic of EVENTS (metrics.md §7)."),
    "keywords": (
        ("traffic_cmd",),
        "Market keywords (市场洞察, metrics.md §8): rank, import, suggest.",
    ),
    "insight": (
        ("insight_cmd",),
        "Service insight of a log or a database's roll-ups; rebuild them.",
    ),
    "report": (("report_cmd",), "Reports of a log: the 转人工 (handoff) A/B and rollout report."),
    "backtest": (("backtest_cmd",), "Back-test settings on history (urge)."),
    "faq": (("faq_cmd",), "The FAQ bot: learn entries from conversations, ask it questions."),
    "eval": (("faq_cmd", "guide_cmd"), "Offline evaluation of kefu's models."),
    "train": (("guide_cmd",), "Train kefu's models."),
    "loadtest": (("loadtest_cmd",), "Load-test kefu on this machine, then integrity checks."),
    "db": (("db_cmd",), "Database: migrate, inspect, reset (SQLite by default, PostgreSQL)."),
    "token": (("token_cmd",), "Create API tokens (staff) and widget tokens (buyers)."),
    "account": (("account_cmd",), "Password accounts: the first admin, password resets."),
    "openapi": (("openapi_cmd",), "Write the REST API's OpenAPI document (no server started)."),
}


def load_command(name: str) -> click.Command | None:
    """The real click command `name`, built from the modules that register it."""
    if name not in COMMANDS:
        return None
    host = typer.Typer(rich_markup_mode="markdown")
    for module in COMMANDS[name][0]:
        importlib.import_module(f"kefu.cli.{module}").register(host)
    group = typer.main.get_group(host)
    return group.commands.get(name)


class KefuGroup(TyperGroup):
    """Lazy sub-commands and one-line user errors for the whole command tree."""

    _listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if self._listing and cmd_name in COMMANDS:
            # The overview needs only names and one-liners: no module is imported for it.
            return TyperCommand(name=cmd_name, help=COMMANDS[cmd_name][1])
        return load_command(cmd_name)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.UsageError as e:
            matches = get_close_matches(args[0], list(COMMANDS)) if args else []
            if matches and "Did you mean" not in e.message:
                e.message = f"{e.message.rstrip('.')}. Did you mean {matches[0]!r}?"
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            message = user_error_message(exc)
            if message is None:
                raise
            click.echo(f"error: {message}", err=True)
            raise typer.Exit(2) from None


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"kefu {version('kefu')}")
        except PackageNotFoundError:  # pragma: no cover - a source tree without metadata
            typer.echo("kefu (version unknown: not installed)")
        raise typer.Exit()


app = typer.Typer(
    name="kefu",
    cls=KefuGroup,
    help="kefu (客服): an open-source customer-service platform for e-commerce stores.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain overview: rich and its Markdown parser load only for a command
)


@app.callback()
def main(
    version: bool = typer.Option(
        False,
        "--version",
        "-V",
        callback=_version,
        is_eager=True,
        help="Print kefu's version and exit.",
    ),
) -> None:
    """kefu (客服): events in, actions out. Run `kefu COMMAND --help` for each command."""


if __name__ == "__main__":  # pragma: no cover
    app()
