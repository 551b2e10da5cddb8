"""`kefu db`: migrations and a look at what the database holds."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

err = Console(stderr=True)
out = Console()
db_app = typer.Typer(help="Database: migrate, inspect, reset.", no_args_is_help=True)

DB_OPTION = typer.Option(
    None, "--db", help="Database URL (default: $KEFU_DB or sqlite:///./var/kefu.db)."
)


@db_app.command("upgrade")
def upgrade_command(db: str | None = DB_OPTION) -> None:
    """Apply every pending migration."""
    from kefu.storage.db import current_revision, make_engine, upgrade

    engine = make_engine(db)
    upgrade(engine)
    out.print(f"database {engine.url!r} at revision {current_revision(engine)}")


@db_app.command("info")
def info_command(db: str | None = DB_OPTION) -> None:
    """Show the revision and the row count of every table."""
    from sqlalchemy import func, inspect, select

    from kefu.storage.db import current_revision, make_engine
    from kefu.storage.models import Base

    engine = make_engine(db)
    existing = set(inspect(engine).get_table_names())
    table = Table(title=f"{engine.url!r} — revision {current_revision(engine) or 'none'}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    with engine.connect() as conn:
        for t in Base.metadata.sorted_tables:
            n = conn.execute(select(func.count()).select_from(t)).scalar_one() if (
                t.name in existing) else None  # fmt: skip
            table.add_row(t.name, f"{n:,}" if n is not None else "— (not migrated)")
    out.print(table)


@db_app.command("reset")
def reset_command(
    db: str | None = DB_OPTION,
    yes: bool = typer.Option(False, "--yes", help="Confirm: drop every kefu table and data."),
) -> None:
    """Drop every kefu table, then migrate again (an empty database)."""
    from sqlalchemy import text

    from kefu.storage.db import make_engine, upgrade
    from kefu.storage.models import Base

    if not yes:
        err.print("[red]refusing to drop data without --yes[/red]")
        raise typer.Exit(2)
    engine = make_engine(db)
    Base.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade(engine)
    out.print(f"database {engine.url!r} reset")


def register(app: typer.Typer) -> None:
    """Add `kefu db …`."""
    app.add_typer(db_app, name="db")
