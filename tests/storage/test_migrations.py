"""The packaged Alembic migrations build exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from kefu.storage.db import (
    current_revision,
    database_url,
    downgrade,
    head_revision,
    make_engine,
    metadata,
    sqlite_path,
    upgrade,
)

# The storage layer's own tables; capabilities add theirs (kefu/<package>/models.py).
STORAGE_TABLES = {
    "actions", "aftersales", "agents", "buyers", "conversations", "engine_snapshots", "events",
    "messages", "orders", "payments", "products", "stores", "timers",
}  # fmt: skip


def schema_diff(engine) -> list:
    with engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), metadata()))


def test_upgrade_from_nothing_builds_every_table_of_the_models(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision() is not None
        tables = {t.name for t in metadata().sorted_tables}
        assert tables >= STORAGE_TABLES
        assert set(inspect(engine).get_table_names()) == tables | {"alembic_version"}
        assert schema_diff(engine) == []  # what `alembic check` verifies
    finally:
        engine.dispose()


def test_upgrade_twice_is_a_no_op_and_downgrade_removes_everything(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    upgrade(empty_db_url)
    engine = make_engine(empty_db_url)
    try:
        assert current_revision(engine) == head_revision()
        downgrade(engine)
        assert current_revision(engine) is None
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        assert schema_diff(engine) == []
    finally:
        engine.dispose()


def test_the_indexes_the_engine_relies_on_exist(db_engine) -> None:
    insp = inspect(db_engine)

    def index_columns(table: str) -> set[tuple[str, ...]]:
        return {tuple(i["column_names"]) for i in insp.get_indexes(table)}

    def unique_columns(table: str) -> set[tuple[str, ...]]:
        return {tuple(u["column_names"]) for u in insp.get_unique_constraints(table)}

    assert ("store", "seq") in index_columns("events")
    assert ("store", "event_id") in unique_columns("events")
    assert ("store", "key") in unique_columns("actions")
    assert ("delivered_ms", "seq") in index_columns("actions")
    assert ("due_ms",) in index_columns("timers")
    assert ("store", "conversation", "seq") in index_columns("messages")
    assert ("store", "buyer") in index_columns("orders")
    assert insp.get_pk_constraint("timers")["constrained_columns"] == ["store", "key"]
    assert insp.get_pk_constraint("engine_snapshots")["constrained_columns"] == ["store"]


def test_url_comes_from_the_option_then_the_environment_then_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KEFU_DB", raising=False)
    assert database_url() == "sqlite:///./var/kefu.db"
    assert (tmp_path / "var").is_dir()  # created so the default works anywhere
    monkeypatch.setenv("KEFU_DB", "postgresql://u:p@db:5432/kefu")
    assert database_url() == "postgresql+psycopg://u:p@db:5432/kefu"
    assert database_url("postgres://h/k") == "postgresql+psycopg://h/k"
    assert database_url("postgresql+psycopg://h/k") == "postgresql+psycopg://h/k"
    explicit = f"sqlite:///{tmp_path / 'deep' / 'dir' / 'k.db'}"
    assert database_url(explicit) == explicit
    assert (tmp_path / "deep" / "dir").is_dir()
    assert sqlite_path("sqlite://") is None and sqlite_path("sqlite:///:memory:") is None


def test_installed_package_migrates_without_an_alembic_ini_in_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KEFU_DB", raising=False)
    upgrade()  # the default URL: ./var/kefu.db
    assert (tmp_path / "var" / "kefu.db").is_file()
    assert os.listdir(tmp_path) == ["var"]
    engine = make_engine()
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_in_memory_sqlite_keeps_one_database_across_connections() -> None:
    engine = make_engine("sqlite://")
    upgrade(engine)
    with engine.connect() as a, engine.connect() as b:
        assert "events" in inspect(a).get_table_names()
        assert "events" in inspect(b).get_table_names()
    engine.dispose()
