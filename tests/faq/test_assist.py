"""Smart assist: the top-3 suggested replies, and quick replies with shortcuts."""

from __future__ import annotations

import orjson
import pytest

from kefu.engine.readers import decode_line
from kefu.faq import Assistant, FaqItem, QuickReplies
from kefu.faq.assist import QuickReplyError
from kefu.faq.learn import group_conversations

T0 = 1_767_000_000_000


def conv(n, q, a, score=None):
    t, b = T0 + n * 7_200_000, f"b{n}"
    evs = [{"type": "message", "ts": t, "store": "s", "buyer": b, "sender": "buyer", "text": q},
           {"type": "message", "ts": t + 1000, "store": "s", "buyer": b, "sender": "agent",
            "agent": "a1", "text": a}]  # fmt: skip
    if score is not None:
        evs.append({"type": "rating", "ts": t + 2000, "store": "s", "buyer": b, "score": score})
    return evs


@pytest.fixture(scope="module")
def assistant() -> Assistant:
    evs = conv(0, "什么时候发货", "今天下午就发哦") + conv(1, "啥时候发货", "今天下午就发哦")
    evs += conv(2, "发货了吗", "已经发出了，单号稍后同步")
    evs += conv(3, "什么时候发货", "爱买不买", score=1)  # rated badly: never suggested
    evs += conv(4, "包邮吗", "满99包邮")
    chats = group_conversations(decode_line(orjson.dumps(e)) for e in evs)
    faq = [FaqItem("ship", "什么时候发货", "亲，现货48小时内发货哦")]
    return Assistant.build(faq, chats)


def test_top_three_suggestions_from_faq_and_past_replies(assistant):
    s = assistant.suggest("请问什么时候发货呀")
    assert [x.source for x in s] == ["faq", "history", "history"]
    assert s[0].text == "亲，现货48小时内发货哦"
    assert s[1].text == "今天下午就发哦"
    assert s[2].text == "已经发出了，单号稍后同步"
    assert all(x.text != "爱买不买" for x in assistant.suggest("什么时候发货", k=10))
    assert s[0].score >= s[1].score >= s[2].score or s[0].source == "faq"


def test_suggestions_are_distinct_and_limited(assistant):
    s = assistant.suggest("什么时候发货", k=2)
    assert len(s) == 2 and len({x.text for x in s}) == 2
    assert assistant.suggest("今天天气") == []


def test_quick_replies_per_store_and_agent():
    q = QuickReplies()
    q.add("/fh", "亲，48小时内发货哦")
    q.add("/by", "全店满99包邮")
    q.add("/fh", "亲，今天就给您发哦~", agent="a1")
    assert q.expand("/fh") == "亲，48小时内发货哦"
    assert q.expand("/fh", agent="a1") == "亲，今天就给您发哦~"
    assert q.expand("/fh", agent="a2") == "亲，48小时内发货哦"
    assert q.complete("/", agent="a1") == [("/by", "全店满99包邮"), ("/fh", "亲，今天就给您发哦~")]
    assert q.remove("/fh", agent="a1") and q.expand("/fh", agent="a1") == "亲，48小时内发货哦"
    assert not q.remove("/nope")
    with pytest.raises(QuickReplyError):
        q.add("/a b", "x")
    with pytest.raises(QuickReplyError):
        q.add("/x", " ")


def test_the_first_suggestion_is_what_the_bot_would_answer(assistant):
    from kefu.faq import FaqIndex

    bot = FaqIndex.build([FaqItem("ship", "什么时候发货", "亲，现货48小时内发货哦")])
    for q in ("啥时候发货呀", "什么时侯发火", "多久发货"):
        said = bot.answer(q)
        assert said is not None and said.confident, q
        first = assistant.suggest(q)[0]
        assert (first.ref, first.text) == (said.faq, said.text)
