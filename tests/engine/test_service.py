"""The live engine service on a real database: one transaction per batch, restart safety."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from kefu.engine.clock import VirtualClock
from kefu.engine.events import parse_ts
from kefu.engine.settings import parse_config
from kefu.runtime.service import EngineService
from kefu.storage import models
from tests.engine.helpers import at

SETTINGS = parse_config({"bot": {"enabled": False}})


def line(**fields) -> bytes:
    return json.dumps(fields, ensure_ascii=False).encode()


def consult(buyer: str = "b1", start: float = 1, prefix: str = "") -> list[bytes]:
    """An agent, a product, a buyer with cart + card + question, and the agent's answer."""
    return [
        line(id=f"{prefix}a", ts=at(0), type="agent", store="s1", agent="a1", name="A1"),
        line(id=f"{prefix}s", ts=at(0), type="agent.status", store="s1", agent="a1",
             status="online"),
        line(id=f"{prefix}p", ts=at(0), type="product", store="s1", product="p1", title="保温杯",
             price=89.0, category="home", urge_text="今天下单送杯刷"),
        line(id=f"{prefix}c", ts=at(start - 0.5), type="cart.add", store="s1", buyer=buyer,
             product="p1"),
        line(id=f"{prefix}m1", ts=at(start), type="message", store="s1", buyer=buyer,
             sender="buyer", text="这个有货吗", product="p1"),
        line(id=f"{prefix}m2", ts=at(start + 1), type="message", store="s1", buyer=buyer,
             sender="agent", agent="a1", text="有的亲"),
    ]  # fmt: skip


def count(db_engine, type_: str | None = None) -> int:
    with db_engine.connect() as c:
        q = select(func.count()).select_from(models.Action)
        if type_:
            q = q.where(models.Action.type == type_)
        return int(c.execute(q).scalar_one())


def service(db_engine, clock: VirtualClock, **kw) -> EngineService:
    return EngineService(db_engine, SETTINGS, clock=clock, **kw)


def test_batch_keeps_good_lines_reports_bad_ones_and_ignores_duplicate_ids(db_engine) -> None:
    svc = service(db_engine, VirtualClock())
    batch = consult()
    bad = [b"{broken", line(ts=at(1), type="rating", store="s1", buyer="b1", score=9)]
    res = svc.ingest(batch[:3] + bad + batch[3:])
    assert res.accepted == 6
    assert [(r.line, r.field) for r in res.rejected] == [(4, None), (5, "score")]
    again = svc.ingest(batch)
    assert (again.accepted, again.duplicates) == (0, 6)
    with db_engine.connect() as c:
        assert c.execute(select(func.count()).select_from(models.Event)).scalar_one() == 6


def test_due_urge_survives_a_crash_and_is_sent_exactly_once(db_engine) -> None:
    clock = VirtualClock()
    svc = service(db_engine, clock)
    svc.ingest(consult())
    due = parse_ts(at(7))  # 5 minutes after the agent's answer at minute 2
    assert svc.tick(due - 1) == []
    del svc  # crash: no close(), nothing but what each batch committed
    restarted = service(db_engine, clock)
    sent = restarted.tick(due + 60_000)
    assert [a.__struct_config__.tag for a in sent] == ["urge.send"]
    assert count(db_engine, "urge.send") == 1
    del restarted
    third = service(db_engine, clock)  # a restart after the send sends nothing again
    assert [a for a in third.tick(due + 120_000) if a.__struct_config__.tag == "urge.send"] == []
    assert count(db_engine, "urge.send") == 1


def test_restart_rebuilds_state_from_snapshot_plus_later_events(db_engine) -> None:
    clock = VirtualClock()
    svc = service(db_engine, clock, snapshot_events=10**9, snapshot_ms=10**12)
    svc.ingest(consult()[:3])  # first batch: snapshot taken
    svc.ingest(consult()[3:])  # later batch: only logged, no new snapshot
    before = svc.engine.states["s1"]
    restarted = service(db_engine, clock)
    after = restarted.engine.states["s1"]
    assert after.open.keys() == before.open.keys()
    assert after.agents["a1"].open == before.agents["a1"].open == 1
    assert after.timers.keys() == before.timers.keys()
    assert count(db_engine, "assign") == 1  # re-applied events re-emit nothing new


def test_actions_and_projection_are_committed_together(db_engine) -> None:
    svc = service(db_engine, VirtualClock())
    res = svc.ingest(consult())
    assert [a.__struct_config__.tag for a in res.actions] == [
        "conversation.open", "assign", "agent.reply"]  # fmt: skip
    with db_engine.connect() as c:
        msgs = c.execute(select(models.Message.sender, models.Message.conversation)).all()
        assert sorted(msgs) == [("agent", "b1~1"), ("buyer", "b1~1")]
    assert count(db_engine) == 3
