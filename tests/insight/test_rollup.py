"""Daily roll-ups: incremental == full rebuild, day-range reads, range rebuilds, two followers.

Runs on SQLite and PostgreSQL (`db_engine`). The events arrive through the live service in
batches; after each commit the roll-ups are refreshed the way the server does it
(`on_commit` marks the store dirty, the ticker's `refresh_dirty` catches it up).
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from sqlalchemy import Engine, func, select

from kefu.engine.clock import VirtualClock
from kefu.engine.events import Event
from kefu.engine.settings import parse_config
from kefu.insight.metrics import compute, day_number
from kefu.insight.models import FACT_TABLES
from kefu.insight.rollup import (
    Rollups,
    SettingsMismatch,
    delete_rows,
    read_rows,
)
from kefu.runtime.replay import replay_rows
from kefu.runtime.service import EngineService
from tests.insight.data import DAYS, Log

D1, D2, D3 = DAYS[1], DAYS[2], DAYS[3]
SETTINGS: dict[str, Any] = {
    "bot": {"enabled": False},
    # validity 3: a day-1 inquiry counts day-3 orders; 4 h: the 23:00 round stays one chat
    "insight": {"validity_days": 3},
    "store": {"session_timeout": "4h"},
}


def batches() -> list[list[Event]]:
    """The store's events in the batches they arrive in."""
    s = Log("roll")
    s.online(1, "08:00", "a1", "a2")
    s.buyer("u1", 1, "10:00:00")
    s.agent("a1", "u1", 1, "10:01:00")
    s.buyer("u3", 1, "14:00:00")
    s.agent("a1", "u3", 1, "14:01:00")
    first = s.events
    s.events = []
    s.buyer("u2", 1, "23:00:00")  # a round spanning 23:00–01:00
    second = s.events
    s.events = []
    s.agent("a2", "u2", 2, "01:00:00")
    s.add("order", 2, "11:00", order="o4", buyer="u4", amount=50.0)  # never chatted: silent
    s.add("payment", 2, "11:01", order="o4", amount=50.0)
    third = s.events
    s.events = []
    s.add("order", 3, "10:00", order="o3", buyer="u3", amount=120.0)  # credits the day-1 chat
    s.add("payment", 3, "10:05", order="o3", amount=120.0)
    return [first, second, third, s.events]


def _service(db: Engine) -> EngineService:
    return EngineService(db, parse_config(SETTINGS), clock=VirtualClock())


def _ingest(svc: EngineService, events: list[Event]) -> None:
    res = svc.ingest([msgspec.json.encode(e) for e in events])
    assert res.accepted == len(events)


def _fresh(db: Engine) -> Rollups:
    """A new process's roll-ups: nothing in memory, everything from the cursor."""
    return Rollups(db, parse_config(SETTINGS))


def test_incremental_equals_full_rebuild(db_engine: Engine) -> None:
    svc = _service(db_engine)
    rollups = _fresh(db_engine)
    svc.on_commit = rollups.on_commit
    seen: list[dict[str, Any]] = []
    for n, batch in enumerate(batches()):
        if n == 2:  # a restart between batches: the follower comes back from its cursor
            rollups = _fresh(db_engine)
            svc.on_commit = rollups.on_commit
        _ingest(svc, batch)
        assert set(rollups.refresh_dirty()) == {"roll"}
        seen.append(rollups.report(["roll"], refresh=False)["stores"]["roll"])
    rollups.mark_dirty(["roll"])
    assert rollups.refresh_dirty(min_interval_s=3600) == {}  # ran just now: throttled
    incremental = rollups.report(["roll"])
    by_day = {d: rollups.report(["roll"], d, d) for d in (D1, D2, D3)}

    # day 1 changes when the day-3 order arrives (last batch): validity 3, credited to a1
    assert seen[2]["days"][D1]["inquiry_order_buyers"] == 0
    day1 = seen[3]["days"][D1]
    assert (day1["inquiry_buyers"], day1["inquiry_order_buyers"], day1["inquiry_paid_buyers"]) \
        == (3, 1, 1)  # fmt: skip
    assert seen[3]["agents"]["a1"]["order_amount"] == 120.0
    assert seen[3]["days"][D3]["assisted_sales"] == 120.0
    assert seen[3]["days"][D2]["silent_sales"] == 50.0
    # the 23:00 chat: no person in it until the 01:00 reply (bot off: no routing), which
    # makes it a day-1 inquiry and a day-1 round of 7200 s
    assert seen[1]["days"][D1]["inquiry_buyers"] == 2
    assert seen[2]["days"][D1]["inquiry_buyers"] == 3
    assert seen[2]["agents"]["a2"]["avg_response_s"] == 7200.0
    assert seen[2]["days"][D1]["avg_response_s"] == (60 + 60 + 7200) / 3
    assert seen[2]["days"][D2]["agent_messages"] == 1  # the reply is a day-2 message
    assert seen[2]["days"][D2]["reply_rate"] is None  # its conversation belongs to day 1

    # a full rebuild (another process, from the log alone) gives the same documents
    again = _fresh(db_engine)
    res = again.rebuild("roll")
    assert res.events == sum(len(b) for b in batches())
    assert again.report(["roll"]) == incremental
    assert {d: again.report(["roll"], d, d) for d in (D1, D2, D3)} == by_day
    # … which are what the whole history gives, restricted to the range
    everything = replay_rows([e for b in batches() for e in b], parse_config(SETTINGS))
    assert compute(everything, parse_config(SETTINGS)) == incremental
    for d in (D1, D2, D3):
        assert compute(everything, parse_config(SETTINGS), day_from=d, day_to=d) == by_day[d]


def test_a_range_reads_the_buyers_of_the_range_and_their_rows(db_engine: Engine) -> None:
    svc = _service(db_engine)
    for batch in batches():
        _ingest(svc, batch)
    rollups = _fresh(db_engine)
    rollups.refresh("roll")
    d3 = day_number(D3)
    rows = read_rows(db_engine, ["roll"], d3, d3)
    # day 3 has u3's order and payment; u3's day-1 chat comes along (attribution needs it)
    assert set(rows["orders"].column("buyer").to_pylist()) == {"u3"}
    assert set(rows["messages"].column("buyer").to_pylist()) == {"u3"}
    assert rows["payments"].num_rows == 1
    d2 = day_number(D2)
    buyers = set(read_rows(db_engine, ["roll"], d2, d2)["messages"].column("buyer").to_pylist())
    assert buyers == {"u2"}  # u4 wrote nothing; u2's reply is on day 2


def test_range_rebuild_replaces_only_those_days(db_engine: Engine) -> None:
    svc = _service(db_engine)
    for batch in batches():
        _ingest(svc, batch)
    rollups = _fresh(db_engine)
    rollups.refresh("roll")
    before = rollups.report(["roll"])
    d2 = day_number(D2)
    with db_engine.begin() as conn:
        delete_rows(conn, "roll", (d2, d2))  # lose day 2
    assert rollups.report(["roll"]) != before
    res = rollups.rebuild("roll", (d2, d2))
    # the 01:00 reply and its assignment, the urge skipped at 01:05, the chat's timeout
    # close (05:00, fired by the 11:00 order), o4 and its payment: day 2 and nothing else
    assert res.rows == 6
    assert rollups.report(["roll"]) == before
    with db_engine.connect() as conn:
        n = conn.scalar(select(func.count()).select_from(FACT_TABLES["messages"]))
    assert n == 6  # each message once: rebuilding a range never duplicates


def test_two_processes_share_one_cursor_without_duplicates(db_engine: Engine) -> None:
    svc = _service(db_engine)
    a, b = _fresh(db_engine), _fresh(db_engine)
    for n, batch in enumerate(batches()):
        _ingest(svc, batch)
        (a if n % 2 == 0 else b).refresh("roll")  # each finds the other moved the cursor
    a.refresh("roll")
    b.refresh("roll")
    reference = replay_rows([e for bt in batches() for e in bt], parse_config(SETTINGS))
    assert a.report(["roll"], refresh=False) == compute(reference, parse_config(SETTINGS))
    with db_engine.connect() as conn:
        n = conn.scalar(select(func.count()).select_from(FACT_TABLES["messages"]))
    assert n == reference["messages"].num_rows == 6


def test_only_another_timezone_is_refused_unless_adopted(db_engine: Engine) -> None:
    """The rows hold what the live service decided; only the day a row falls on is read from
    the settings again, so a rule setting may change freely and a timezone may not."""
    svc = _service(db_engine)
    _ingest(svc, batches()[0])
    _fresh(db_engine).refresh("roll")
    rules = parse_config({**SETTINGS, "store": {"session_timeout": "30m"}})
    Rollups(db_engine, rules, adopt_settings=False).refresh("roll")
    report_only = parse_config({**SETTINGS, "insight": {"attribution": "payment"}})
    Rollups(db_engine, report_only, adopt_settings=False).refresh("roll")
    other_tz = parse_config({**SETTINGS, "store": {"timezone": "UTC"}})
    with pytest.raises(SettingsMismatch, match="another timezone"):
        Rollups(db_engine, other_tz, adopt_settings=False).refresh("roll")
    Rollups(db_engine, other_tz).refresh("roll")  # the server adopts its own settings


def test_ids_with_commas_quotes_newlines_and_empty_text_come_back_intact(
    db_engine: Engine,
) -> None:
    s = Log("odd")
    s.online(1, "08:00", 'a,"1"')
    s.buyer('b,"x"\nline', 1, "10:00:00")
    s.agent('a,"1"', 'b,"x"\nline', 1, "10:01:00")
    s.add("order", 1, "11:00", order='o,"1"', buyer='b,"x"\nline', amount=9.5)
    s.add("payment", 1, "11:01", order='o,"1"', amount=9.5)
    svc = _service(db_engine)
    _ingest(svc, s.events)
    rollups = _fresh(db_engine)
    got = rollups.report(["odd"], D1, D1)
    assert got == compute(replay_rows(s.events, parse_config(SETTINGS)), parse_config(SETTINGS),
                          day_from=D1, day_to=D1)  # fmt: skip
    assert got["stores"]["odd"]["agents"]['a,"1"']["order_amount"] == 9.5
    rows = read_rows(db_engine, ["odd"], day_number(D1), day_number(D1))
    assert set(rows["messages"].column("buyer").to_pylist()) == {'b,"x"\nline'}
    assert rows["messages"].column("agent").to_pylist().count(None) == 1  # the buyer's: NULL


@pytest.mark.backends("postgresql")
def test_a_background_refresh_leaves_a_store_another_process_is_refreshing(
    db_engine: Engine,
) -> None:
    """Two servers writing one store would otherwise both replay every new event."""
    from sqlalchemy import text

    from kefu.insight.rollup import _refresh_lock_key

    svc = _service(db_engine)
    _ingest(svc, batches()[0])
    mine = _fresh(db_engine)
    mine.mark_dirty(["roll"])
    with db_engine.connect() as other:  # another process, mid-refresh
        other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _refresh_lock_key("roll")})
        assert mine.refresh_dirty() == {}
        waiting = mine.pending("roll")
        assert waiting > 0  # left to the other; still marked for next time
        other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _refresh_lock_key("roll")})
        other.commit()
    done = mine.refresh_dirty()
    assert done["roll"].events == waiting and mine.pending("roll") == 0
    assert mine.refresh_dirty() == {}  # nothing dirty any more
