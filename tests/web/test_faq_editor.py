"""The FAQ editor in a real browser: an entry edited in the UI changes the bot's answer to a
buyer at once; "try a question" shows the entry and its confidence; validation errors show."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.web.conftest import Kefu, now_ms, shot
from tests.web.test_i18n import SCAN, _problems

S = "faqshop"


def _bot_says(kefu: Kefu, buyer: str, text: str) -> str:
    r = kefu.api("POST", "/api/v1/buyer/messages", kefu.buyer(S, buyer), {"text": text})
    assert r.status_code == 200, r.text
    replies = [a["text"] for a in r.json()["actions"] if a["type"] == "bot.reply"]
    assert replies, r.json()
    return str(replies[-1])


def test_an_faq_entry_edited_in_the_ui_changes_the_bots_answer_at_once(
    kefu: Kefu, new_page: Any
) -> None:
    kefu.events([{"type": "faq", "store": S, "ts": now_ms() - 60_000, "faq": "f-ship",
                  "question": "发什么快递", "answer": "亲，默认发中通快递哦"}])  # fmt: skip
    assert "中通" in _bot_says(kefu, "b1", "发什么快递")
    boss = kefu.staff(S, "boss", "supervisor")
    page = new_page()
    page.goto(f"{kefu.url}/app/supervisor/faq?token={boss}")
    entry = page.locator('[data-testid="faq-entry"][data-faq="f-ship"]')
    expect(entry).to_contain_text("中通")
    # Try the question first: the bot would answer with this entry.
    page.get_by_test_id("faq-try-input").fill("发什么快递")
    page.get_by_test_id("faq-try-button").click()
    result = page.get_by_test_id("faq-try-result")
    expect(result).to_have_attribute("data-decision", "answer")
    expect(page.get_by_test_id("faq-try-reply")).to_contain_text("中通")
    expect(page.get_by_test_id("faq-try-entry")).to_have_text("发什么快递")
    # A blank answer is refused with the reason, nothing is saved.
    entry.get_by_test_id("faq-edit").click()
    page.get_by_test_id("fe-answer").fill("  ")
    page.get_by_test_id("fe-save").click()
    expect(page.get_by_test_id("fe-error-answer")).to_have_text("必填")
    # Edit the answer and add a wording; save.
    page.get_by_test_id("fe-answer").fill("亲，默认顺丰包邮，48小时内发货哦")
    page.get_by_test_id("fe-variants").fill("用什么快递\n快递是哪家")
    page.get_by_test_id("fe-save").click()
    expect(entry.get_by_test_id("faq-entry-answer")).to_have_text(
        "亲，默认顺丰包邮，48小时内发货哦"
    )
    # The try box re-asks after a save; the next buyer message gets the new answer.
    expect(page.get_by_test_id("faq-try-reply")).to_contain_text("顺丰")
    shot(page, "62-faq-editor")
    assert not _problems(page.evaluate(SCAN), "zh-CN", {S, "boss"})
    assert "顺丰" in _bot_says(kefu, "b2", "发什么快递")
    assert "顺丰" in _bot_says(kefu, "b3", "快递是哪家")
    # Switched off in the UI: the bot stops answering with it at once.
    entry.get_by_test_id("faq-toggle").click()
    expect(entry).to_have_class("entry off")
    assert "顺丰" not in _bot_says(kefu, "b4", "发什么快递")


def test_a_new_entry_made_in_the_ui_answers_buyers(kefu: Kefu, new_page: Any) -> None:
    boss = kefu.staff(S + "2", "boss", "supervisor")
    page = new_page()
    page.goto(f"{kefu.url}/app/supervisor/faq?token={boss}")
    expect(page.get_by_test_id("faq-entries-empty")).to_be_visible()
    page.get_by_test_id("faq-new").click()
    page.get_by_test_id("fe-question").fill("可以开发票吗")
    page.get_by_test_id("fe-answer").fill("可以的，下单时填写发票抬头即可")
    page.get_by_test_id("fe-keywords").fill("发票")
    page.get_by_test_id("fe-save").click()
    expect(page.get_by_test_id("faq-entry")).to_have_count(1)
    r = kefu.api("POST", "/api/v1/buyer/messages", kefu.buyer(S + "2", "b1"),
                 {"text": "能开发票吗"})  # fmt: skip
    replies = [a["text"] for a in r.json()["actions"] if a["type"] == "bot.reply"]
    assert any("发票抬头" in t for t in replies), replies


def test_a_learnt_proposal_is_corrected_in_the_ui_before_it_goes_live(
    kefu: Kefu, new_page: Any
) -> None:
    """库存还多吗 was mined with the wrong answer (价格是统一的): fixed, then approved."""
    from sqlalchemy.orm import Session

    from kefu.faq import live as faq_live
    from kefu.faq.learn import Evidence, Proposal
    from kefu.storage.db import make_engine

    store = S + "3"
    boss = kefu.staff(store, "boss", "supervisor")
    engine = make_engine(kefu.db)
    try:
        with Session(engine) as s, s.begin():
            faq_live.save(s, store, [Proposal(id="q1", question="库存还多吗",
                                              answer="价格是统一的", score=1.0,
                                              evidence=Evidence(asked=3, uses=2))], 0)  # fmt: skip
    finally:
        engine.dispose()
    page = new_page()
    page.goto(f"{kefu.url}/app/supervisor/faq?token={boss}")
    prop = page.locator('[data-testid="faq-proposal"][data-id="q1"]')
    expect(prop).to_contain_text("价格是统一的")
    prop.get_by_test_id("proposal-edit").click()
    page.get_by_test_id("proposal-answer").fill("亲，库存充足，放心下单哦")
    page.get_by_test_id("proposal-save").click()
    expect(prop).to_have_count(0)
    expect(page.locator('[data-testid="faq-entry"][data-faq="q1"]')).to_contain_text("库存充足")
    r = kefu.api("POST", "/api/v1/buyer/messages", kefu.buyer(store, "b1"), {"text": "库存还多吗"})
    replies = [a["text"] for a in r.json()["actions"] if a["type"] == "bot.reply"]
    assert any("库存充足" in t for t in replies) and not any("价格" in t for t in replies), replies
