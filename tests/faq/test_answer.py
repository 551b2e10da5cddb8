"""The FAQ bot answers: matching, low-confidence hand-over, supplementary and product answers."""

from __future__ import annotations

import pytest

from kefu.engine.state import FaqEntry
from kefu.faq import FaqIndex, FaqItem, IndexCache
from kefu.faq.text import normalize, tokens

SHOP = [
    FaqItem("ship", "什么时候发货", "亲，现货48小时内发货哦", variants=("几天能发出",),
            keywords=("发货",), related=("courier",)),
    FaqItem("courier", "发什么快递", "默认发中通快递，江浙沪次日达", keywords=("快递", "顺丰")),
    FaqItem("free", "包邮吗", "全店满99元包邮（偏远地区除外）",
            variants=("Do you offer free shipping?",)),
    FaqItem("return", "可以退换吗", "支持七天无理由退换货", variants=("Can I return it?",)),
    FaqItem("genuine", "是正品吗", "本店所有商品均为品牌正品，假一赔十"),
    FaqItem("coupon", "有优惠券吗", "店铺首页可以领取满199减20的优惠券",
            keywords=("优惠券", "满减")),
]  # fmt: skip


@pytest.fixture(scope="module")
def shop() -> FaqIndex:
    return FaqIndex.build(SHOP)


def test_shop_language_reaches_the_standard_question(shop):
    # 亲/宝贝/呀 are fillers or slang; 免邮 is 包邮; traditional characters are simplified
    assert shop.answer("亲，这个宝贝免邮吗？").faq == "free"
    assert shop.answer("啥时候发货呀").faq == "ship"
    assert shop.answer("這件是正品嗎").faq == "genuine"
    assert shop.answer("能退吗").faq == "return"
    assert shop.answer("有券吗").faq == "coupon"


def test_exact_question_is_answered_confidently(shop):
    ans = shop.answer("什么时候发货")
    assert ans.faq == "ship"
    assert ans.text == "亲，现货48小时内发货哦"
    assert ans.confident and not ans.handover
    assert 0.5 <= ans.score <= 1.0
    assert ans.question == "什么时候发货"


def test_english_questions(shop):
    assert shop.answer("do you offer free shipping").faq == "free"
    ans = shop.answer("Can I return this item?")
    assert ans.faq == "return" and ans.confident


def test_unrelated_question_gets_no_answer(shop):
    assert shop.answer("今天天气怎么样") is None
    assert shop.answer("") is None
    assert shop.answer("？？？") is None


def test_weak_match_hands_over_to_a_person():
    # shares only 快递 with the FAQ: a guess, not an answer the bot may give as fact (the
    # store typed no keyword here; a typed keyword 快递 would be a rule and answer)
    shop = FaqIndex.build([FaqItem(it.faq, it.question, it.answer, variants=it.variants,
                                   related=it.related) for it in SHOP])  # fmt: skip
    ans = shop.answer("我的快递被邻居拿走了还能找回来吗")
    assert ans is not None
    assert ans.faq == "courier"
    assert not ans.confident and ans.handover
    assert ans.score < shop.threshold
    assert ans.supplementary is None


def test_threshold_is_configurable():
    strict = FaqIndex.build(SHOP, threshold=0.99)
    assert strict.answer("多久能发出呀").handover  # 发货 would be the typed keyword rule


def test_related_entry_is_sent_as_supplementary(shop):
    ans = shop.answer("什么时候发货")
    assert ans.supplementary == "默认发中通快递，江浙沪次日达"
    assert ans.supplementary_faq == "courier"


def test_no_supplementary_unless_configured(shop):
    assert shop.answer("包邮吗").supplementary is None


def test_automatic_supplementary_from_the_second_match():
    idx = FaqIndex.build(
        [FaqItem("a", "包邮吗", "满99包邮"), FaqItem("b", "包邮吗 偏远地区", "偏远地区不包邮")],
        supplementary=0.1,  # b asks something narrower: a calibrated ~0.12 that it answers
    )
    ans = idx.answer("包邮吗")
    assert (ans.faq, ans.supplementary, ans.supplementary_faq) == ("a", "偏远地区不包邮", "b")


PRODUCT = {"product": "p1", "title": "纯棉T恤", "price": 59.0, "stock": 12, "status": "on_sale",
           "attrs": {"材质": "100%棉", "尺码": ["S", "M", "L"]}}  # fmt: skip


def test_product_card_answers_from_attributes(shop):
    ans = shop.answer("这件衣服什么面料的", product=PRODUCT)
    assert ans.source == "product" and ans.confident
    assert ans.text == "亲，这款「纯棉T恤」材质是100%棉哦~"
    assert ans.faq == "product:p1:material"
    assert "现货还有12件" in shop.answer("还有货吗", product=PRODUCT).text
    assert "S、M、L" in shop.answer("有哪些尺码", product=PRODUCT).text
    assert "¥59" in shop.answer("多少钱", product=PRODUCT).text


def test_product_answers_in_english(shop):
    ans = shop.answer("Is it in stock?", product={**PRODUCT, "stock": 0})
    assert ans.text == "For 纯棉T恤, it is out of stock right now."


def test_product_without_the_attribute_falls_back_to_the_faq(shop):
    ans = shop.answer("什么时候发货", product=PRODUCT)
    assert ans.faq == "ship" and ans.source == "faq"
    bare = {"product": "p2", "title": "杯子"}
    assert shop.answer("什么材质", product=bare) is None  # nothing in the FAQ either


def test_engine_faq_entries_index_as_they_are():
    entries = [FaqEntry(faq="f1", question="发什么快递", answer="中通", keywords=["顺丰"])]
    idx = FaqIndex.build(entries)
    assert idx.answer("发顺丰吗").faq == "f1"
    assert idx.get("f1").keywords == ("顺丰",)


def test_cache_rebuilds_only_on_change():
    cache = IndexCache()
    a = cache.get("s1", SHOP)
    assert cache.get("s1", list(SHOP)) is a
    b = cache.get("s1", SHOP[:2])
    assert b is not a and len(b) == 2


def test_normalisation_layer():
    assert normalize("ＸＬ码有货吗？") == "xl码有货吗"
    assert tokens("亲，这个宝贝包邮吗？") == ("商品", "包邮")
    assert tokens("這件衣服什麼時候發貨") == ("这件", "衣服", "何时", "发货")
    assert tokens("Is this item in stock?") == ("商品", "有货")


def test_ten_thousand_entries_index_and_answer():
    # speed is measured by bench/faq_bench.py (build and p99), not by a timed unit test
    items = [FaqItem(f"f{i}", f"第{i}号商品的{w}问题", f"答案{i}", variants=(f"问{i}{w}",))
             for i in range(10_000) for w in ("发货",)]  # fmt: skip
    idx = FaqIndex.build(items)
    assert len(idx) == 10_000
    assert idx.search("第1234号商品的发货问题", k=1)[0].item.faq == "f1234"
