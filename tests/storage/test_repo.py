"""The engine's storage operations on SQLite and PostgreSQL: idempotent, ordered, race-safe."""

from __future__ import annotations

import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.storage import models, repo


def ev_row(i: str | None, store: str = "s1", ts: int = 1) -> repo.EventRow:
    return repo.EventRow(store=store, event_id=i, ts_ms=ts, type="search", payload=f'{{"n":{ts}}}')


def act_row(key: str, store: str = "s1", ts: int = 1) -> repo.ActionRow:
    return repo.ActionRow(store=store, key=key, ts_ms=ts, type="urge.send", payload=f'"{key}"')


def count(session: Session, model, **where) -> int:
    q = select(func.count()).select_from(model).filter_by(**where)
    return int(session.execute(q).scalar_one())


def test_the_same_event_id_is_stored_once_and_returns_none_the_second_time(db_session) -> None:
    s = db_session
    first = repo.append_events(s, [ev_row("e1"), ev_row(None), ev_row("e1"), ev_row("e2")])
    assert first == [1, 2, None, 3]  # the repeat inside the batch is a duplicate too
    s.commit()
    again = repo.append_events(s, [ev_row("e1"), ev_row("e1", store="s2"), ev_row(None)])
    # Ids are scoped by store; events without an id always append. (A PostgreSQL sequence
    # also spends a number on the refused row: seqs grow, with gaps.)
    assert again[0] is None and 3 < again[1] < again[2]  # type: ignore[operator]
    s.commit()
    assert count(s, models.Event) == 5
    assert count(s, models.Event, store="s1", event_id="e1") == 1


def test_log_order_is_batch_order_whether_or_not_events_carry_an_id(db_session) -> None:
    rows = [ev_row("a", ts=1), ev_row(None, ts=2), ev_row(None, ts=3), ev_row("b", ts=4),
            ev_row("a", ts=5), ev_row(None, ts=6)]  # fmt: skip
    seqs = repo.append_events(db_session, rows)
    assert seqs == [1, 2, 3, 4, None, 5]
    logged = repo.events_after(db_session, "s1", 0, 100)
    assert [p for _, p in logged] == ['{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}', '{"n":6}']
    big = repo.append_events(db_session, [ev_row(f"x{i}", ts=i) for i in range(2_500)])
    assert big == sorted(big) and len(set(big)) == 2_500  # across insertmanyvalues pages


def test_events_after_pages_through_one_store_in_log_order(db_session) -> None:
    rows = [ev_row(f"e{i}", store="A" if i % 2 else "B", ts=i) for i in range(10)]
    seqs = repo.append_events(db_session, rows)
    a_seqs = [q for q, r in zip(seqs, rows, strict=True) if r.store == "A"]
    page1 = repo.events_after(db_session, "A", 0, 3)
    page2 = repo.events_after(db_session, "A", page1[-1][0], 3)
    assert [q for q, _ in page1 + page2] == a_seqs
    assert [p for _, p in page2] == ['{"n":7}', '{"n":9}']
    assert repo.events_after(db_session, "A", a_seqs[-1], 3) == []


def test_a_racing_append_of_the_same_id_waits_for_the_first_and_gets_none(db_engine) -> None:
    first = Session(db_engine)
    first.begin()
    assert repo.append_events(first, [ev_row("same")]) == [1]
    result: dict[str, list[int | None]] = {}

    def second() -> None:
        with Session(db_engine) as s, s.begin():
            result["seqs"] = repo.append_events(s, [ev_row("same"), ev_row("other")])

    t = threading.Thread(target=second)
    t.start()
    t.join(0.5)
    assert t.is_alive()  # blocked by the first transaction (row lock / SQLite write lock)
    first.commit()
    first.close()
    t.join(15)
    assert result["seqs"][0] is None and result["seqs"][1] is not None
    with Session(db_engine) as s:
        assert count(s, models.Event, event_id="same") == 1


def test_concurrent_connections_appending_the_same_ids_store_each_once(db_engine) -> None:
    ids = [f"e{i}" for i in range(50)]
    results: list[list[int | None]] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        barrier.wait()
        with Session(db_engine) as s, s.begin():
            results.append(repo.append_events(s, [ev_row(i) for i in ids]))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 4
    for n in range(len(ids)):  # every id has exactly one winner among the connections
        assert sum(r[n] is not None for r in results) == 1
    with Session(db_engine) as s:
        assert count(s, models.Event) == 50


def test_put_actions_is_idempotent_on_the_key_and_keeps_order(db_session) -> None:
    s = db_session
    assert repo.put_actions(s, [act_row("k1"), act_row("k1"), act_row("k2")]) == [True, False, True]
    s.commit()
    assert repo.put_actions(s, [act_row("k2"), act_row("k3"), act_row("k1", store="s2")]) == [
        False, True, True]  # fmt: skip
    s.commit()
    keys = s.execute(select(models.Action.store, models.Action.key).order_by(models.Action.seq))
    assert keys.all() == [("s1", "k1"), ("s1", "k2"), ("s1", "k3"), ("s2", "k1")]
    assert repo.put_actions(s, []) == []


def test_outbox_claims_in_seq_order_and_delivered_actions_leave_it(db_session) -> None:
    s = db_session
    repo.put_actions(s, [act_row(f"k{i}", store="AB"[i % 2], ts=i) for i in range(6)])
    s.commit()
    claimed = repo.undelivered_actions(s, 4)
    assert [a.key for a in claimed] == ["k0", "k1", "k2", "k3"]
    assert [a.key for a in repo.undelivered_actions(s, 10, store="B")] == ["k1", "k3", "k5"]
    repo.mark_delivered(s, [a.seq for a in claimed], now_ms=1234)
    s.commit()
    assert [a.key for a in repo.undelivered_actions(s, 10)] == ["k4", "k5"]
    a = models.Action
    done = select(a.key, a.delivered_ms).where(a.delivered_ms.is_not(None)).order_by(a.seq)
    delivered = s.execute(done)
    assert delivered.all() == [("k0", 1234), ("k1", 1234), ("k2", 1234), ("k3", 1234)]


def test_two_sessions_never_claim_the_same_action(db_engine) -> None:
    with Session(db_engine) as s, s.begin():
        repo.put_actions(s, [act_row(f"k{i}", ts=i) for i in range(10)])
    if db_engine.dialect.name == "postgresql":
        s1, s2 = Session(db_engine), Session(db_engine)
        with s1.begin(), s2.begin():
            a = [x.seq for x in repo.undelivered_actions(s1, 6)]
            b = [x.seq for x in repo.undelivered_actions(s2, 6)]  # skips the rows s1 locked
            assert a == [1, 2, 3, 4, 5, 6] and b == [7, 8, 9, 10]
            repo.mark_delivered(s1, a)
            repo.mark_delivered(s2, b)
        s1.close()
        s2.close()
    else:  # SQLite deployments run one deliverer: claim and mark in one transaction
        with Session(db_engine) as s, s.begin():
            repo.mark_delivered(s, [x.seq for x in repo.undelivered_actions(s, 100)])
    with Session(db_engine) as s:
        assert repo.undelivered_actions(s, 100) == []


def test_timers_round_trip_move_and_delete(db_session) -> None:
    s = db_session
    t1 = repo.TimerRow(store="s1", key="urge:c1", due_ms=10, kind="urge.due", payload='{"a":1}')
    t2 = repo.TimerRow(store="s1", key="urge:c2", due_ms=20, kind="urge.due", payload="{}")
    t3 = repo.TimerRow(store="s2", key="urge:c1", due_ms=15, kind="alert.due", payload="{}")
    repo.save_timers(s, "s1", [t1, t2], [])
    repo.save_timers(s, "s2", [t3], [])
    s.commit()
    assert repo.load_timers(s, "s1") == [t1, t2]
    assert repo.due_timers(s, 15, 10) == [t1, t3]
    moved = repo.TimerRow(store="s1", key="urge:c2", due_ms=25, kind="urge.due", payload="{}")
    repo.save_timers(s, "s1", [moved], ["urge:c1"])  # deletes only s1's urge:c1
    s.commit()
    assert repo.load_timers(s, "s1") == [moved]
    assert repo.load_timers(s, "s2") == [t3]
    assert repo.due_timers(s, 30, 10) == [t3, moved]
    assert repo.due_timers(s, 30, 1) == [t3]
    assert repo.due_timers(s, 14, 10) == []


def test_many_timer_deletes_in_one_call(db_session) -> None:
    rows = [repo.TimerRow(store="s1", key=f"t{i}", due_ms=i, kind="k", payload="{}")
            for i in range(1_200)]  # fmt: skip
    repo.save_timers(db_session, "s1", rows, [])
    repo.save_timers(db_session, "s1", [], [f"t{i}" for i in range(1_199)])
    assert [t.key for t in repo.load_timers(db_session, "s1")] == ["t1199"]


def test_snapshot_round_trip_keeps_every_byte(db_session) -> None:
    s = db_session
    blob = bytes(range(256)) * 4096  # 1 MiB with NULs and high bytes
    assert repo.load_snapshot(s, "s1") is None
    repo.save_snapshot(s, "s1", b"old", 7)
    s.commit()
    repo.save_snapshot(s, "s1", blob, 9)
    s.commit()
    assert repo.load_snapshot(s, "s1") == (blob, 9)
    assert count(s, models.EngineSnapshot) == 1


def test_rows_of_store_a_are_invisible_to_queries_for_store_b(db_session) -> None:
    s = db_session
    repo.append_events(s, [ev_row("e1", store="A")])
    repo.put_actions(s, [act_row("k1", store="A")])
    repo.save_timers(s, "A", [repo.TimerRow(store="A", key="t", due_ms=1, kind="k",
                                            payload="{}")], [])  # fmt: skip
    repo.save_snapshot(s, "A", b"A-state", 1)
    s.commit()
    assert repo.events_after(s, "B", 0, 100) == []
    assert repo.undelivered_actions(s, 100, store="B") == []
    assert repo.load_timers(s, "B") == []
    repo.save_timers(s, "B", [], ["t"])  # B deleting "its" timer t leaves A's alone
    assert repo.load_snapshot(s, "B") is None
    # The same id / key in another store is another row.
    assert repo.append_events(s, [ev_row("e1", store="B")]) == [2]
    assert repo.put_actions(s, [act_row("k1", store="B")]) == [True]
    s.commit()
    assert [t.key for t in repo.load_timers(s, "A")] == ["t"]
    assert repo.load_snapshot(s, "A") == (b"A-state", 1)
