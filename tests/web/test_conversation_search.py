"""Conversation search in the workbench (#21): the panel finds past conversations of the store
by words, buyer and order id, pages through them, says when nothing matches, and a result
opens the conversation (read-only when it is closed)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.web.conftest import DAY_MS, Kefu, now_ms, shot

STORE = "findshop"


def test_search_panel_finds_and_opens_past_conversations(kefu: Kefu, new_page: Any) -> None:
    agent = kefu.online(STORE, "f-a1", capacity=3, name="寻店:小寻")
    t0 = now_ms() - 3 * DAY_MS
    evs: list[dict[str, Any]] = []
    for n in range(25):  # 25 past conversations: two pages of 20
        evs.append({"type": "message", "store": STORE, "buyer": f"old{n:02d}", "sender": "buyer",
                    "ts": t0 + n * 60_000, "text": f"第{n}个问题：什么时候发货"})  # fmt: skip
    evs += [
        {"type": "message", "store": STORE, "buyer": "shoe-fan", "sender": "buyer",
         "ts": t0 + DAY_MS, "text": "这双鞋有43码吗"},
        {"type": "order", "store": STORE, "order": "DD-20270101-77", "buyer": "payer",
         "ts": t0 + DAY_MS, "items": [{"product": "p1", "qty": 1, "price": 9.0}], "amount": 9.0},
        {"type": "message", "store": STORE, "buyer": "payer", "sender": "buyer",
         "ts": t0 + DAY_MS + 60_000, "text": "付款了，麻烦尽快发"},
    ]  # fmt: skip
    kefu.events(evs)
    # another store's conversation with the same words is never found here
    kefu.events([{"type": "message", "store": "othershop", "buyer": "spy", "sender": "buyer",
                  "ts": t0, "text": "这双鞋有43码吗"}])  # fmt: skip

    page = new_page()
    page.goto(f"{kefu.url}/app/workbench?token={agent}")
    page.get_by_test_id("search-toggle").click()
    panel = page.get_by_test_id("conv-search")
    expect(panel).to_be_visible()
    page.get_by_test_id("search-q").fill("43码")
    page.get_by_test_id("search-go").click()
    hits = page.get_by_test_id("search-hit")
    expect(hits).to_have_count(1)
    expect(hits.first).to_contain_text("shoe-fan")
    expect(hits.first).to_contain_text("这双鞋有43码吗")
    expect(hits.first).to_contain_text("已结束")
    shot(page, "search-panel")
    hits.first.click()
    chat = page.get_by_test_id("chat")
    expect(chat).to_have_attribute("data-conv", "shoe-fan~1")
    expect(page.get_by_test_id("msg-text").filter(has_text="这双鞋有43码吗")).to_have_count(1)
    expect(page.get_by_test_id("composer")).to_have_count(0)  # closed: read-only

    # by order id: the order's buyer
    page.get_by_test_id("search-q").fill("")
    page.get_by_test_id("search-order").fill("DD-20270101-77")
    page.get_by_test_id("search-go").click()
    expect(hits).to_have_count(1)
    expect(hits.first).to_contain_text("payer")

    # nothing: an empty state, not an empty box
    page.get_by_test_id("search-order").fill("")
    page.get_by_test_id("search-buyer").fill("nobody-like-this")
    page.get_by_test_id("search-go").click()
    expect(page.get_by_test_id("search-empty")).to_be_visible()

    # every conversation, a page at a time
    page.get_by_test_id("search-buyer").fill("old")
    page.get_by_test_id("search-go").click()
    expect(hits).to_have_count(20)
    page.get_by_test_id("search-more").click()
    expect(hits).to_have_count(25)
    expect(page.get_by_test_id("search-more")).to_have_count(0)
    expect(hits.first).to_contain_text("old24")  # newest first

    page.get_by_test_id("search-close").click()
    expect(page.get_by_test_id("conv-list")).to_be_visible()
    assert not page.errors, page.errors
