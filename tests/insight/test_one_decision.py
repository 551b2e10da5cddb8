"""Decide once, project many (issue #19): the live service decides, everything else reads.

On SQLite and PostgreSQL, a simulated week goes through the live service with the server's
timer rule (timers fire on the clock: here a tick at every store-local midnight, and one at
the end), then:
- the roll-ups, the whole-store projection and `kefu replay` of the same log give the same
  document for every metric id (one timer rule everywhere);
- the roll-ups and the projection never run the rules: no `Engine` is made for them;
- events that arrive late (after a tick passed their time) are counted as the live service
  decided them, in the roll-ups as in the projection.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from sqlalchemy import Engine as SAEngine

from kefu.engine import core
from kefu.engine.clock import VirtualClock
from kefu.engine.events import AnyEvent, Event
from kefu.engine.settings import Config, parse_config
from kefu.insight.facts import FactsBuilder
from kefu.insight.from_db import facts_from_db
from kefu.insight.metrics import compute
from kefu.insight.rollup import Rollups
from kefu.runtime.registry import default_engine
from kefu.runtime.replay import run
from kefu.runtime.service import EngineService
from kefu.sim import generate

DAY_MS = 86_400_000
CN = 8 * 3_600_000  # the simulator's stores are in China time
SETTINGS: dict[str, Any] = {"urge": {"min_intent": 0.3}, "store": {"session_timeout": "30m"}}
_DECODE = msgspec.json.Decoder(AnyEvent)


def _week() -> list[Event]:
    return [_DECODE.decode(line) for line in generate(stores=2, buyers=80, days=7, seed=5)]


def _by_day(events: list[Event]) -> Iterator[tuple[int, list[Event]]]:
    """Events per store-local day, with the day's end (epoch ms)."""
    day: list[Event] = []
    end = None
    for e in events:
        e_end = ((e.at + CN) // DAY_MS + 1) * DAY_MS - CN
        if end is not None and e_end != end:
            yield end, day
            day = []
        end = e_end
        day.append(e)
    if end is not None:
        yield end, day


def _live(db: SAEngine, cfg: Config, days: Iterator[tuple[int, list[Event]]]) -> int:
    """Ingest day by day, ticking at each midnight and finally a month later."""
    svc = EngineService(db, cfg, clock=VirtualClock())
    last = 0
    for end, events in days:
        res = svc.ingest([msgspec.json.encode(e) for e in events])
        assert res.rejected == []
        svc.tick(end)
        last = end
    svc.tick(last + 30 * DAY_MS)
    svc.close()
    return last


class _Counting:
    """Counts `Engine` instances made while installed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.made = 0
        original = core.Engine.__init__

        def counted(engine: core.Engine, *args: Any, **kw: Any) -> None:
            self.made += 1
            original(engine, *args, **kw)

        monkeypatch.setattr(core.Engine, "__init__", counted)


def test_live_rollups_projection_and_replay_agree_on_every_metric(
    db_engine: SAEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = parse_config(SETTINGS)
    events = _week()
    _live(db_engine, cfg, _by_day(events))
    stores = sorted({e.store for e in events})

    engines = _Counting(monkeypatch)
    rollups = Rollups(db_engine, cfg).report(stores)
    projected = {}
    for store in stores:
        doc = compute(facts_from_db(db_engine, store, cfg), cfg)
        projected[store] = doc["stores"][store]
    assert engines.made == 0  # neither the roll-ups nor the projection ran the rules

    facts = FactsBuilder(cfg)
    run(events, default_engine(cfg), facts)  # `kefu replay`: time order, drained at the end
    replayed = compute(facts.tables(), cfg)

    assert rollups["stores"] == projected == replayed["stores"]
    totals = [doc["totals"] for doc in projected.values()]
    # the week exercised what the comparison is about: chats, timers, orders
    assert sum(t["agent_messages"] for t in totals) > 50
    assert sum(t["inquiry_order_buyers"] for t in totals) > 0
    ids = set(totals[0])
    assert all(set(day) == ids for doc in projected.values() for day in doc["days"].values())


def test_late_events_count_as_the_live_service_decided_them(db_engine: SAEngine) -> None:
    """A day's last events arrive after the midnight tick: the live decisions stand."""
    cfg = parse_config(SETTINGS)
    events = _week()
    days = list(_by_day(events))

    def late() -> Iterator[tuple[int, list[Event]]]:
        held: list[Event] = []
        for end, day in days:
            cut = len(day) * 9 // 10
            yield end, held + day[:cut]  # yesterday's tail arrives with today's events
            held = day[cut:]
        yield days[-1][0], held

    _live(db_engine, cfg, late())
    stores = sorted({e.store for e in events})
    rollups = Rollups(db_engine, cfg)
    report = rollups.report(stores)
    for store in stores:
        assert (
            report["stores"][store]
            == compute(facts_from_db(db_engine, store, cfg), cfg)["stores"][store]
        )
    # incremental == rebuilt from the committed decisions
    for store in stores:
        rollups.rebuild(store)
    assert rollups.report(stores) == report
    assert sum(d["totals"]["buyer_messages"] for d in report["stores"].values()) == sum(
        1 for e in events if getattr(e, "sender", None) == "buyer"
    )


def test_the_live_server_runs_one_engine_and_its_reports_none(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every supervisor report reads what the live engine committed: opening each tab's
    routes makes no second `Engine`."""
    from tests.accounts.support import live_app

    monkeypatch.setenv("KEFU_SECRET", "test-secret")
    with live_app(db_url, {"urge": {"min_intent": 0}}) as live:
        c, s = live.client, "shop1"
        a1 = live.online(s, "a1")
        b1 = live.buyer(s, "b1")
        c.post("/api/v1/buyer/messages", headers=b1, json={"text": "在吗", "product": "p1"})
        live.advance(10)
        c.post("/api/v1/buyer/transfer", headers=b1)
        c.post(f"/api/v1/stores/{s}/conversations/b1~1/messages", headers=a1,
               json={"text": "在的亲"})  # fmt: skip
        live.advance(3600)
        live.service.tick()
        boss = live.staff(s, "boss", "supervisor")
        engines = _Counting(monkeypatch)
        base = f"/api/v1/stores/{s}"
        for path in ("/insight", "/insight/today", "/reports/handoff", "/traffic",
                     "/traffic/today", "/traffic/audience", "/traffic/churn",
                     "/guide/leaderboards", "/urge/stats", "/urge/urges"):  # fmt: skip
            r = c.get(base + path, headers=boss)
            assert r.status_code == 200, (path, r.text)
        assert engines.made == 0
        doc = c.get(base + "/reports/handoff", headers=boss).json()
        assert doc["store"] == s


def test_the_handoff_report_reads_the_roll_ups_as_a_replay_decides(
    db_engine: SAEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 转人工 report from the roll-ups (what the server serves) equals the report over the
    whole committed log and over a replay, for the whole week and for one day in the middle
    (only that day's buyers are read), and no engine runs for it."""
    from datetime import date

    from kefu.conversations import report
    from kefu.insight.metrics import day_number

    cfg = parse_config(
        {**SETTINGS, "handoff": {"ab_test": True, "rollout_percent": 80, "after_misses": 0}}
    )
    events = _week()
    _live(db_engine, cfg, _by_day(events))
    stores = sorted({e.store for e in events})
    facts = FactsBuilder(cfg)
    run(events, default_engine(cfg), facts)
    replayed = {**facts.tables(), "handoff": facts.handoff()}

    engines = _Counting(monkeypatch)
    rollups = Rollups(db_engine, cfg)
    mid = date(2026, 11, 4)
    for lo, hi in ((None, None), (mid, mid)):
        want = report.compute(replayed, cfg, lo, hi)["stores"]
        for store in stores:
            rolled = rollups.facts(
                [store],
                day_number(lo) if lo else None,
                day_number(hi) if hi else None,
                handoff=True,
            )
            assert report.compute(rolled, cfg, lo, hi)["stores"][store] == want[store]
            whole = report.facts_from_db(db_engine, store, cfg)
            assert report.compute(whole, cfg, lo, hi)["stores"][store] == want[store]
    assert engines.made == 0
    totals = [want[s]["totals"] for s in stores]  # the day exercised the report
    assert sum(t["button_conversations"] for t in totals) > 0
    assert sum(t["conversations"] for t in totals) > sum(t["button_conversations"] for t in totals)
