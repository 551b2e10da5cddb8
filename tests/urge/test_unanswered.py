"""rules.md §4 item 6: no urge over an unanswered buyer message (skip `unanswered`, the serving
person alerted at once); copy never claims low stock unless the catalogue says so."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.engine.events import parse_ts
from kefu.engine.settings import parse_config
from kefu.engine.state import ProductState, StoreState
from kefu.runtime.registry import default_engine
from kefu.urge.copy import NEUTRAL_TEXT, truthful, urge_text
from tests.engine.helpers import at, ev, msg

CATALOGUE = [
    ev("product", 0, product="p1", title="挂耳咖啡", price=59.0, category="food", stock=300,
       urge_text="亲，您看中的挂耳咖啡库存不多了，今天下单优先发货哦"),
    ev("product", 0, product="p2", title="意式挂耳", price=69.0, category="food", stock=4,
       urge_text="亲，意式挂耳只剩{stock}件了，喜欢尽快下单哦"),
    ev("agent", 0, agent="a1", name="小宇", role="agent"),
    ev("agent.status", 0, agent="a1", status="online"),
]  # fmt: skip
QUESTION = "这款和意式挂耳哪个好？想买来送人"


def run(events: list, **cfg: object) -> list:
    engine = default_engine(parse_config({"urge": {"min_intent": 0}, **cfg}))
    out: list = []
    for e in sorted([*CATALOGUE, *events], key=lambda e: e.ts):
        out += engine.feed(e)
    out += engine.drain()
    return out


def tag(a: object) -> str:
    return a.__struct_config__.tag  # type: ignore[attr-defined]


def urges(out: list) -> list[tuple[str, str | None]]:
    return [(tag(a), getattr(a, "reason", None)) for a in out if tag(a).startswith("urge")]


def test_question_left_unanswered_by_the_agent_is_skipped_and_the_agent_alerted() -> None:
    # the demo: two bot misses hand the third question to a person who never replies
    events = [msg("b1", 0.5, text="在吗", product="p1"), msg("b1", 1, text="能刻字吗"),
              msg("b1", 2, text=QUESTION)]  # fmt: skip
    out = run(events)
    assigned = [a for a in out if tag(a) == "assign"]
    assert assigned and assigned[0].agent == "a1"
    skip, alert = [a for a in out if tag(a).startswith("urge")][:2]
    assert (tag(skip), skip.reason, skip.ts) == ("urge.skip", "unanswered", parse_ts(at(7)))
    assert (tag(alert), alert.agent, alert.ts) == ("urge.alert", "a1", parse_ts(at(7)))
    assert not [a for a in out if tag(a) == "urge.send"]


def test_bot_miss_does_not_answer_and_no_person_means_no_alert() -> None:
    out = run([msg("b1", 1, text=QUESTION, product="p1")])
    assert urges(out) == [("urge.skip", "unanswered")]


def test_answered_question_gets_the_urge() -> None:
    events = [msg("b1", 1, text=QUESTION, product="p1"),
              msg("b1", 2, sender="agent", agent="a1", text="亲，挂耳更方便送人")]  # fmt: skip
    out = run(events, bot={"enabled": False})
    assert urges(out)[0] == ("urge.send", None)


def test_a_thank_you_after_the_answer_still_allows_the_urge() -> None:
    events = [msg("b1", 1, text=QUESTION, product="p1"),
              msg("b1", 2, sender="agent", agent="a1", text="亲，挂耳更方便送人"),
              msg("b1", 3, text="好的谢谢")]  # fmt: skip
    out = run(events, bot={"enabled": False})
    assert urges(out)[0] == ("urge.send", None)


def test_a_new_question_after_the_answer_is_unanswered_again() -> None:
    events = [msg("b1", 1, text=QUESTION, product="p1"),
              msg("b1", 2, sender="agent", agent="a1", text="亲，挂耳更方便送人"),
              msg("b1", 3, text="那能便宜点吗")]  # fmt: skip
    out = run(events, bot={"enabled": False})
    assert urges(out)[:2] == [("urge.skip", "unanswered"), ("urge.alert", None)]


# -- copy ---------------------------------------------------------------------------------------
def _st(stock: int | None, status: str = "on_sale") -> StoreState:
    st_ = StoreState(store="s1")
    text = "挂耳咖啡库存不多了，今天下单优先发货哦"
    st_.products["p"] = ProductState(product="p", stock=stock, status=status, urge_text=text)
    return st_


def test_low_stock_claim_only_when_stock_is_low() -> None:
    s = parse_config({}).for_store("s1").urge
    assert urge_text(_st(3), "p", s) == "挂耳咖啡库存不多了，今天下单优先发货哦"
    assert urge_text(_st(300), "p", s) == s.generic_text  # a claim the catalogue does not make
    assert urge_text(_st(None), "p", s) == s.generic_text
    # the generic text claims the item is in stock: not for a sold-out one
    assert urge_text(_st(0, "out_of_stock"), "p", s) == NEUTRAL_TEXT


def test_stock_placeholder_is_filled_or_refused() -> None:
    p = ProductState(product="p", stock=4)
    assert truthful("只剩{stock}件了", p) == "只剩4件了"
    assert truthful("只剩{stock}件了", ProductState(product="p", stock=40)) is None
    assert truthful("还有{stock}件现货", ProductState(product="p")) is None
    s = parse_config({"urge": {"generic_text": "亲，这款还有{stock}件现货哦"}}).for_store("x").urge
    assert urge_text(_st(None), None, s) == NEUTRAL_TEXT


def test_urges_in_a_replay_use_truthful_copy() -> None:
    events = [msg("b1", 1, text="有货吗", product="p1"),
              msg("b1", 2, sender="agent", agent="a1", text="有的亲"),
              msg("b2", 1, text="有货吗", product="p2"),
              msg("b2", 2, sender="agent", agent="a1", text="有的亲")]  # fmt: skip
    sent = {a.buyer: a.text for a in run(events, bot={"enabled": False}) if tag(a) == "urge.send"}
    assert "库存不多" not in sent["b1"]  # 300 in stock
    assert sent["b2"] == "亲，意式挂耳只剩4件了，喜欢尽快下单哦"


# -- invariant ----------------------------------------------------------------------------------
STEP = st.tuples(st.sampled_from(["question", "ack", "agent", "bot_logged", "order"]),
                 st.integers(10, 500))  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(steps=st.lists(STEP, min_size=1, max_size=25), bot=st.booleans())
def test_never_an_urge_after_an_unanswered_buyer_message(steps: list, bot: bool) -> None:
    events = [msg("b1", 0, text="这个有货吗？", product="p1")]
    t = 0.0
    for kind, gap in steps:
        t += gap / 60
        if kind == "question":
            events.append(msg("b1", t, text="什么时候发货？"))
        elif kind == "ack":
            events.append(msg("b1", t, text="好的谢谢"))
        elif kind == "agent":
            events.append(msg("b1", t, sender="agent", agent="a1", text="亲，今天就发"))
        elif kind == "bot_logged":
            events.append(msg("b1", t, sender="bot", text="亲，48小时内发货"))
        else:
            events.append(ev("order", t, order=f"o{len(events)}", buyer="b1", items=[], amount=1.0))
    out = run(events, bot={"enabled": bot})
    # The oracle, from the events and actions alone: a question is answered by a later agent
    # message, logged bot message or FAQ bot reply; acknowledgements ask nothing.
    # Timers fire before an event of the same millisecond (the engine's order): an urge due
    # at the very moment a question arrives was sent before it.
    timeline = sorted(
        [(e.at, 0, e) for e in events if tag(e) == "message"]
        + [(a.ts, 1, a) for a in out if tag(a) == "bot.reply"]
        + [(a.ts, -2, a) for a in out if tag(a) == "urge.send"]
        + [(a.ts, -1, a) for a in out if tag(a) == "conversation.open"],
        key=lambda x: (x[0], x[1]),
    )
    waiting = False
    for _, _, item in timeline:
        kind = tag(item)
        if kind == "conversation.open":
            waiting = False
        elif kind == "message" and item.sender == "buyer":
            waiting = waiting or item.text != "好的谢谢"
        elif kind == "message" or (kind == "bot.reply" and item.faq is not None):
            waiting = False
        elif kind == "urge.send":
            assert not waiting, "an urge followed an unanswered buyer message"
