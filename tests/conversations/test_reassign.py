"""rules.md §2 reply timeout (`routing.reassign_after`): an unanswered buyer moves on, the first
agent is told, the conversation is never held by two agents, live == replay, the report counts it.
"""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from kefu.conversations.report import compute, facts_from_events
from kefu.conversations.routing import AgentNotice
from kefu.engine.core import Engine
from kefu.engine.events import AnyEvent, parse_ts
from kefu.engine.settings import parse_config
from kefu.runtime.registry import default_engine
from kefu.runtime.replay import run as replay_run
from kefu.storage import models
from tests.accounts.support import Live, live_app
from tests.engine.helpers import at, ev, msg

TEAM = [
    ev("agent", 0, agent="a1", name="小美", capacity=2),
    ev("agent", 0, agent="a2", name="小宇", capacity=2),
    ev("agent.status", 0, agent="a1", status="online"),
]
NO_BOT = {"bot": {"enabled": False}}


def run(events: list, until: float | None = None, **cfg: object) -> tuple[Engine, list]:
    """Feed `events`; then fire timers up to minute `until` (every timer when None)."""
    engine = default_engine(parse_config({**NO_BOT, **cfg}))
    out: list = []
    for e in sorted(events, key=lambda e: e.ts):
        out += engine.feed(e)
    out += engine.drain() if until is None else engine.advance(parse_ts(at(until)))
    return engine, out


def tag(a: object) -> str:
    return a.__struct_config__.tag  # type: ignore[attr-defined]


def handed(buyer: str = "b1", t: float = 1) -> list:
    """The buyer asks for a person and gets a1 (the only one online at first)."""
    return [msg(buyer, t, text="这款和意式挂耳哪个好？想买来送人"),
            ev("transfer.click", t + 0.1, buyer=buyer)]  # fmt: skip


def test_unanswered_buyer_moves_to_a_colleague_after_reassign_after() -> None:
    events = [*TEAM, ev("agent.status", 0, agent="a2", status="online"),
              msg("b1", 1, text="在吗"), ev("transfer.click", 1.1, buyer="b1")]  # fmt: skip
    engine, out = run(events, 5, bot={"enabled": True}, routing={"reassign_after": "3m"})
    assigns = [(a.agent, a.reason, a.ts) for a in out if tag(a) == "assign"]
    first = assigns[0]
    assert first[1] == "button:least_loaded"
    other = "a2" if first[0] == "a1" else "a1"
    # 3 minutes after the hand-over (later than the buyer's message), to the colleague
    assert assigns[1] == (other, "reassign:timeout", parse_ts(at(4.1)))
    notice = next(a for a in out if isinstance(a, AgentNotice))
    assert (notice.agent, notice.to_agent, notice.reason) == (first[0], other, "reassign:timeout")
    assert notice.waited_s == 180.0
    st = engine.states["s1"]
    assert st.agents[first[0]].open == 0 and st.agents[other].open == 1


def test_the_colleague_gets_the_same_time_then_the_buyer_moves_again() -> None:
    events = [*TEAM, ev("agent.status", 0, agent="a2", status="online"), *handed()]
    _, out = run(events, bot={"enabled": True}, routing={"reassign_after": "2m"})
    moves = [(a.agent, round((a.ts - parse_ts(at(1.1))) / 60000, 2))
             for a in out if tag(a) == "assign"]  # fmt: skip
    assert [m[1] for m in moves[:3]] == [0, 2, 4]
    assert moves[1][0] != moves[0][0] and moves[2][0] == moves[0][0]


def test_an_agent_reply_in_time_stops_the_timeout() -> None:
    events = [*TEAM, ev("agent.status", 0, agent="a2", status="online"), *handed(),
              msg("b1", 3, sender="agent", agent="a1", text="亲，挂耳更方便送人")]  # fmt: skip
    _, out = run(events, bot={"enabled": True}, routing={"reassign_after": "3m"})
    assert [a.reason for a in out if tag(a) == "assign"] == ["button:least_loaded"]
    assert not [a for a in out if isinstance(a, AgentNotice)]


def test_off_by_default() -> None:
    events = [*TEAM, ev("agent.status", 0, agent="a2", status="online"), *handed()]
    _, out = run(events, bot={"enabled": True})
    assert [a.reason for a in out if tag(a) == "assign"] == ["button:least_loaded"]


def test_an_acknowledgement_waits_for_no_answer() -> None:
    events = [*TEAM, ev("agent.status", 0, agent="a2", status="online"), *handed(),
              msg("b1", 1.5, sender="agent", agent="a1", text="亲，挂耳更方便"),
              msg("b1", 2, text="好的谢谢")]  # fmt: skip
    _, out = run(events, bot={"enabled": True}, routing={"reassign_after": "3m"})
    assert [a.reason for a in out if tag(a) == "assign"] == ["button:least_loaded"]


def test_nobody_else_free_puts_the_buyer_at_the_head_of_the_queue() -> None:
    # a2 is online but full (capacity 1, one chat): the buyer queues first in line
    events = [
        *TEAM[:2], ev("agent", 0, agent="a2", name="小宇", capacity=1),
        ev("agent.status", 0, agent="a1", status="online"),
        msg("b0", 0.2, text="在吗"), ev("transfer.click", 0.3, buyer="b0"),  # a1 (tie: id)
        ev("agent.status", 0.5, agent="a2", status="online"),
        msg("b9", 0.6, text="在吗"), ev("transfer.click", 0.7, buyer="b9"),  # a2, now full
        msg("b0", 0.8, sender="agent", agent="a1", text="在的"),
        msg("b9", 0.8, sender="agent", agent="a2", text="在的"),
        msg("b1", 1, text="有货吗"), ev("transfer.click", 1.1, buyer="b1"),  # a1 (1 open of 2)
    ]  # fmt: skip
    _engine, out = run(events, bot={"enabled": True}, routing={"reassign_after": "3m"})
    b1 = [a for a in out if getattr(a, "buyer", None) == "b1"]
    queued = [a for a in b1 if tag(a) == "transfer.result" and a.outcome == "queued"]
    assert queued and queued[0].position == 1 and queued[0].ts == parse_ts(at(4.1))
    notice = next(a for a in out if isinstance(a, AgentNotice))
    assert (notice.agent, notice.to_agent) == ("a1", None)


def test_report_counts_reassignments() -> None:
    raw = [
        {"ts": at(0), "type": "agent", "store": "s1", "agent": "a1", "name": "A", "capacity": 2},
        {"ts": at(0), "type": "agent", "store": "s1", "agent": "a2", "name": "B", "capacity": 2},
        {"ts": at(0), "type": "agent.status", "store": "s1", "agent": "a1", "status": "online"},
        {"ts": at(0), "type": "agent.status", "store": "s1", "agent": "a2", "status": "online"},
        {"ts": at(1), "type": "message", "store": "s1", "buyer": "b1", "sender": "buyer",
         "text": "想买来送人，哪个好"},
        {"ts": at(1.1), "type": "transfer.click", "store": "s1", "buyer": "b1"},
        {"ts": at(2), "type": "message", "store": "s1", "buyer": "b2", "sender": "buyer",
         "text": "在吗"},
        {"ts": at(2.1), "type": "transfer.click", "store": "s1", "buyer": "b2"},
        {"ts": at(2.5), "type": "message", "store": "s1", "buyer": "b2", "sender": "agent",
         "agent": "a2", "text": "在的"},
    ]  # fmt: skip
    events = sorted((msgspec.convert(r, AnyEvent) for r in raw), key=lambda e: e.at)
    config = parse_config({"routing": {"reassign_after": "3m"}, "store": {"session_timeout": "5m"}})
    doc = compute(facts_from_events(events, config), config)
    totals = doc["stores"]["s1"]["totals"]
    assert (totals["reassignments"], totals["reassigned_conversations"]) == (1, 1)


# -- invariant --------------------------------------------------------------------------------
STEP = st.one_of(
    st.tuples(st.just("ask"), st.sampled_from(["b1", "b2", "b3"])),
    st.tuples(st.just("click"), st.sampled_from(["b1", "b2", "b3"])),
    st.tuples(
        st.just("reply"), st.sampled_from(["b1", "b2", "b3"]), st.sampled_from(["a1", "a2", "a3"])
    ),
    st.tuples(
        st.just("status"),
        st.sampled_from(["a1", "a2", "a3"]),
        st.sampled_from(["online", "busy", "offline"]),
    ),
    st.tuples(st.just("close"), st.sampled_from(["b1", "b2", "b3"])),
)


def _script(steps: list[tuple], gaps: list[int]) -> list:
    events = [ev("agent", 0, agent=a, name=a, capacity=1 + i % 2)
              for i, a in enumerate(("a1", "a2", "a3"))]  # fmt: skip
    events += [ev("agent.status", 0, agent="a1", status="online")]
    t = 0.0
    for step, gap in zip(steps, gaps, strict=False):
        t += gap / 60
        kind = step[0]
        if kind == "ask":
            events.append(msg(step[1], t, text="这个有货吗？"))
        elif kind == "click":
            events.append(ev("transfer.click", t, buyer=step[1]))
        elif kind == "reply":
            events.append(msg(step[1], t, sender="agent", agent=step[2], text="有的亲"))
        elif kind == "status":
            events.append(ev("agent.status", t, agent=step[1], status=step[2]))
        else:
            events.append(ev("conversation.close", t, buyer=step[1]))
    return events


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(STEP, min_size=1, max_size=40),
       gaps=st.lists(st.integers(0, 400), min_size=40, max_size=40))  # fmt: skip
def test_a_reassigned_conversation_is_never_held_by_two_agents(steps: list, gaps: list) -> None:
    engine = default_engine(parse_config({"routing": {"reassign_after": "2m"}}))
    holder: dict[str, str | None] = {}
    for e in _script(steps, gaps):
        for a in engine.feed(e):
            if tag(a) == "assign":
                holder[a.conversation] = a.agent
            elif tag(a) == "conversation.closed":
                holder.pop(a.conversation, None)
            elif tag(a) == "transfer.result" and a.outcome == "queued":
                holder[a.conversation] = None
            elif isinstance(a, AgentNotice):
                # the first agent is told once the conversation has left them
                assert holder.get(a.conversation) == a.to_agent != a.agent
        st_ = engine.states["s1"]
        load: dict[str, int] = {}
        for conv in st_.open.values():
            if conv.human and conv.agent is not None:
                load[conv.agent] = load.get(conv.agent, 0) + 1
                assert conv.queued_at is None  # held and queued at once = two holders
            queued_in = sum(1 for q in st_.queues.values() for x in q if x.conversation == conv.id)
            assert queued_in <= 1
        for agent in st_.agents.values():
            assert agent.open == load.get(agent.agent, 0), agent.agent


# -- live == replay ---------------------------------------------------------------------------
S = "shop1"


@pytest.fixture
def live(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    monkeypatch.setenv("KEFU_SECRET", "test-secret")
    with live_app(db_url, {"routing": {"reassign_after": "3m"}}) as app:
        yield app


def test_live_reassignment_equals_replay(live: Live) -> None:
    c = live.client
    live.online(S, "a1", capacity=1)
    live.online(S, "a2", capacity=1)
    b1 = live.buyer(S, "b1")
    c.post("/api/v1/buyer/messages", headers=b1, json={"text": "想买来送人，哪个好"})
    live.advance(5)
    c.post("/api/v1/buyer/transfer", headers=b1)
    live.advance(3600)  # every 3 minutes to the other agent, until the session times out
    live.service.tick()
    svc = live.service
    e, a = models.Event, models.Action
    with svc.sessions() as s:
        logged = list(s.scalars(select(e.payload).where(e.store == S).order_by(e.seq)))
        stored = sorted(s.scalars(select(a.payload).where(a.store == S)))
    decode = msgspec.json.Decoder(AnyEvent)
    replayed = replay_run((decode.decode(p) for p in logged), default_engine(svc.config))
    assert sorted(msgspec.json.encode(x).decode() for x in replayed) == stored
    docs = [msgspec.json.decode(p) for p in stored]
    reasons = [d["reason"] for d in docs if d["type"] == "assign"]
    assert reasons[0] == "button:least_loaded" and set(reasons[1:]) == {"reassign:timeout"}
    assert [d["type"] for d in docs].count("agent.notice") == len(reasons) - 1 >= 9
