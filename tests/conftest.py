"""Fixtures shared by every test: a migrated database on SQLite and on PostgreSQL.

Every test that uses `db_url` (or `db_engine`, `db_session`, `empty_db_url`) runs once per
backend: `[sqlite]` on a file in tmp_path, `[postgresql]` on the machine's service
(127.0.0.1:5432, trust auth, database `test`, user postgres or root; $KEFU_TEST_PG overrides
the admin URL). This session works in a PostgreSQL database of its own
(`kefu_test_<pid>_<n>`, dropped at the end) and empties it before each test, so every test
starts from an empty, migrated database. When PostgreSQL does not answer its runs skip —
except under `CI=true`, where they fail. `--db-only sqlite|postgresql` (or
$KEFU_TEST_DB) restricts the run to one backend; `-m "not pg"` works too.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from kefu.storage.db import make_engine, metadata, session_factory, upgrade
from kefu.testing import in_ci, shared_data

BACKENDS = ("sqlite", "postgresql")
PG_CANDIDATES = (
    "postgresql://postgres@127.0.0.1:5432/test",
    "postgresql://root@127.0.0.1:5432/test",
)
_names = itertools.count(1)


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--db-only`: run the database tests on one backend only."""
    parser.addoption(
        "--db-only",
        choices=BACKENDS,
        default=None,
        help="run database tests on this backend only (default: both; env KEFU_TEST_DB)",
    )


def selected_backends(config: pytest.Config) -> list[str]:
    """The backends this run covers: --db-only, else $KEFU_TEST_DB, else both."""
    only = config.getoption("--db-only") or os.environ.get("KEFU_TEST_DB") or None
    if only is None:
        return list(BACKENDS)
    if only not in BACKENDS:
        raise pytest.UsageError(f"KEFU_TEST_DB must be one of {BACKENDS}, not {only!r}")
    return [only]


def pytest_configure(config: pytest.Config) -> None:
    """Register the `backends` marker."""
    config.addinivalue_line(
        "markers", "backends(*names): run this database test on these backends only"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run each database test once per selected backend (PostgreSQL runs are marked `pg`)."""
    if "db_backend" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("backends")
        allowed = set(marker.args) if marker else set(BACKENDS)
        params = [
            pytest.param(b, id=b, marks=[pytest.mark.pg] if b == "postgresql" else [])
            for b in selected_backends(metafunc.config)
            if b in allowed
        ]
        metafunc.parametrize("db_backend", params, indirect=True)


# -- PostgreSQL ----------------------------------------------------------------------------


def _pg_connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=3)


@pytest.fixture(scope="session")
def pg_admin() -> str | None:
    """A URL on PostgreSQL's `test` database that may create databases; None if unreachable."""
    import psycopg

    env = os.environ.get("KEFU_TEST_PG")
    errors = []
    for url in [env] if env else PG_CANDIDATES:
        try:
            with _pg_connect(url):
                pass
        except psycopg.OperationalError as e:
            errors.append(f"{url}: {str(e).strip()}")
            continue
        _drop_stale_databases(url)
        return url
    if in_ci():
        pytest.fail("PostgreSQL is required under CI=true: " + "; ".join(errors))
    return None


def _drop_stale_databases(admin: str) -> None:
    """Drop the databases of test sessions that died before their clean-up."""
    import psycopg

    with _pg_connect(admin) as conn:
        names = [r[0] for r in conn.execute("SELECT datname FROM pg_database")]
        for name in names:
            m = re.fullmatch(r"kefu_test_(\d+)_\d+", name)
            if m is None or _alive(int(m.group(1))):
                continue
            with contextlib.suppress(psycopg.Error):  # no FORCE: one still in use stays
                conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def create_pg_database(admin: str) -> str:
    """A new empty database `kefu_test_<pid>_<n>`; its URL."""
    name = f"kefu_test_{os.getpid()}_{next(_names)}"
    with _pg_connect(admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin.rsplit("/", 1)[0] + f"/{name}"


def drop_pg_database(admin: str, url: str) -> None:
    """Drop a database made by `create_pg_database`, whoever is still connected."""
    name = url.rsplit("/", 1)[1]
    with _pg_connect(admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_admin_or_skip(request: pytest.FixtureRequest) -> str:
    admin: str | None = request.getfixturevalue("pg_admin")
    if admin is None:
        pytest.skip("PostgreSQL not reachable (CI=true makes this a failure)")
    return admin


@pytest.fixture(scope="session")
def pg_database(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """This session's migrated PostgreSQL database (an engine on it)."""
    admin = _pg_admin_or_skip(request)
    url = create_pg_database(admin)
    engine = make_engine(url)
    upgrade(engine)
    yield engine
    engine.dispose()
    drop_pg_database(admin, url)


def _empty_pg(engine: Engine) -> None:
    """Delete every row and restart the sequences: cheaper than TRUNCATE on small tables."""
    with engine.begin() as conn:
        for table in reversed(metadata().sorted_tables):
            conn.execute(table.delete())
            col = table.autoincrement_column
            if col is not None:
                conn.execute(
                    text("SELECT setval(pg_get_serial_sequence(:t, :c), 1, false)"),
                    {"t": table.name, "c": col.name},
                )


# -- SQLite --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating every time costs ~0.25 s)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "kefu.db"
    upgrade(f"sqlite:///{path}")  # disposes its engine: the WAL is folded into the file
    return path


# -- the fixtures tests use ----------------------------------------------------------------


@pytest.fixture
def db_backend(request: pytest.FixtureRequest) -> str:
    """`sqlite` or `postgresql` (parametrized by `pytest_generate_tests`)."""
    backend: str = request.param
    return backend


@pytest.fixture
def db_url(db_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, migrated database on the backend of this run."""
    if db_backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "kefu.db"
        for suffix in ("", "-wal", "-shm"):
            src = template.with_name(template.name + suffix)
            if src.exists():
                shutil.copyfile(src, target.with_name(target.name + suffix))
        return f"sqlite:///{target}"
    engine: Engine = request.getfixturevalue("pg_database")
    _empty_pg(engine)
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def empty_db_url(db_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database without any table (for migration tests), on each backend."""
    if db_backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    admin = _pg_admin_or_skip(request)
    url = create_pg_database(admin)
    yield url
    drop_pg_database(admin, url)


@pytest.fixture
def db_engine(db_url: str) -> Iterator[Engine]:
    """A SQLAlchemy engine on the empty, migrated database."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db_session(db_engine: Engine) -> Iterator[Session]:
    """A session on the empty, migrated database; what the test did not commit is rolled back."""
    with session_factory(db_engine)() as session:
        yield session
        session.rollback()


@pytest.fixture(name="shared_data")
def shared_data_fixture() -> Callable[[str], Path]:
    """`shared_data("conversations/x.csv")` → path; skips when the shared data is absent."""
    return shared_data
