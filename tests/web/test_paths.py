"""The widget's other paths in a real browser: the queue (position, then a person), everyone
offline (the store's failure text), a dropped connection (nothing lost, nothing doubled), and
the language switch of the staff app and of the widget."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.web.conftest import Kefu, shot

QUEUE_TEXT = "排队中，下一位就是您"  # position 1: the buyer is next (no "1 ahead")
OFFLINE_TEXT = "客服暂时不在线，请留言，我们会尽快回复您"


def _ask(page: Any, kefu: Kefu, store: str, buyer: str, text: str = "在吗") -> None:
    page.goto(f"{kefu.url}/app/shop.html?token={kefu.buyer(store, buyer)}")
    page.get_by_test_id("kefu-launcher").click()
    page.get_by_test_id("kefu-input").fill(text)
    page.get_by_test_id("kefu-input").press("Enter")
    expect(page.get_by_test_id("kefu-transfer")).to_be_visible()


def test_queue_position_then_a_person(kefu: Kefu, new_page: Any) -> None:
    store = "qshop"
    agent = kefu.online(store, "a1", capacity=1)
    first = {"Authorization": f"Bearer {kefu.buyer(store, 'b0')}"}
    import httpx

    httpx.post(f"{kefu.url}/api/v1/buyer/messages", headers=first, json={"text": "你好"})
    r = httpx.post(f"{kefu.url}/api/v1/buyer/transfer", headers=first)
    assert r.json()["actions"][0]["outcome"] == "assigned"

    bp = new_page(1200, 800)
    _ask(bp, kefu, store, "b1")
    bp.get_by_test_id("kefu-transfer").click()
    expect(bp.get_by_test_id("kefu-system").filter(has_text=QUEUE_TEXT)).to_be_visible()
    expect(bp.get_by_test_id("kefu-status")).to_have_text(QUEUE_TEXT)
    expect(bp.get_by_test_id("kefu-transfer")).to_be_hidden()
    shot(bp, "10-widget-queued")

    # The agent finishes the first chat: the queue drains and the buyer gets a person.
    r = kefu.api("POST", f"/api/v1/stores/{store}/conversations/b0~1/close", agent)
    assert r.status_code == 200, r.text
    expect(bp.get_by_test_id("kefu-status")).to_contain_text("a1")
    expect(bp.get_by_test_id("kefu-system").filter(has_text="a1")).to_have_count(1)
    assert bp.errors == []


def test_everyone_offline_shows_the_store_text(kefu: Kefu, new_page: Any) -> None:
    store = "offshop"
    kefu.staff(store, "a1")  # an agent exists but never comes online
    bp = new_page(1200, 800)
    _ask(bp, kefu, store, "b1", "有人吗")
    bp.get_by_test_id("kefu-transfer").click()
    failed = bp.get_by_test_id("kefu-system").filter(has_text=OFFLINE_TEXT)
    expect(failed).to_be_visible()
    expect(failed).to_have_attribute("data-type", "transfer.result")
    # Still within its lifetime: the button stays so the buyer can try again later.
    expect(bp.get_by_test_id("kefu-transfer")).to_be_visible()
    shot(bp, "11-widget-offline")


def test_reconnect_fetches_what_was_missed_once(kefu: Kefu, new_page: Any) -> None:
    store = "netshop"
    agent = kefu.online(store, "a1")
    bp = new_page(1200, 800)
    _ask(bp, kefu, store, "b1")
    bp.get_by_test_id("kefu-transfer").click()
    expect(bp.get_by_test_id("kefu-status")).to_contain_text("a1")

    # The network drops; the agent writes twice meanwhile.
    bp.context.set_offline(True)
    bp.evaluate("window.kefu.drop()")
    expect(bp.get_by_test_id("kefu-reconnecting")).to_be_visible()
    for text in ("第一条：在的亲", "第二条：今天发货"):
        r = kefu.api(
            "POST", f"/api/v1/stores/{store}/conversations/b1~1/messages", agent, {"text": text}
        )
        assert r.status_code == 200, r.text
    shot(bp, "12-widget-reconnecting")
    bp.context.set_offline(False)

    # Back online: both messages, each exactly once, and live updates flow again.
    msgs = bp.get_by_test_id("kefu-text")
    expect(msgs.filter(has_text="第一条：在的亲")).to_have_count(1)
    expect(msgs.filter(has_text="第二条：今天发货")).to_have_count(1)
    expect(bp.get_by_test_id("kefu-reconnecting")).to_be_hidden()
    kefu.api(
        "POST", f"/api/v1/stores/{store}/conversations/b1~1/messages", agent, {"text": "第三条"}
    )
    expect(msgs.filter(has_text="第三条")).to_have_count(1)
    ids = bp.get_by_test_id("kefu-msg").evaluate_all("els => els.map(e => e.dataset.id)")
    assert len(ids) == len(set(ids))


def test_language_switch(kefu: Kefu, new_page: Any) -> None:
    store = "langshop"
    token = kefu.staff(store, "a1")
    page = new_page()
    page.goto(f"{kefu.url}/app/login")
    expect(page.locator("h1")).to_have_text("登录客服工作台")
    page.get_by_test_id("lang-switch").click()
    expect(page.locator("h1")).to_have_text("Sign in to the workbench")
    page.get_by_test_id("token").fill(token)
    page.get_by_test_id("login").click()
    expect(page.locator('[data-nav="workbench"]')).to_have_text("Workbench")
    expect(page.get_by_test_id("conv-empty")).to_contain_text("No conversations")
    page.reload()  # the choice is remembered
    expect(page.locator('[data-nav="workbench"]')).to_have_text("Workbench")
    shot(page, "13-workbench-english")
    page.get_by_test_id("lang-switch").click()
    expect(page.locator('[data-nav="workbench"]')).to_have_text("工作台")

    # A bad token is refused with the server's reason, in the page's language; the hint's
    # command is set as code, not Markdown backticks.
    page.get_by_test_id("logout").click()
    page.get_by_test_id("token").fill("kefu_not-a-real-token")
    page.get_by_test_id("login").click()
    expect(page.get_by_test_id("login-error")).to_have_text(
        "登录失败：令牌无效或已失效，请重新登录"
    )
    expect(page.get_by_test_id("login-hint").locator("code")).to_contain_text("kefu token create")
    assert "`" not in page.get_by_test_id("login-hint").inner_text()
    shot(page, "14-login-error")

    # The widget has its own switch.
    bp = new_page(1200, 800)
    bp.goto(f"{kefu.url}/app/shop.html?token={kefu.buyer(store, 'b1')}")
    bp.get_by_test_id("kefu-launcher").click()
    expect(bp.get_by_test_id("kefu-input")).to_have_attribute("placeholder", "请输入您的问题…")
    bp.get_by_test_id("kefu-lang").click()
    expect(bp.get_by_test_id("kefu-input")).to_have_attribute("placeholder", "Type your question…")
