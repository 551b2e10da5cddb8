"""The shared test fixtures keep their promises: empty migrated databases, data lookup rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from kefu.storage import repo
from kefu.storage.db import current_revision, head_revision, metadata
from kefu.testing import shared_data


def assert_empty_and_migrated(engine) -> None:
    assert current_revision(engine) == head_revision()
    with engine.connect() as c:
        for t in metadata().sorted_tables:
            assert c.execute(select(func.count()).select_from(t)).scalar_one() == 0, t.name


# Two tests that dirty the database: whichever runs second still starts from nothing, with
# sequences starting again at 1.
@pytest.mark.parametrize("n", [1, 2])
def test_each_test_starts_from_an_empty_migrated_database(db_session, db_engine, n) -> None:
    assert_empty_and_migrated(db_engine)
    row = repo.EventRow(store="s", event_id="e", ts_ms=1, type="search", payload="{}")
    assert repo.append_events(db_session, [row]) == [1]
    repo.save_snapshot(db_session, "s", b"x", 1)
    db_session.commit()


def test_shared_data_skips_when_absent_and_fails_under_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEFU_SHARED_DATA", str(tmp_path))
    (tmp_path / "x.csv").write_text("a\n")
    assert shared_data("x.csv") == tmp_path / "x.csv"
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        shared_data("missing.csv")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        shared_data("missing.csv")


def test_shared_data_is_also_a_fixture(shared_data, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KEFU_SHARED_DATA", str(tmp_path))
    (tmp_path / "y").mkdir()
    assert shared_data("y") == tmp_path / "y"
