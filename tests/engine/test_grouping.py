"""Conversation grouping (events.md "Conversations") and the durable-timer mechanics."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.engine.actions import ConversationClosed, ConversationOpen
from kefu.engine.core import Capability, Engine
from kefu.engine.settings import parse_config
from kefu.engine.state import Timer
from kefu.runtime.registry import default_engine
from tests.engine.helpers import ev, msg


def opened(actions: list) -> list[str]:
    return [a.conversation for a in actions if isinstance(a, ConversationOpen)]


def closed(actions: list) -> list[tuple[str, str]]:
    return [(a.conversation, a.reason) for a in actions if isinstance(a, ConversationClosed)]


def run(events: list, **cfg: dict) -> tuple[Engine, list]:
    engine = default_engine(parse_config(cfg))
    out: list = []
    for e in events:
        out += engine.feed(e)
    out += engine.drain()
    return engine, out


def test_messages_within_the_timeout_share_one_conversation() -> None:
    _, out = run([msg("b1", 0), msg("b1", 29), msg("b1", 58)])
    assert opened(out) == ["b1~1"]
    assert closed(out) == [("b1~1", "timeout")]
    assert out[-1].ts - out[0].ts == 88 * 60_000  # closed 30 min after the last message


def test_gap_of_exactly_the_timeout_starts_a_new_conversation() -> None:
    _, out = run([msg("b1", 0), msg("b1", 30)])
    assert opened(out) == ["b1~1", "b1~2"]
    assert closed(out)[0] == ("b1~1", "timeout")


def test_session_timeout_setting_is_used() -> None:
    _, out = run([msg("b1", 0), msg("b1", 8)], store={"session_timeout": "5m"})
    assert opened(out) == ["b1~1", "b1~2"]


def test_explicit_conversation_never_times_out() -> None:
    events = [msg("b1", 0, conversation="T1"), msg("b1", 600, conversation="T1")]
    engine, out = run(events)
    assert opened(out) == ["T1"]
    assert closed(out) == []
    assert engine.states["s1"].open["b1"].messages == 2


def test_new_explicit_id_closes_the_previous_conversation() -> None:
    _, out = run([msg("b1", 0, conversation="T1"), msg("b1", 1, conversation="T2")])
    assert opened(out) == ["T1", "T2"]
    assert closed(out) == [("T1", "reopen")]


def test_close_event_ends_the_conversation_and_next_message_opens_another() -> None:
    _, out = run([msg("b1", 0), ev("conversation.close", 1, buyer="b1"), msg("b1", 2)])
    assert opened(out) == ["b1~1", "b1~2"]
    assert closed(out)[0] == ("b1~1", "close")


def test_buyers_and_stores_are_grouped_separately() -> None:
    events = [msg("b1", 0), msg("b2", 1), ev("message", 2, store="s2", buyer="b1", sender="buyer")]
    _engine, out = run(events)
    assert sorted((a.store, a.conversation) for a in out if isinstance(a, ConversationOpen)) == [
        ("s1", "b1~1"),
        ("s1", "b2~1"),
        ("s2", "b1~1"),
    ]


def test_proactive_agent_message_records_the_first_sender() -> None:
    engine = default_engine()
    engine.feed(msg("b1", 0, sender="agent", agent="a1"))
    conv = engine.states["s1"].open["b1"]
    assert conv.first_sender == "agent"
    assert "a1" in engine.states["s1"].agents  # created on the fly


def test_timers_fire_in_due_order_before_a_later_event_and_can_be_cancelled() -> None:
    fired: list[str] = []

    def on_tick(state, timer: Timer, ctx):
        fired.append(f"{timer.key}@{(ctx.now - timer.data['t0']) // 60_000}")

    def on_search(state, e, ctx):
        if e.keyword == "arm":
            ctx.schedule("a", e.at + 10 * 60_000, "tick", t0=e.at)
            ctx.schedule("b", e.at + 5 * 60_000, "tick", t0=e.at)
            ctx.schedule("c", e.at + 7 * 60_000, "tick", t0=e.at)
        elif e.keyword == "cancel-c":
            ctx.cancel("c")
        else:
            fired.append(f"event@{e.keyword}")

    cap = Capability(name="t", events={"search": on_search}, timers={"tick": on_tick})
    engine = Engine(capabilities=[cap])
    engine.feed(ev("search", 0, buyer="x", keyword="arm"))
    engine.feed(ev("search", 6, buyer="x", keyword="cancel-c"))
    engine.feed(ev("search", 10, buyer="x", keyword="10"))
    assert fired == ["b@5", "a@10", "event@10"]


def test_rescheduling_a_key_replaces_the_old_timer() -> None:
    fired: list[int] = []
    cap = Capability(
        name="t",
        events={"search": lambda s, e, c: c.schedule("k", e.at + 60_000, "tick") and None},
        timers={"tick": lambda s, t, c: fired.append(c.now) and None},
    )
    engine = Engine(capabilities=[cap])
    engine.feed(ev("search", 0, buyer="x", keyword="k"))
    engine.feed(ev("search", 0.5, buyer="x", keyword="k"))
    engine.drain()
    assert len(fired) == 1


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["b1", "b2", "b3"]), st.integers(min_value=0, max_value=300)),
        min_size=1,
        max_size=40,
    )
)
def test_every_conversation_opens_once_and_closes_once(msgs: list[tuple[str, int]]) -> None:
    events = sorted((msg(b, m) for b, m in msgs), key=lambda e: e.ts)
    _engine, out = run(events)
    opens = opened(out)
    closes = [c for c, _ in closed(out)]
    assert len(opens) == len(set(opens))
    assert sorted(opens) == sorted(closes)
    assert sum(1 for _ in opens) >= len({b for b, _ in msgs})
    times = [a.ts for a in out]
    assert times == sorted(times)
