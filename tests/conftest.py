"""Fixtures shared by every test: a migrated database on SQLite and on PostgreSQL.

`db_url` is parametrized over both backends, so every test that touches the database runs on
both. PostgreSQL is the machine's service (127.0.0.1:5432, trust auth, database `test`); each
test session works in a database of its own, emptied before every test. When PostgreSQL does
not answer, its runs skip — except under `CI=true`, where they fail. `KEFU_TEST_DB=sqlite` or
`=postgresql` restricts the run to one backend.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from kefu.storage.db import make_engine, upgrade
from kefu.storage.models import Base
from kefu.testing import in_ci, shared_data

PG_ADMIN = os.environ.get("KEFU_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = [b for b in ("sqlite", "postgresql") if os.environ.get("KEFU_TEST_DB", b) == b]


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str | None]:
    """A fresh PostgreSQL database for this test session (None when unreachable)."""
    import psycopg

    admin = PG_ADMIN.replace("postgresql://", "postgresql://", 1)
    name = f"kefu_test_{os.getpid()}"
    try:
        conn = psycopg.connect(admin.replace("postgresql://", "postgres://"), autocommit=True,
                               connect_timeout=3)  # fmt: skip
    except psycopg.OperationalError as e:
        if in_ci():
            pytest.fail(f"PostgreSQL is required under CI=true: {e}")
        yield None
        return
    with conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with psycopg.connect(admin.replace("postgresql://", "postgres://"), autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database URL on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'kefu.db'}"
        upgrade(url)
        yield url
        return
    pg = request.getfixturevalue("pg_database")
    if pg is None:
        pytest.skip("PostgreSQL not reachable")
    engine = make_engine(pg)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as c:
        c.execute(text(f"TRUNCATE {tables} RESTART IDENTITY"))
    engine.dispose()
    yield pg


@pytest.fixture
def db_engine(db_url: str) -> Iterator[Engine]:
    """A SQLAlchemy engine on the migrated database."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def shared(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """`shared("conversations/x.csv")` → path, skipping when the shared data is absent."""
    return shared_data
