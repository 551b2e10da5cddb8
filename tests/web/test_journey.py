"""The main journey in a real browser: buyer asks → bot answers → buyer presses 转人工 →
the agent gets the chat, sees the guide panel, sends the items with F6 → the buyer orders →
the supervisor's numbers move. Plus the XSS check on what buyers type."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.web.conftest import Kefu, now_ms, shot

S = "jshop"


def _metric(page: Any, metric: str) -> str:
    return page.locator(f'[data-metric="{metric}"] .value').first.inner_text()


def test_buyer_to_agent_to_order_to_supervisor(kefu: Kefu, new_page: Any) -> None:
    kefu.catalogue(S)
    faq = {
        "type": "faq",
        "store": S,
        "ts": now_ms() - 60_000,
        "faq": "f-express",
        "question": "发什么快递",
        "answer": "亲，默认顺丰包邮，48小时内发货哦",
    }
    kefu.events([faq])
    agent = kefu.staff(S, "a1")
    boss = kefu.staff(S, "boss", "supervisor")

    # The agent signs in with the link's token and goes online from the status toggle.
    ap = new_page()
    ap.goto(f"{kefu.url}/app/workbench?token={agent}")
    expect(ap.get_by_test_id("me")).to_have_text("a1")
    assert "token=" not in ap.url  # the token leaves the address bar
    expect(ap.get_by_test_id("conv-empty")).to_be_visible()
    ap.locator('[data-status="online"]').click()
    expect(ap.locator('[data-status="online"]')).to_have_class(re.compile(r"\bon\b"))
    ap.get_by_test_id("capacity").fill("3")
    ap.get_by_test_id("capacity").press("Enter")
    expect(ap.get_by_test_id("toast").last).to_contain_text("3")

    # The buyer asks on the shop page; the bot answers and offers the button.
    bp = new_page(1280, 860)
    bp.goto(f"{kefu.url}/app/shop.html?token={kefu.buyer(S, 'b1')}")
    expect(bp.locator('[data-ask="p1"]')).to_be_visible()
    bp.get_by_test_id("kefu-launcher").click()
    bp.get_by_test_id("kefu-input").fill("你好，请问发什么快递？")
    bp.get_by_test_id("kefu-input").press("Enter")
    msgs = bp.get_by_test_id("kefu-msg")
    expect(msgs.filter(has_text="你好，请问发什么快递？")).to_have_count(1)
    expect(msgs).to_have_count(2)  # the question and the bot's reply
    expect(bp.get_by_test_id("kefu-transfer")).to_be_visible()
    shot(bp, "01-widget-bot-reply")

    # 转人工: assigned to the online agent, who gets the conversation live.
    bp.get_by_test_id("kefu-transfer").click()
    expect(bp.get_by_test_id("kefu-status")).to_contain_text("a1")
    expect(bp.get_by_test_id("kefu-transfer")).to_be_hidden()
    item = ap.locator('[data-conv-item="b1~1"]')
    expect(item).to_be_visible()
    item.click()
    expect(ap.get_by_test_id("chat")).to_have_attribute("data-conv", "b1~1")
    expect(ap.get_by_test_id("msg").filter(has_text="发什么快递")).to_have_count(1)

    # Smart assist, when the server offers it, suggests a reply for the buyer's question.
    if kefu.api("GET", f"/api/v1/stores/{S}/conversations/b1~1/assist", agent).status_code == 200:
        ap.locator('[data-tab="assist"]').click()
        expect(ap.get_by_test_id("suggestion").first).to_be_visible()
        ap.get_by_test_id("suggestion").first.get_by_role("button").click()
        expect(ap.get_by_test_id("composer")).not_to_have_value("")
        ap.locator('[data-tab="buyer"]').click()

    # Typing shows on both sides; the buyer's emoji arrive as typed.
    bp.get_by_test_id("kefu-input").press_sequentially("好的")
    expect(ap.get_by_test_id("buyer-typing")).to_be_visible()
    bp.get_by_test_id("kefu-emoji").click()
    bp.get_by_test_id("kefu-emoji-grid").get_by_text("👍").click()
    bp.get_by_test_id("kefu-send").click()
    expect(ap.get_by_test_id("msg-text").filter(has_text="好的👍")).to_have_count(1)
    ap.get_by_test_id("composer").fill("")
    ap.get_by_test_id("composer").press_sequentially("亲")
    expect(bp.get_by_test_id("kefu-typing")).to_be_visible()

    # The agent replies; the buyer sees it, and the agent sees the buyer read it.
    ap.get_by_test_id("composer").fill("亲，默认发顺丰，48小时内发货哦")
    ap.get_by_test_id("composer").press("Enter")
    expect(bp.get_by_test_id("kefu-msg").filter(has_text="默认发顺丰")).to_have_count(1)
    expect(bp.get_by_test_id("kefu-typing")).to_be_hidden()
    expect(ap.locator(".read.yes")).to_have_count(1)

    # Purchase intent (cart) + a product card → the guide panel, inquired item first.
    kefu.events([{"type": "cart.add", "store": S, "buyer": "b1", "product": "p1", "ts": now_ms()}])
    bp.locator('[data-ask="p1"]').click()
    panel = ap.get_by_test_id("guide-panel")
    expect(panel).to_be_visible()
    cards = panel.locator("[data-guide-item]")
    expect(cards.first).to_have_attribute("data-guide-item", "p1")
    suggested = [cards.nth(i).get_attribute("data-guide-item") for i in range(cards.count())]
    assert suggested[0] == "p1" and len(suggested) >= 2 and "p2" in suggested
    expect(panel).to_contain_text("纯棉宽松短袖T恤")
    shot(ap, "02-workbench-guide-panel")

    # F6 sends every complement with the store's copy; the buyer receives the cards.
    ap.locator("body").click(position={"x": 700, "y": 400})
    ap.keyboard.press("F6")
    expect(ap.get_by_test_id("toast").last).to_contain_text(str(len(suggested) - 1))
    expect(bp.get_by_test_id("kefu-text").filter(has_text="一起买更划算")).to_have_count(1)
    for pid in suggested[1:]:
        expect(bp.locator(f'.kf-card[data-product="{pid}"]')).to_be_visible()
    shot(bp, "03-widget-guide-cards")

    # The supervisor watches: one online agent, one open conversation; no order yet.
    sp = new_page()
    sp.goto(f"{kefu.url}/app/supervisor/monitor?token={boss}")
    expect(sp.locator('[data-stat="online_agents"] .value')).to_have_text("1")
    expect(sp.locator('[data-stat="open_conversations"] .value')).to_have_text("1")
    shot(sp, "04-supervisor-monitor")
    sp.get_by_test_id("tab-performance").click()
    expect(sp.locator('[data-metric="inquiry_buyers"] .value')).to_have_text("1")
    assert _metric(sp, "inquiry_order_buyers") == "0"

    # The buyer orders one of the suggested items and pays.
    price = {"p2": 139.0, "p3": 99.0, "p4": 39.0, "p5": 29.9}
    bought = next(p for p in suggested[1:] if p in price)
    t = now_ms()
    kefu.events(
        [
            {
                "type": "order",
                "store": S,
                "ts": t,
                "order": "o-b1",
                "buyer": "b1",
                "items": [{"product": bought, "qty": 1, "price": price[bought]}],
                "amount": price[bought],
            },
            {
                "type": "payment",
                "store": S,
                "ts": t + 1000,
                "order": "o-b1",
                "amount": price[bought],
            },
        ]
    )

    # The supervisor's numbers move; the agent sees the order beside the chat.
    sp.get_by_test_id("apply").click()
    expect(sp.locator('[data-metric="inquiry_order_buyers"] .value')).to_have_text("1")
    expect(sp.locator('[data-metric="inquiry_paid_buyers"] .value')).to_have_text("1")
    shot(sp, "05-supervisor-performance")
    ap.locator('[data-conv-item="b1~1"]').click()
    ap.locator('[data-tab="buyer"]').click()
    ap.reload()
    ap.locator('[data-conv-item="b1~1"]').click()
    expect(ap.get_by_test_id("order")).to_contain_text("o-b1")
    shot(ap, "06-workbench-order")
    assert ap.errors == [] and bp.errors == [] and sp.errors == []


def test_buyer_text_is_never_html(kefu: Kefu, new_page: Any) -> None:
    store = "xss"
    kefu.online(store, "a1")
    payload = "<img src=x onerror=alert(1)><script>alert(2)</script>"
    bp = new_page(1200, 800)
    dialogs: list[str] = []

    def seen(d: Any, into: list[str]) -> None:
        into.append(d.message)
        d.dismiss()

    bp.on("dialog", lambda d: seen(d, dialogs))
    bp.goto(f"{kefu.url}/app/shop.html?token={kefu.buyer(store, 'evil')}")
    bp.get_by_test_id("kefu-launcher").click()
    bp.get_by_test_id("kefu-input").fill(payload)
    bp.get_by_test_id("kefu-send").click()
    text = bp.get_by_test_id("kefu-text").filter(has_text="onerror")
    expect(text).to_have_text(payload)
    bp.get_by_test_id("kefu-transfer").click()
    expect(bp.get_by_test_id("kefu-status")).to_contain_text("a1")

    ap = new_page()
    adialogs: list[str] = []
    ap.on("dialog", lambda d: seen(d, adialogs))
    ap.goto(f"{kefu.url}/app/workbench?token={kefu.staff(store, 'a1')}")
    ap.locator('[data-conv-item="evil~1"]').click()
    expect(ap.get_by_test_id("msg-text").filter(has_text="onerror")).to_have_text(payload)
    ap.wait_for_timeout(300)
    assert dialogs == [] and adialogs == []
    # No element was made from the text: no <img> or <script> inside any message.
    assert ap.locator('[data-testid="messages"] img, [data-testid="messages"] script').count() == 0
    host = bp.locator("#kefu-widget")
    assert host.locator("img").count() == 0
