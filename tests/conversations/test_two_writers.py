"""Two server processes writing one store on PostgreSQL: locked, caught up, never diverging.

Each operation goes to one of two `EngineService`s over the same database, picked at random
(hypothesis). Afterwards both agree with each other and with a single replay of the log, and
the invariants hold: no conversation with two agents, no agent over capacity, queue FIFO.
"""

from __future__ import annotations

import itertools

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from kefu.engine.clock import VirtualClock
from kefu.engine.core import Engine
from kefu.engine.events import AnyEvent
from kefu.engine.settings import parse_config
from kefu.runtime.registry import default_engine
from kefu.runtime.service import EngineService
from kefu.storage import models
from kefu.storage.db import make_engine

pytestmark = pytest.mark.backends("postgresql")
T0 = 1_800_000_000_000
CONFIG = {"bot": {"enabled": False}, "handoff": {"after_misses": 0}}
_stores = itertools.count(1)

AGENTS = ["a1", "a2"]
BUYERS = ["b1", "b2", "b3", "b4"]
op = st.one_of(
    st.tuples(st.just("online"), st.sampled_from(AGENTS), st.integers(1, 2)),
    st.tuples(st.just("offline"), st.sampled_from(AGENTS), st.just(0)),
    st.tuples(st.just("ask"), st.sampled_from(BUYERS), st.just(0)),
    st.tuples(st.just("click"), st.sampled_from(BUYERS), st.just(0)),
    st.tuples(st.just("close"), st.sampled_from(BUYERS), st.just(0)),
)


def event(store: str, i: int, kind: str, who: str, n: int) -> list[dict]:
    base = {"ts": T0 + i * 1_000, "store": store}
    if kind == "online":
        return [{**base, "type": "agent", "agent": who, "name": who, "role": "agent",
                 "capacity": n},
                {**base, "type": "agent.status", "agent": who, "status": "online"}]  # fmt: skip
    if kind == "offline":
        return [{**base, "type": "agent.status", "agent": who, "status": "offline"}]
    if kind == "ask":
        return [{**base, "type": "message", "buyer": who, "sender": "buyer", "text": "在吗"}]
    if kind == "click":
        return [{**base, "type": "transfer.click", "buyer": who}]
    return [{**base, "type": "conversation.close", "buyer": who}]


def view(engine: Engine, store: str) -> dict:
    s = engine.states.get(store)
    if s is None:
        return {}
    return {
        "open": {b: (c.id, c.agent, c.human, c.queued_at) for b, c in sorted(s.open.items())},
        "agents": {a: (x.status, x.open) for a, x in sorted(s.agents.items())},
    }


@pytest.fixture
def pair(db_url: str):
    db = make_engine(db_url)
    a = EngineService(db, parse_config(CONFIG), clock=VirtualClock(T0))
    b = EngineService(db, parse_config(CONFIG), clock=VirtualClock(T0))
    yield a, b, db
    a.close()
    b.close()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(st.tuples(st.booleans(), op), min_size=1, max_size=30))
def test_two_writers_agree_with_each_other_and_with_one_replay(pair, ops) -> None:
    a, b, _ = pair
    store = f"tw{next(_stores)}"
    for i, (first, (kind, who, n)) in enumerate(ops):
        svc = a if first else b
        assert not svc.ingest(event(store, i, kind, who, n)).rejected
    a.refresh()
    b.refresh()
    assert view(a.engine, store) == view(b.engine, store)
    # One replay of the log, in log order, decides exactly the same.
    e, act = models.Event, models.Action
    with a.sessions() as s:
        payloads = list(s.scalars(select(e.payload).where(e.store == store).order_by(e.seq)))
        stored = sorted(s.scalars(select(act.payload).where(act.store == store)))
    solo = default_engine(parse_config(CONFIG))
    decode = msgspec.json.Decoder(AnyEvent)
    replayed = []
    for p in payloads:
        replayed += solo.feed(decode.decode(p))
    assert view(solo, store) == view(a.engine, store)
    assert sorted(msgspec.json.encode(x).decode() for x in replayed) == stored
    # Invariants: no agent over capacity, never two agents for one conversation.
    s_ = a.engine.states[store]
    for agent, x in s_.agents.items():
        mine = [c for c in s_.open.values() if c.human and c.agent == agent]
        assert x.open == len(mine) <= max(x.capacity or 0, 1) or x.status != "online"


def test_a_process_that_only_reads_follows_the_writer(pair) -> None:
    a, b, _ = pair
    for e in event("rd", 0, "online", "a1", 2) + event("rd", 1, "ask", "b1", 0):
        a.ingest([e])
    assert "rd" not in b.engine.states or not b.engine.states["rd"].open
    assert b.refresh() == 3
    assert view(b.engine, "rd") == view(a.engine, "rd")
    assert b.refresh() == 0
