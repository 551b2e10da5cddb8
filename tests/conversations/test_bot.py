"""rules.md §5: the engine's bot answers from the store FAQ (jieba + BM25) and product cards."""

from __future__ import annotations

from kefu.runtime.registry import default_engine
from tests.conversations.test_handoff import agent, of, outcomes, run
from tests.engine.helpers import ev, msg

FAQ = [
    ev("faq", 0, faq="ship", question="什么时候发货", answer="亲，下单后48小时内发货哦",
       variants=["几天发货", "多久能发出", "啥时候发"], related=["express"]),
    ev("faq", 0, faq="express", question="发什么快递", answer="默认发中通快递，可备注顺丰到付",
       variants=["用的哪家快递", "能发顺丰吗"]),
    ev("faq", 0, faq="return", question="可以退换吗", answer="支持七天无理由退换货",
       variants=["能退货吗", "不喜欢可以退吗", "七天无理由吗"]),
    ev("faq", 0, faq="invoice", question="能开发票吗", answer="可以开电子发票，下单时备注抬头",
       variants=["有发票吗", "开票"]),
]  # fmt: skip


def replies(out: list) -> list:
    return of(out, "bot.reply")


def test_a_paraphrase_is_answered_by_retrieval_with_its_faq_id() -> None:
    _, out = run([*FAQ, msg("b1", 1, text="亲，几天能发货呀")])
    first = replies(out)[0]
    assert first.faq == "ship"
    # the greeting on a line of its own, never glued to the answer
    assert first.text == "亲，欢迎光临，我是智能客服小助手～\n亲，下单后48小时内发货哦"
    _, out = run([*FAQ, msg("b1", 1, text="亲，几天能发货呀"), msg("b1", 2, text="能开发票吗")])
    assert replies(out)[-1].text == "可以开电子发票，下单时备注抬头"  # greeted once


def test_related_entry_is_sent_as_a_supplementary_answer_unless_switched_off() -> None:
    _, out = run([*FAQ, msg("b1", 1, text="什么时候发货")])
    assert [r.faq for r in replies(out)] == ["ship", "express"]
    assert replies(out)[1].text == "默认发中通快递，可备注顺丰到付"
    _, out = run([*FAQ, msg("b1", 1, text="什么时候发货")], bot={"supplementary": False})
    assert [r.faq for r in replies(out)] == ["ship"]


def test_low_confidence_says_so_offers_the_button_and_counts_as_a_miss() -> None:
    events = [*FAQ, *agent("a1"), msg("b1", 1, text="发货地址可以改成公司吗"),
              msg("b1", 2, text="那快递单号在哪里看到发货")]  # fmt: skip
    _, out = run(events, bot={"threshold": 0.99, "unsure_text": "不确定"}, handoff={})
    first = replies(out)[0]
    assert first.faq is None and first.text.endswith("不确定")
    assert first.transfer_button is True
    assert outcomes(out) == ["assigned"]  # two unsure answers in a row = two misses


def test_unknown_question_gets_the_miss_text() -> None:
    _, out = run([*FAQ, msg("b1", 1, text="zzzz")], bot={"miss_text": "学习中"})
    assert replies(out)[0].text.endswith("学习中")
    assert replies(out)[0].faq is None


def test_a_question_next_to_a_product_card_is_answered_from_the_product() -> None:
    product = ev("product", 0, product="p1", title="纯棉T恤", price=79.0, stock=0,
                 attrs={"material": "100%棉", "size": ["S", "M", "L"]})  # fmt: skip
    events = [*FAQ, product, msg("b1", 1, text="这件什么材质的", product="p1")]
    _, out = run(events)
    text = replies(out)[0].text
    assert "100%棉" in text and "纯棉T恤" in text
    assert replies(out)[0].faq == "product:p1:material"
    # The card stays the subject of later questions in the conversation.
    _, out = run([*events, msg("b1", 2, text="多少钱")])
    assert "¥79" in replies(out)[-1].text


def test_english_questions_are_answered_too() -> None:
    faq = [ev("faq", 0, faq="ship_en", question="When will my order ship?",
              answer="Within 48 hours.", variants=["how long until it ships"]),
           ev("faq", 0, faq="refund_en", question="Can I get a refund?",
              answer="Yes, within 7 days.", variants=["return policy"])]  # fmt: skip
    _, out = run([*faq, msg("b1", 1, text="when does my order ship")])
    assert replies(out)[0].faq == "ship_en"


def test_faq_changes_apply_to_the_next_question() -> None:
    edit = ev("faq", 5, faq="ship", question="什么时候发货", answer="今天下单明天发")
    drop = ev("faq", 7, faq="ship", question="什么时候发货", answer="x", enabled=False)
    events = [*FAQ, msg("b1", 1, text="什么时候发货"), edit, msg("b1", 6, text="什么时候发货"),
              drop, msg("b1", 8, text="什么时候发货")]  # fmt: skip
    _, out = run(events, bot={"supplementary": False})
    texts = [r.text for r in replies(out)]
    assert texts[0].endswith("亲，下单后48小时内发货哦")
    assert texts[1] == "今天下单明天发"
    assert all(r.faq != "ship" for r in replies(out)[2:])


def test_a_store_keyword_is_a_rule_even_where_retrieval_is_unsure() -> None:
    faq = ev("faq", 0, faq="f1", question="发什么快递", answer="默认中通", keywords=["快递"])
    _, out = run([faq, msg("b1", 1, text="用什么快递")])
    assert replies(out)[0].faq == "f1"


def test_two_stores_with_different_faq_get_their_own_answers() -> None:
    a = ev("faq", 0, store="s1", faq="f", question="什么时候发货", answer="A店48小时")
    b = ev("faq", 0, store="s2", faq="f", question="什么时候发货", answer="B店当天")
    other = ev("message", 1, store="s2", buyer="b1", sender="buyer", text="什么时候发货")
    events = [a, b, msg("b1", 1, text="什么时候发货"), other]
    _, out = run(events)
    assert {(r.store, r.text.split("\n")[-1]) for r in replies(out)} == {
        ("s1", "A店48小时"),
        ("s2", "B店当天"),
    }


def test_replay_is_deterministic_with_the_retrieval_bot() -> None:
    # The second run answers from the cached index: same actions as the first (built) one.
    from kefu.engine.settings import parse_config

    events = [*FAQ, msg("b1", 1, text="几天发货"), msg("b2", 2, text="能退吗"),
              msg("b3", 3, text="开发票")]  # fmt: skip
    outs = []
    for _ in range(2):
        eng = default_engine(parse_config({}))
        got: list = []
        for e in events:
            got += eng.feed(e)
        outs.append([(a.__struct_config__.tag, getattr(a, "faq", None)) for a in got])
    assert outs[0] == outs[1]
    assert [f for t, f in outs[0] if t == "bot.reply"][:1] == ["ship"]


def test_a_learned_question_is_not_a_keyword() -> None:
    # an approved proposal whose question is 好的 must not catch every text containing 好的/对
    learned = ev("faq", 0, faq="learned-1", question="好的", answer="应该这边[数字x]号库房才来货")
    for text in ("谢谢，噢，明白了，谢谢", "好的好的，我再看看别的", "对"):
        _, out = run([*FAQ, learned, msg("b1", 1, text=text)])
        assert replies(out)[0].faq != "learned-1", text


def test_typed_keywords_match_whole_words_only() -> None:
    kw = ev("faq", 0, faq="order", question="订单号在哪看", answer="在我的订单里",
            keywords=["o", "顺丰"])  # fmt: skip
    _, out = run([kw, msg("b1", 1, text="my orderid is [ORDERID_1]")])
    assert replies(out)[0].faq is None  # `o` is inside orderid / a placeholder, not a word
    _, out = run([kw, msg("b1", 1, text="o 在哪")])
    assert replies(out)[0].faq == "order"
    _, out = run([kw, msg("b1", 1, text="顺丰到了吗")])
    assert replies(out)[0].faq == "order"


def test_a_product_attribute_answers_without_a_card() -> None:
    coffee = ev("product", 0, product="beans", title="美式咖啡豆", price=68.0,
                attrs={"烘焙度": "中深烘焙", "产地": "云南保山"})  # fmt: skip
    _, out = run([*FAQ, coffee, msg("b1", 1, text="美式咖啡豆是什么烘焙度")])
    first = replies(out)[0]
    assert first.faq == "product:beans:烘焙度" and "中深烘焙" in first.text


def test_entry_order_never_changes_an_answer() -> None:
    questions = ["啥时候发货", "能发顺丰吗", "可以退不", "开发漂吗", "今天天气怎么样", "发货"]
    seen = []
    for faq in (FAQ, FAQ[::-1], [FAQ[2], FAQ[0], FAQ[3], FAQ[1]]):
        got = []
        for n, q in enumerate(questions):
            _, out = run([*faq, msg(f"b{n}", 1, text=q)], bot={"supplementary": False})
            got.append((replies(out)[0].faq, replies(out)[0].text))
        seen.append(got)
    assert seen[0] == seen[1] == seen[2]
    assert [f for f, _ in seen[0][:4]] == ["ship", "express", "return", "invoice"]
