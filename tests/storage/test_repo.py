"""The engine's storage operations on SQLite and PostgreSQL: idempotent, race-safe, complete."""

from __future__ import annotations

import threading

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.orm import Session

from kefu.storage import repo
from kefu.storage.db import current_revision
from kefu.storage.models import Base


def ev_row(i: str | None, store: str = "s1") -> repo.EventRow:
    return repo.EventRow(store=store, event_id=i, ts_ms=1, type="search", payload="{}")


def test_migrations_match_the_models(db_engine) -> None:
    assert current_revision(db_engine) is not None
    with db_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_append_events_is_idempotent_per_store_and_id(db_engine) -> None:
    with Session(db_engine) as s, s.begin():
        first = repo.append_events(s, [ev_row("e1"), ev_row(None), ev_row("e1"), ev_row("e2")])
    assert first[0] is not None and first[1] is not None and first[3] is not None
    assert first[2] is None  # the repeat inside the batch
    with Session(db_engine) as s, s.begin():
        again = repo.append_events(s, [ev_row("e1"), ev_row("e1", store="s2"), ev_row(None)])
    assert again[0] is None and again[1] is not None and again[2] is not None
    with Session(db_engine) as s:
        assert [seq for seq, _ in repo.events_after(s, "s1", 0, 100)] == sorted(
            x for x in [first[0], first[1], first[3], again[2]] if x is not None
        )


def test_concurrent_appends_of_the_same_id_store_it_once(db_engine) -> None:
    results: list[list[int | None]] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        barrier.wait()
        with Session(db_engine) as s, s.begin():
            results.append(repo.append_events(s, [ev_row("same")]))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [r[0] for r in results if r[0] is not None]
    assert len(winners) == 1


def test_put_actions_is_idempotent_on_the_key(db_engine) -> None:
    row = repo.ActionRow(store="s1", key="k1", ts_ms=1, type="urge.send", payload="{}")
    with Session(db_engine) as s, s.begin():
        assert repo.put_actions(s, [row, row]) == [True, False]
    with Session(db_engine) as s, s.begin():
        assert repo.put_actions(s, [row]) == [False]


def test_outbox_claims_never_overlap(db_engine) -> None:
    rows = [repo.ActionRow(store="s1", key=f"k{i}", ts_ms=i, type="t", payload="{}")
            for i in range(10)]  # fmt: skip
    with Session(db_engine) as s, s.begin():
        repo.put_actions(s, rows)
    if db_engine.dialect.name == "postgresql":
        s1, s2 = Session(db_engine), Session(db_engine)
        with s1.begin(), s2.begin():
            a = [x.seq for x in repo.undelivered_actions(s1, 6)]
            b = [x.seq for x in repo.undelivered_actions(s2, 6)]  # skips the rows s1 locked
            assert len(a) == 6 and len(b) == 4 and not set(a) & set(b)
            repo.mark_delivered(s1, a)
            repo.mark_delivered(s2, b)
        s1.close()
        s2.close()
    else:
        with Session(db_engine) as s, s.begin():
            repo.mark_delivered(s, [x.seq for x in repo.undelivered_actions(s, 100)])
    with Session(db_engine) as s:
        assert repo.undelivered_actions(s, 100) == []


def test_timers_and_snapshots_round_trip(db_engine) -> None:
    t1 = repo.TimerRow(store="s1", key="urge:c1", due_ms=10, kind="urge.due", payload="{}")
    t2 = repo.TimerRow(store="s1", key="urge:c2", due_ms=20, kind="urge.due", payload="{}")
    with Session(db_engine) as s, s.begin():
        repo.save_timers(s, "s1", [t1, t2], [])
        repo.save_snapshot(s, "s1", b"\x00state", 7)
    with Session(db_engine) as s, s.begin():
        moved = repo.TimerRow(store="s1", key="urge:c2", due_ms=25, kind="urge.due", payload="{}")
        repo.save_timers(s, "s1", [moved], ["urge:c1"])
        repo.save_snapshot(s, "s1", b"\x01state", 9)
    with Session(db_engine) as s:
        assert [(t.key, t.due_ms) for t in repo.load_timers(s, "s1")] == [("urge:c2", 25)]
        assert [t.key for t in repo.due_timers(s, 30, 10)] == ["urge:c2"]
        assert repo.due_timers(s, 24, 10) == []
        assert repo.load_snapshot(s, "s1") == (b"\x01state", 9)
        assert repo.load_snapshot(s, "other") is None
