"""On a phone (Chromium's mobile emulation at 360×740 and 390×844): the demo shop and its widget
and the agent workbench fit the screen — no horizontal scroll, every tap target on screen; the
open chat fills the screen; the workbench shows list → chat → panel as stacked views."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import Kefu, now_ms, shot

PHONES = [(360, 740), (390, 844)]


@pytest.fixture
def phone(new_page: Any) -> Any:
    """A page in Chromium's phone emulation at `width` × `height`."""
    return lambda width, height: new_page(width, height, mobile=True)


def _no_horizontal_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width}px wide"


def _on_screen(page: Any, locator: Any) -> None:
    box = locator.bounding_box()
    assert box is not None
    w, h = page.viewport_size["width"], page.viewport_size["height"]
    assert box["x"] >= 0 and box["y"] >= 0, box
    assert box["x"] + box["width"] <= w + 0.5 and box["y"] + box["height"] <= h + 0.5, box


@pytest.mark.parametrize(("width", "height"), PHONES)
def test_the_shop_and_its_widget_fit_a_phone(
    kefu: Kefu, phone: Any, width: int, height: int
) -> None:
    store = f"m{width}"
    kefu.catalogue(store)
    page = phone(width, height)
    page.goto(f"{kefu.url}/app/shop.html?token={kefu.buyer(store, 'b1')}")
    launcher = page.get_by_test_id("kefu-launcher")
    expect(launcher).to_be_visible()
    _no_horizontal_scroll(page)
    _on_screen(page, launcher)
    shot(page, f"mobile-{width}-shop")

    launcher.tap()
    panel = page.get_by_test_id("kefu-panel")
    expect(panel).to_be_visible()
    box = panel.bounding_box()
    assert box is not None
    assert (round(box["x"]), round(box["y"]), round(box["width"])) == (0, 0, width)
    assert abs(box["height"] - height) <= 1  # the whole screen
    for target in ("kefu-close", "kefu-lang"):
        _on_screen(page, page.get_by_test_id(target))
    _on_screen(page, page.locator("kefu-widget, #kefu-widget").locator("textarea"))
    _no_horizontal_scroll(page)
    page.locator("#kefu-widget").locator("textarea").fill("这款有货吗")
    page.locator("#kefu-widget").locator("textarea").press("Enter")
    expect(page.get_by_test_id("kefu-msg").first).to_contain_text("这款有货吗")
    shot(page, f"mobile-{width}-widget")
    assert page.errors == []


@pytest.mark.parametrize(("width", "height"), PHONES)
def test_the_workbench_stacks_list_chat_and_panel(
    kefu: Kefu, phone: Any, width: int, height: int
) -> None:
    store = f"wm{width}"
    kefu.catalogue(store)
    agent = kefu.online(store, "a1", capacity=5, name="小宇")
    t = now_ms() - 60_000
    kefu.events([
        {"type": "message", "store": store, "buyer": "b1", "sender": "buyer", "text": "在吗",
         "ts": t},
        {"type": "transfer.click", "store": store, "buyer": "b1", "ts": t + 500},
    ])  # fmt: skip
    page = phone(width, height)
    page.goto(f"{kefu.url}/app/workbench?token={agent}")
    item = page.locator('[data-conv-item="b1~1"]')
    expect(item).to_be_visible()
    _no_horizontal_scroll(page)
    _on_screen(page, item)
    expect(page.get_by_test_id("chat")).to_be_hidden()  # one view at a time
    shot(page, f"mobile-{width}-workbench-list")

    item.tap()
    expect(page.get_by_test_id("chat")).to_be_visible()
    expect(item).to_be_hidden()
    for target in ("back-to-list", "side-toggle", "transfer"):
        _on_screen(page, page.get_by_test_id(target))
    _no_horizontal_scroll(page)
    shot(page, f"mobile-{width}-workbench-chat")

    page.get_by_test_id("side-toggle").tap()
    expect(page.get_by_test_id("side-panel")).to_be_visible()
    expect(page.get_by_test_id("chat-header")).to_be_hidden()
    _no_horizontal_scroll(page)
    _on_screen(page, page.get_by_test_id("side-back"))
    shot(page, f"mobile-{width}-workbench-panel")
    page.get_by_test_id("side-back").tap()
    expect(page.get_by_test_id("chat-header")).to_be_visible()
    page.get_by_test_id("back-to-list").tap()
    expect(item).to_be_visible()
    assert page.errors == []
