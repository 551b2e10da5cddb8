"""A database from before migration 0006 gets its decision columns back at start.

Its events have no conversation and its actions no `after_seq`; the reports read those
columns, so without the one-time backfill they would leave the history out.
"""

from __future__ import annotations

import msgspec
from sqlalchemy import Engine as SAEngine
from sqlalchemy import select, update

from kefu.engine.clock import VirtualClock
from kefu.engine.settings import parse_config
from kefu.insight.from_db import facts_from_db
from kefu.insight.metrics import compute
from kefu.insight.rollup import Rollups
from kefu.runtime.service import EngineService
from kefu.sim import generate
from kefu.storage import models

SETTINGS = {"urge": {"min_intent": 0.3}}


def _columns(db: SAEngine) -> tuple[list[tuple[int, str | None]], list[tuple[str, int | None]]]:
    with db.connect() as c:
        events = c.execute(select(models.Event.seq, models.Event.conversation)).all()
        actions = c.execute(select(models.Action.key, models.Action.after_seq)).all()
    return sorted(tuple(r) for r in events), sorted(tuple(r) for r in actions)


def test_an_old_log_is_backfilled_once_and_reports_its_history(db_engine: SAEngine) -> None:
    cfg = parse_config(SETTINGS)
    lines = list(generate(stores=1, buyers=60, days=3, seed=9))
    svc = EngineService(db_engine, cfg, clock=VirtualClock())
    for i in range(0, len(lines), 500):
        svc.ingest(lines[i : i + 500])
    svc.close()
    store = msgspec.json.decode(lines[0])["store"]
    expected = compute(facts_from_db(db_engine, store, cfg), cfg)
    assert expected["stores"][store]["totals"]["agent_messages"] > 0
    before = _columns(db_engine)

    # what a kefu before 0006 left behind
    with db_engine.begin() as c:
        c.execute(update(models.Event).values(conversation=None))
        c.execute(update(models.Action).values(after_seq=None))
    empty = compute(facts_from_db(db_engine, store, cfg), cfg)
    assert empty["stores"][store]["totals"]["agent_messages"] == 0  # history invisible

    EngineService(db_engine, cfg, clock=VirtualClock()).close()  # a start backfills
    assert _columns(db_engine) == before
    assert compute(facts_from_db(db_engine, store, cfg), cfg) == expected
    assert Rollups(db_engine, cfg).report([store])["stores"] == expected["stores"]


def test_roll_ups_of_an_older_kefu_start_over_in_the_server_and_are_refused_on_the_cli(
    db_engine: SAEngine,
) -> None:
    import pickle

    import pytest

    from kefu.insight.models import CURSOR
    from kefu.insight.rollup import SettingsMismatch

    cfg = parse_config(SETTINGS)
    lines = list(generate(stores=1, buyers=40, days=2, seed=4))
    svc = EngineService(db_engine, cfg, clock=VirtualClock())
    svc.ingest(lines)
    svc.close()
    store = msgspec.json.decode(lines[0])["store"]
    expected = Rollups(db_engine, cfg).report([store])
    with db_engine.begin() as c:  # the cursor an older follower (state version 1) left
        c.execute(update(CURSOR).values(state=pickle.dumps((1, None, (0, set())))))
    with pytest.raises(SettingsMismatch, match="another version of kefu"):
        Rollups(db_engine, cfg, adopt_settings=False).refresh(store)
    assert Rollups(db_engine, cfg).report([store]) == expected
