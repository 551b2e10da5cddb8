"""The demo's stand-ins (kefu.sim.responder): a simulated agent answers a live buyer within its
own simulated reply time; simulated buyers and the person at the printed workbench are left
alone."""

from __future__ import annotations

import msgspec

from kefu.engine.core import Engine
from kefu.engine.events import AnyEvent
from kefu.engine.settings import parse_config
from kefu.runtime.registry import default_engine
from kefu.sim.responder import Responder, simulated_team
from tests.engine.helpers import ev, msg


def _engine(holder: str, buyer: str, team: dict) -> tuple[Engine, int]:
    engine = default_engine(parse_config({"bot": {"enabled": False}}))
    for a in team.values():
        engine.feed(ev("agent", 0, store="s001", **a.event()))
    engine.feed(ev("agent.status", 0, store="s001", agent=holder, status="online"))
    engine.feed(msg(buyer, 1, store="s001", text="这款和意式挂耳哪个好？想买来送人"))
    engine.feed(msg(buyer, 1.1, store="s001", text="转人工"))  # asking in words
    st = engine.states["s001"]
    assert st.open[buyer].agent == holder
    return engine, int(st.open[buyer].assigned_at or 0)


def test_a_simulated_agent_answers_a_live_buyer_within_its_reply_time() -> None:
    team = simulated_team(seed=1, buyers=60)
    holder = sorted(team)[1]
    engine, start = _engine(holder, "demo", team)
    r = Responder(team, operated=set(), seed=1)
    again = Responder(team, operated=set(), seed=1)
    st = engine.states["s001"]
    assert r.due(st, start) == [] == again.due(st, start)  # not yet: the agent takes its time
    delay = r.delays[("demo~1", start)]
    assert again.delays[("demo~1", start)] == delay  # the same seed, the same reply time
    assert 3_000 <= delay <= 20 * team[holder].median_s * 1000
    assert r.due(st, start + delay - 1) == []
    (line,) = r.due(st, start + delay)
    reply = msgspec.json.decode(line, type=AnyEvent)
    assert (reply.sender, reply.agent, reply.buyer) == ("agent", holder, "demo")
    assert reply.text.startswith("您好，我是客服")  # greets on its first reply
    engine.feed(reply)
    assert r.due(st, start + 10 * delay) == []  # answered: nothing more to say


def test_never_for_simulated_buyers_nor_for_the_person_at_the_workbench() -> None:
    team = simulated_team(seed=1, buyers=60)
    holder = sorted(team)[1]
    engine, start = _engine(holder, "s001-u7", team)
    assert Responder(team, operated=set()).due(engine.states["s001"], start + 3_600_000) == []
    engine, start = _engine(holder, "demo", team)
    r = Responder(team, operated={holder})
    assert r.due(engine.states["s001"], start + 3_600_000) == []
