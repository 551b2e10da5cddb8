"""rules.md §1: the 转人工 button, its lifetime, click outcomes, rollout, A/B and words."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.conversations.gate import bucket
from kefu.engine.core import Engine
from kefu.engine.settings import parse_config
from kefu.runtime.registry import default_engine
from tests.engine.helpers import ev, msg


def agent(name: str, minutes: float = 0, capacity: int = 1, groups: list | None = None) -> list:
    return [
        ev("agent", minutes, agent=name, name=name, role="agent", capacity=capacity,
           groups=groups or []),
        ev("agent.status", minutes, agent=name, status="online"),
    ]  # fmt: skip


def click(buyer: str, minutes: float):
    return ev("transfer.click", minutes, buyer=buyer)


def run(events: list, **cfg) -> tuple[Engine, list]:
    engine = default_engine(parse_config(cfg))
    out: list = []
    for e in sorted(events, key=lambda e: e.ts):
        out += engine.feed(e)
    return engine, out


def of(out: list, type_: str) -> list:
    return [a for a in out if a.__struct_config__.tag == type_]


def outcomes(out: list) -> list[str]:
    return [a.outcome for a in of(out, "transfer.result")]


def test_first_bot_reply_shows_the_button() -> None:
    _, out = run([msg("b1", 0, text="在吗")])
    (reply,) = of(out, "bot.reply")
    assert reply.transfer_button is True
    assert of(out, "handoff.button")[0].shown is True


def test_no_button_when_an_agent_replied_first() -> None:
    events = [*agent("a1"), msg("b1", 1), msg("b1", 1.5, sender="agent", agent="a1", text="在的"),
              click("b1", 2)]  # fmt: skip
    _, out = run(events, bot={"enabled": False})
    assert of(out, "handoff.button") == []
    assert outcomes(out) == ["ignored"]  # already with a person


def test_button_hides_after_ttl_and_renews_with_each_bot_reply() -> None:
    base = [*agent("a1"), msg("b1", 0)]
    no_auto = {"after_misses": 0}
    _, out = run([*base, click("b1", 10.5)], handoff=no_auto)
    assert outcomes(out) == ["ignored"]
    _, out = run([*base, msg("b1", 8), click("b1", 17)], handoff=no_auto)  # visible until 18
    assert outcomes(out) == ["assigned"]


def test_click_assigns_an_agent_with_free_capacity() -> None:
    _, out = run([*agent("a1"), msg("b1", 0), click("b1", 1)])
    assert outcomes(out) == ["assigned"]
    (a,) = of(out, "assign")
    assert (a.agent, a.reason) == ("a1", "button:least_loaded")


def test_every_agent_offline_fails_with_the_offline_text() -> None:
    events = [*agent("a1"), ev("agent.status", 0.5, agent="a1", status="offline"),
              msg("b1", 1), click("b1", 2)]  # fmt: skip
    _, out = run(events, handoff={"offline_text": "OFFLINE"})
    (r,) = of(out, "transfer.result")
    assert (r.outcome, r.text) == ("failed", "OFFLINE")


def test_all_full_queues_with_position_then_assigns_when_capacity_frees() -> None:
    events = [*agent("a1", capacity=1), msg("b1", 0), click("b1", 1), msg("b2", 2), click("b2", 3),
              msg("b3", 2), click("b3", 4), ev("conversation.close", 5, buyer="b1")]  # fmt: skip
    _, out = run(events, handoff={"queue_text": "前面还有 {position} 位"})
    results = of(out, "transfer.result")
    assert [(r.buyer, r.outcome, r.position) for r in results] == [
        ("b1", "assigned", None), ("b2", "queued", 1), ("b3", "queued", 2)]  # fmt: skip
    assert results[2].text == "前面还有 2 位"
    assigns = of(out, "assign")
    assert [(a.buyer, a.reason) for a in assigns] == [("b1", "button:least_loaded"),
                                                      ("b2", "queue")]  # fmt: skip


def test_queue_off_and_all_full_fails() -> None:
    events = [*agent("a1", capacity=1), msg("b1", 0), click("b1", 1), msg("b2", 2), click("b2", 3)]
    _, out = run(events, handoff={"queue": False})
    assert outcomes(out) == ["assigned", "failed"]


def test_repeated_clicks_are_ignored_and_never_double_assign() -> None:
    events = [*agent("a1"), *agent("a2"), msg("b1", 0), click("b1", 1), click("b1", 1.2),
              click("b1", 1.4)]  # fmt: skip
    engine, out = run(events)
    assert outcomes(out) == ["assigned", "ignored", "ignored"]
    assert len(of(out, "assign")) == 1
    assert sum(a.open for a in engine.states["s1"].agents.values()) == 1


def test_keyword_asks_for_a_person() -> None:
    _, out = run([*agent("a1"), msg("b1", 0, text="你好"), msg("b1", 1, text="我要转人工")])
    assert outcomes(out) == ["assigned"]
    assert of(out, "assign")[0].reason == "keyword:least_loaded"


def test_two_bot_misses_in_a_row_transfer() -> None:
    events = [*agent("a1"), msg("b1", 0, text="呃"), msg("b1", 1, text="嗯？")]
    _, out = run(events)
    assert outcomes(out) == ["assigned"]
    assert of(out, "assign")[0].reason == "bot_misses:least_loaded"
    _, out = run(events, handoff={"after_misses": 0})
    assert outcomes(out) == []


def test_a_faq_answer_resets_the_miss_count() -> None:
    faq = ev("faq", 0, faq="f1", question="发什么快递", answer="默认中通", keywords=["快递"])
    events = [faq, *agent("a1"), msg("b1", 0, text="呃"), msg("b1", 1, text="用什么快递"),
              msg("b1", 2, text="嗯？")]  # fmt: skip
    _, out = run(events)
    assert outcomes(out) == []
    assert [r.faq for r in of(out, "bot.reply")] == [None, "f1", None]


def test_rollout_is_stable_as_the_percentage_grows() -> None:
    buyers = [f"b{i}" for i in range(400)]
    shown_at = {}
    for pct in (5, 10, 20, 50, 100):
        _, out = run([msg(b, 0) for b in buyers], handoff={"rollout_percent": pct})
        shown_at[pct] = {a.buyer for a in of(out, "handoff.button") if a.shown}
    assert shown_at[5] <= shown_at[10] <= shown_at[20] <= shown_at[50] <= shown_at[100]
    assert len(shown_at[100]) == 400
    assert 0 < len(shown_at[5]) < 45  # about 5 % of 400


def test_click_outside_the_rollout_is_refused_on_the_server() -> None:
    outside = next(f"b{i}" for i in range(100) if bucket("s1", f"b{i}") >= 10)
    events = [*agent("a1"), msg(outside, 0), click(outside, 1)]
    _, out = run(events, handoff={"rollout_percent": 10})
    assert of(out, "bot.reply")[0].transfer_button is False
    assert outcomes(out) == ["ignored"]
    assert of(out, "assign") == []


def test_tier_gate_uses_daily_reception() -> None:
    _, out = run([msg("b1", 0)], handoff={"tiers": ["large"]})
    assert of(out, "handoff.button")[0].variant == "tier_excluded"
    _, out = run([msg("b1", 0)], handoff={"tiers": ["large"]}, store={"tier": "large"})
    assert of(out, "handoff.button")[0].shown is True


def test_ab_test_splits_buyers_about_half_and_half_stably() -> None:
    buyers = [f"b{i}" for i in range(400)]
    _, out1 = run([msg(b, 0) for b in buyers], handoff={"ab_test": True})
    _, out2 = run([msg(b, 0) for b in buyers], handoff={"ab_test": True})
    arms = {a.buyer: a.variant for a in of(out1, "handoff.button")}
    assert arms == {a.buyer: a.variant for a in of(out2, "handoff.button")}
    n_button = sum(v == "button" for v in arms.values())
    assert 160 < n_button < 240
    assert {a.shown for a in of(out1, "handoff.button") if a.variant == "no_button"} == {False}


def test_logged_bot_messages_offer_the_button_when_the_bot_is_off() -> None:
    events = [*agent("a1"), msg("b1", 0), msg("b1", 0.2, sender="bot", text="您好"),
              click("b1", 1)]  # fmt: skip
    _, out = run(events, bot={"enabled": False})
    assert of(out, "bot.reply") == []
    assert outcomes(out) == ["assigned"]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["msg", "click", "close", "online", "offline"]),
            st.sampled_from(["b1", "b2", "b3", "b4"]),
            st.sampled_from(["a1", "a2"]),
        ),
        max_size=40,
    )
)
def test_never_two_agents_for_one_conversation_and_never_over_capacity(steps: list) -> None:
    engine = default_engine(parse_config({}))
    for e in [*agent("a1", capacity=1), *agent("a2", capacity=2)]:
        engine.feed(e)
    t = 0.0
    for kind, buyer, a in steps:
        t += 0.5
        if kind == "msg":
            e = msg(buyer, t, text="转人工")
        elif kind == "click":
            e = click(buyer, t)
        elif kind == "close":
            e = ev("conversation.close", t, buyer=buyer)
        else:
            e = ev("agent.status", t, agent=a, status="online" if kind == "online" else "offline")
        engine.feed(e)
        state = engine.states["s1"]
        for ag in state.agents.values():
            held = [c for c in state.open.values() if c.human and c.agent == ag.agent]
            assert ag.open == len(held)
            assert ag.open <= (ag.capacity or 5)
        queued = [q.conversation for q in state.queues.get("", [])]
        assert len(queued) == len(set(queued))
        assert not any(c.human and c.queued_at is not None for c in state.open.values())
