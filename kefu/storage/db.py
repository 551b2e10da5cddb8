"""Database set-up: URL resolution, engines, sessions and Alembic migrations.

SQLite is the zero-set-up default (`./var/kefu.db`); PostgreSQL is chosen by URL (`--db` or
`KEFU_DB`). Both use the same models and the same migrations, run programmatically from the
package so an installed `kefu` needs no alembic.ini in the working directory.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

DEFAULT_URL = "sqlite:///./var/kefu.db"
MIGRATIONS = Path(__file__).parent / "migrations"
# Plain schemes people paste (Heroku-style `postgres://`, libpq-style `postgresql://`) go to
# psycopg 3, the one PostgreSQL driver kefu installs.
_PG_SCHEMES = ("postgres://", "postgresql://")


def database_url(explicit: str | None = None) -> str:
    """`--db` value, else $KEFU_DB, else `./var/kefu.db`; `postgresql://` → psycopg 3.

    The folder of a SQLite file is created, so the default works in any fresh directory.
    """
    url = explicit or os.environ.get("KEFU_DB") or DEFAULT_URL
    for scheme in _PG_SCHEMES:
        if url.startswith(scheme):
            url = "postgresql+psycopg://" + url.removeprefix(scheme)
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    return url


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for in-memory SQLite and for other databases."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    if u.database.startswith("file:"):  # URI form: sqlite:///file:path?mode=...&uri=true
        return Path(u.database.removeprefix("file:"))
    return Path(u.database)


def metadata() -> MetaData:
    """Every kefu table: `Base.metadata` once each capability's `kefu/<package>/models.py` is
    imported (a capability owns its tables; migrations, `kefu db` and tests need them all)."""
    import kefu
    from kefu.storage.models import Base

    root = Path(kefu.__file__).parent
    for sub in sorted(p.parent.name for p in root.glob("*/models.py")):
        importlib.import_module(f"kefu.{sub}.models")
    return Base.metadata


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers (API, reports) run while the engine writes; the busy timeout makes a
    # second writer wait for the lock instead of failing at once.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def make_engine(url: str | None = None) -> Engine:
    """An engine for `url` (resolved by `database_url`) with sensible per-dialect settings."""
    resolved = database_url(url)
    if make_url(resolved).get_backend_name() == "sqlite":
        kw: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
        if sqlite_path(resolved) is None:
            kw["poolclass"] = StaticPool  # one shared connection, or each sees its own database
        engine = create_engine(resolved, **kw)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(resolved, pool_pre_ping=True, pool_size=10, max_overflow=10)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to `engine` that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Any:
    """An Alembic config pointing at the packaged migrations (no alembic.ini needed)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # `%` would be read as interpolation by configparser (passwords may contain it).
    url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def _run(engine_or_url: Engine | str | None, fn: str, revision: str) -> None:
    from alembic import command

    own = not isinstance(engine_or_url, Engine)
    engine = make_engine(engine_or_url) if own else engine_or_url  # type: ignore[arg-type]
    assert isinstance(engine, Engine)
    try:
        cfg = alembic_config(engine)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            getattr(command, fn)(cfg, revision)
    finally:
        if own:
            engine.dispose()  # an engine made here must not keep connections open


def upgrade(engine_or_url: Engine | str | None = None, revision: str = "head") -> None:
    """Bring the database to `revision` (default: the latest), in one transaction."""
    _run(engine_or_url, "upgrade", revision)


def downgrade(engine_or_url: Engine | str | None = None, revision: str = "base") -> None:
    """Take the database back to `revision` (default: no kefu tables at all)."""
    _run(engine_or_url, "downgrade", revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None before the first migration)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        rev: str | None = MigrationContext.configure(conn).get_current_revision()
        return rev


def head_revision() -> str | None:
    """The newest revision shipped in the package."""
    from alembic.script import ScriptDirectory

    head: str | None = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    return head
