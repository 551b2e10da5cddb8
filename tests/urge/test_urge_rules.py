"""rules.md §4: when an urge is sent, every skip reason, product choice, copy and the alert."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.engine.settings import parse_config
from kefu.runtime.registry import default_engine
from tests.engine.helpers import ev, msg

CATALOGUE = [
    ev("product", 0, product="p1", title="保温杯", price=89.0, category="home",
       urge_text="保温杯今天下单送杯刷", attrs={"容量": "500ml", "颜色": "白"}),
    ev("product", 0, product="p2", title="杯刷", price=9.9, category="home"),
    ev("agent", 0, agent="a1", name="A1", role="agent"),
    ev("agent.status", 0, agent="a1", status="online"),
]  # fmt: skip
NO_BOT = {"bot": {"enabled": False}}


def run(events: list, **cfg) -> list:
    conf = {**NO_BOT, **cfg}
    engine = default_engine(parse_config(conf))
    out: list = []
    for e in sorted([*CATALOGUE, *events], key=lambda e: e.ts):
        out += engine.feed(e)
    out += engine.drain()
    return [a for a in out if a.__struct_config__.tag.startswith("urge")]


def consult(buyer: str = "b1", t: float = 1, card: str | None = "p1") -> list:
    """A buyer who added p1 to the cart asks about it (card + stock question); an agent answers.

    Intent: cart 0.30 + card 0.30 + one question kind 0.10 = 0.70 ≥ the default 0.5.
    """
    extra = {"product": card} if card else {}
    return [
        ev("cart.add", t - 0.5, buyer=buyer, product="p1"),
        msg(buyer, t, text="这个有货吗", **extra),
        msg(buyer, t + 1, sender="agent", agent="a1", text="有的亲"),
    ]


def kinds(out: list) -> list[tuple[str, str | None]]:
    return [(a.__struct_config__.tag, getattr(a, "reason", None)) for a in out]


def test_urge_is_sent_delay_after_the_latest_message() -> None:
    out = run([*consult(), msg("b1", 3, text="好的")])
    (send, alert) = out
    assert send.__struct_config__.tag == "urge.send"
    assert (send.sender, send.product, send.text) == ("a1", "p1", "保温杯今天下单送杯刷")
    assert send.ts - out[0].ts == 0
    # due 5 minutes after the last message at minute 3
    from kefu.engine.events import parse_ts
    from tests.engine.helpers import at

    assert send.ts == parse_ts(at(8))
    assert alert.__struct_config__.tag == "urge.alert" and alert.agent == "a1"
    assert alert.ts == parse_ts(at(38))


def test_delay_setting_moves_the_due_time() -> None:
    from kefu.engine.events import parse_ts
    from tests.engine.helpers import at

    out = run(consult(), urge={"delay": "10m"})
    assert out[0].ts == parse_ts(at(12))


def test_skip_ordered() -> None:
    order = ev("order", 4, order="o1", buyer="b1", items=[{"product": "p1"}], amount=89.0)
    assert kinds(run([*consult(), order])) == [("urge.skip", "ordered")]


def test_order_before_the_conversation_does_not_count() -> None:
    order = ev("order", 0.5, order="o1", buyer="b1", items=[], amount=1.0)
    assert kinds(run([order, *consult()]))[0] == ("urge.send", None)


def test_skip_low_intent_and_min_intent_zero_urges_everyone() -> None:
    plain = [
        msg("b1", 1, text="你好", product="p1"),
        msg("b1", 2, sender="agent", agent="a1", text="在的"),
    ]
    assert kinds(run(plain)) == [("urge.skip", "low_intent")]
    assert kinds(run(plain, urge={"min_intent": 0}))[0] == ("urge.send", None)


def test_skip_cap_conversation_one_urge_per_conversation() -> None:
    out = run([*consult(), msg("b1", 9, text="还在考虑"), msg("b1", 10, sender="agent", agent="a1",
                                                          text="好的")])  # fmt: skip
    assert kinds(out)[:2] == [("urge.send", None), ("urge.skip", "cap_conversation")]


def test_skip_cap_24h_one_urge_per_buyer_per_day() -> None:
    second = consult(t=120)  # a new conversation two hours later (after the 30 min timeout)
    out = run([*consult(), *second], urge={"alert_after": ""})
    assert kinds(out) == [("urge.send", None), ("urge.skip", "cap_24h")]
    third = consult(t=60 * 25)
    out = run([*consult(), *third], urge={"alert_after": ""})
    assert kinds(out) == [("urge.send", None), ("urge.send", None)]


def test_skip_aftersale_open_or_recently_closed() -> None:
    opened = ev("aftersale.open", 0.5, buyer="b1", order="o0")
    assert kinds(run([opened, *consult()])) == [("urge.skip", "aftersale")]
    closed = ev("aftersale.close", 0.7, buyer="b1", order="o0")
    assert kinds(run([opened, closed, *consult()])) == [("urge.skip", "aftersale")]
    out = run([opened, closed, *consult()], urge={"aftersale_cooldown": "30s"})
    assert kinds(out)[0] == ("urge.send", None)


def test_skip_no_sender_and_assistant_fallback() -> None:
    bot_only = [
        ev("cart.add", 0.5, buyer="b1", product="p1"),
        msg("b1", 1, text="有货吗", product="p1"),
        msg("b1", 1.2, sender="bot", text="有货的亲"),  # a logged bot answer answers it
    ]
    assert kinds(run(bot_only, urge={"senders": ["last_agent"]})) == [("urge.skip", "no_sender")]
    out = run(bot_only, urge={"assistant": "helper"})
    assert out[0].sender == "helper"
    out = run(consult(), urge={"senders": ["assistant"], "assistant": "helper"})
    assert out[0].sender == "helper"


def test_skip_disabled() -> None:
    assert kinds(run(consult(), urge={"enabled": False})) == [("urge.skip", "disabled")]


def test_agent_recommended_product_wins_over_the_buyers_card() -> None:
    events = [*consult(), msg("b1", 2.5, sender="agent", agent="a1", text="搭配这个",
                               products=["p2"])]  # fmt: skip
    assert run(events)[0].product == "p2"


def test_card_sent_to_the_bot_before_transfer_is_used() -> None:
    events = [ev("cart.add", 0.5, buyer="b1", product="p1"),
              msg("b1", 1, text="看看", product="p1"), msg("b1", 1.5, text="有货吗"),
              msg("b1", 2, sender="agent", agent="a1", text="在的")]  # fmt: skip
    assert run(events)[0].product == "p1"


def test_no_product_uses_the_generic_copy() -> None:
    events = [ev("cart.add", 0.5, buyer="b1", product="p9"), ev("favorite", 0.6, buyer="b1",
              product="p9"), msg("b1", 1, text="有货吗？多少钱"),
              msg("b1", 2, sender="agent", agent="a1", text="有")]  # fmt: skip
    out = run(events, urge={"generic_text": "GENERIC"})
    assert (out[0].product, out[0].text) == (None, "GENERIC")


def test_generated_copy_uses_title_and_attributes() -> None:
    out = run(consult(), urge={"copy": "generated"})
    assert (
        out[0].text == "亲，您看中的「保温杯」（容量500ml，颜色白）还有库存，现在下单尽快为您发货哦"
    )


def test_alert_not_sent_when_the_buyer_orders_after_the_urge() -> None:
    order = ev("order", 20, order="o1", buyer="b1", items=[], amount=89.0)
    assert kinds(run([*consult(), order])) == [("urge.send", None)]


def test_alert_after_disabled() -> None:
    assert kinds(run(consult(), urge={"alert_after": False})) == [("urge.send", None)]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=60 * 72), min_size=1, max_size=12))
def test_no_second_urge_to_a_buyer_within_24h(starts: list[int]) -> None:
    events = [e for t in sorted(set(starts)) for e in consult(t=float(t))]
    sends = [a.ts for a in run(events, urge={"alert_after": ""}) if a.__struct_config__.tag ==
             "urge.send"]  # fmt: skip
    assert all(b - a >= 86_400_000 for a, b in itertools.pairwise(sends))


def test_generated_copy_adds_the_points_buyers_praised_in_reviews() -> None:
    reviews = [
        ev("review", 0.1, product="p1", text="质量很好，保温效果不错！物流很快", score=5),
        ev("review", 0.2, product="p1", text="保温效果不错，质量很好。", score=4),
        ev("review", 0.3, product="p1", text="物流很快，颜色好看", score=5),
        ev("review", 0.4, product="p1", text="漏水，质量很差，质量很差", score=1),  # not praise
    ]
    out = run([*reviews, *consult()], urge={"copy": "generated"})
    assert out[0].text == (
        "亲，您看中的「保温杯」（容量500ml，颜色白）买家都说“保温效果不错、物流很快”，"
        "还有库存，现在下单尽快为您发货哦"
    )
