"""`kefu db`: migrations and a look at what the database holds."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from kefu.cli import common

if TYPE_CHECKING:
    from sqlalchemy import Engine

err = common.err
out = Console()
db_app = typer.Typer(
    help="Database: migrate, inspect, reset (SQLite by default, PostgreSQL by URL).",
    no_args_is_help=True,
)

DB_OPTION = typer.Option(
    None,
    "--db",
    help="Database URL, e.g. sqlite:///./var/kefu.db or postgresql://user@host/kefu "
    "(default: $KEFU_DB, else sqlite:///./var/kefu.db).",
)


@contextmanager
def _engine(db: str | None) -> Iterator[Engine]:
    """An engine on `db`; a database that cannot be reached is a one-line error, exit 1."""
    from sqlalchemy.exc import OperationalError

    from kefu.storage.db import make_engine

    engine = make_engine(db)
    try:
        yield engine
    except OperationalError as e:
        err.print(f"[red]cannot use {engine.url!r}:[/red] {str(e.orig).strip().splitlines()[0]}")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()


@db_app.command("upgrade")
def upgrade_command(db: str | None = DB_OPTION) -> None:
    """Apply every pending migration (creates the tables on a new database)."""
    from kefu.storage.db import current_revision, upgrade

    with _engine(db) as engine:
        before = current_revision(engine)
        upgrade(engine)
        after = current_revision(engine)
    note = "nothing to do" if before == after else f"was {before or 'empty'}"
    out.print(f"database {engine.url!r} at revision {after} ({note})")


@db_app.command("info")
def info_command(db: str | None = DB_OPTION) -> None:
    """Show the revision and the row count of every kefu table."""
    from sqlalchemy import func, inspect, select

    from kefu.storage.db import current_revision, head_revision, metadata

    with _engine(db) as engine:
        existing = set(inspect(engine).get_table_names())
        rev = current_revision(engine)
        head = head_revision()
        state = "up to date" if rev == head else f"behind {head}: run `kefu db upgrade`"
        table = Table(title=f"{engine.url!r} — revision {rev or 'none'} ({state})")
        table.add_column("table")
        table.add_column("rows", justify="right")
        with engine.connect() as conn:
            for t in sorted(metadata().sorted_tables, key=lambda t: t.name):
                if t.name in existing:
                    n = conn.execute(select(func.count()).select_from(t)).scalar_one()
                    table.add_row(t.name, f"{n:,}")
                else:
                    table.add_row(t.name, "— (not migrated)")
    out.print(table)


@db_app.command("reset")
def reset_command(
    db: str | None = DB_OPTION,
    yes: bool = typer.Option(False, "--yes", help="Confirm: drop every kefu table and its data."),
) -> None:
    """Drop every kefu table, then migrate again: an empty database at the latest revision."""
    from sqlalchemy import text

    from kefu.storage.db import metadata, upgrade

    if not yes:
        err.print("[red]refusing to drop data without --yes[/red]")
        raise typer.Exit(2)
    with _engine(db) as engine:
        metadata().drop_all(engine)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade(engine)
    out.print(f"database {engine.url!r} reset")


def register(app: typer.Typer) -> None:
    """Add `kefu db …`."""
    app.add_typer(db_app, name="db")
