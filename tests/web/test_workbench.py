"""The agent workbench in a real browser: keyboard-first work (help overlay, jump to the
longest wait, next/previous, quick replies, notes, transfer, close), the red mark past three
minutes, and the time to switch conversation with 200 open conversations (measured, printed)."""

from __future__ import annotations

import statistics
import time
from typing import Any

from playwright.sync_api import expect

from tests.web.conftest import Kefu, now_ms, shot


def _handed(store: str, buyer: str, ts: int, text: str = "在吗") -> list[dict[str, Any]]:
    """A buyer's question and a click on 转人工 at `ts` (the past: the wait is already running)."""
    return [
        {
            "type": "message",
            "store": store,
            "buyer": buyer,
            "sender": "buyer",
            "text": text,
            "ts": ts,
        },
        {"type": "transfer.click", "store": store, "buyer": buyer, "ts": ts + 500},
    ]


def test_keyboard_first(kefu: Kefu, new_page: Any) -> None:
    store = "keys"
    agent = kefu.online(store, "a1", capacity=5)
    t = now_ms() - 100_000
    # Three buyers handed over 90, 60 and 30 s ago: b1 has waited longest.
    evs = []
    for n, b in enumerate(("b1", "b2", "b3")):
        evs += _handed(store, b, t + n * 30_000, f"{b} 问：什么时候发货？")
    kefu.events(evs)
    kefu.online(store, "a2", capacity=5, name="小王", groups=["售后"])  # the colleague, later
    r = kefu.api(
        "POST",
        f"/api/v1/stores/{store}/quick-replies",
        agent,
        {"shortcut": "/fh", "text": "亲，今天下单今天发货哦", "scope": "mine"},
    )
    assert r.status_code == 201, r.text

    page = new_page()
    page.goto(f"{kefu.url}/app/workbench?token={agent}")
    expect(page.get_by_test_id("conv-count")).to_have_text("3")
    items = page.locator("[data-conv-item]")
    assert items.evaluate_all("els => els.map(e => e.dataset.convItem)") == ["b1~1", "b2~1", "b3~1"]

    # ? opens the help overlay, Esc closes it.
    page.locator("body").press("?")
    expect(page.get_by_test_id("help")).to_be_visible()
    expect(page.get_by_test_id("help")).to_contain_text("F2")
    shot(page, "20-workbench-help")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("help")).to_be_hidden()

    # F2 jumps to the longest-waiting conversation; Alt+↓ / Alt+↑ walk the list.
    page.keyboard.press("F2")
    expect(page.get_by_test_id("chat")).to_have_attribute("data-conv", "b1~1")
    page.keyboard.press("Alt+ArrowDown")
    expect(page.get_by_test_id("chat")).to_have_attribute("data-conv", "b2~1")
    page.keyboard.press("Alt+ArrowUp")
    expect(page.get_by_test_id("chat")).to_have_attribute("data-conv", "b1~1")

    # Alt+K focuses the composer; /fh + Tab inserts the quick reply; Enter sends it.
    page.keyboard.press("Alt+k")
    expect(page.get_by_test_id("composer")).to_be_focused()
    page.keyboard.type("/fh")
    expect(page.get_by_test_id("qr-pop")).to_contain_text("今天下单今天发货")
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("composer")).to_have_value("亲，今天下单今天发货哦")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("msg").filter(has_text="今天下单今天发货")).to_have_count(1)
    # Answered: b1 stops waiting and F2 now picks b2.
    expect(page.locator('[data-conv-item="b1~1"] [data-testid="timer"]')).to_have_text("—")
    page.locator("body").click(position={"x": 700, "y": 300})
    page.keyboard.press("F2")
    expect(page.get_by_test_id("chat")).to_have_attribute("data-conv", "b2~1")

    # Alt+N writes a private note.
    page.keyboard.press("Alt+n")
    expect(page.get_by_test_id("note-input")).to_be_focused()
    page.keyboard.type("老客户，上次买过牛仔裤")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("note")).to_contain_text("老客户")

    # Alt+T transfers to a colleague: type to filter, Enter to confirm.
    page.keyboard.press("Alt+t")
    dialog = page.get_by_test_id("transfer-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator('[data-target="售后"]')).to_be_visible()  # skill groups are offered
    page.keyboard.type("小王")
    shot(page, "21-workbench-transfer")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("toast").last).to_contain_text("小王")
    expect(page.locator('[data-conv-item="b2~1"]')).to_have_count(0)

    # Alt+X closes the current conversation after an Enter to confirm.
    page.locator('[data-conv-item="b3~1"]').click()
    page.locator("body").click(position={"x": 700, "y": 300})
    page.keyboard.press("Alt+x")
    expect(page.get_by_test_id("close-dialog")).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator('[data-conv-item="b3~1"]')).to_have_count(0)
    expect(page.get_by_test_id("conv-count")).to_have_text("1")
    assert page.errors == []


def test_red_mark_past_three_minutes(kefu: Kefu, new_page: Any) -> None:
    store = "late"
    agent = kefu.online(store, "a1")
    boss = kefu.staff(store, "boss", "supervisor")
    kefu.events(
        _handed(store, "slow", now_ms() - 200_000, "等了好久了")
        + _handed(store, "fast", now_ms() - 20_000)
    )
    page = new_page()
    page.goto(f"{kefu.url}/app/workbench?token={agent}")
    slow = page.locator('[data-conv-item="slow~1"]')
    expect(slow).to_have_attribute("data-over", "true")
    expect(slow.get_by_test_id("over3")).to_be_visible()
    expect(page.locator('[data-conv-item="fast~1"]')).to_have_attribute("data-over", "false")
    expect(page.get_by_test_id("over-count")).to_contain_text("1")
    # The timer runs live in the page.
    first = slow.get_by_test_id("timer").inner_text()
    page.wait_for_timeout(2100)
    assert slow.get_by_test_id("timer").inner_text() != first
    minutes = int(first.split(":")[0])
    assert minutes >= 3
    shot(page, "22-workbench-over-3min")

    sp = new_page()
    sp.goto(f"{kefu.url}/app/supervisor/monitor?token={boss}")
    expect(sp.locator('[data-stat="failing_3min"] .value')).to_have_text("1")
    expect(sp.get_by_test_id("failing")).to_contain_text("slow")


def test_switching_with_200_open_conversations(kefu: Kefu, new_page: Any) -> None:
    store = "busy"
    agent = kefu.online(store, "a1", capacity=250)
    t0 = now_ms() - 400_000
    evs: list[dict[str, Any]] = []
    for i in range(200):
        buyer = f"u{i:03d}"
        evs += _handed(store, buyer, t0 + i * 1500, f"{buyer}：这件还有货吗？")
        evs.append(
            {
                "type": "message",
                "store": store,
                "buyer": buyer,
                "sender": "buyer",
                "text": f"{buyer}：能便宜点吗",
                "ts": t0 + i * 1500 + 900,
            }
        )
    kefu.events(evs)

    page = new_page()
    started = time.perf_counter()
    page.goto(f"{kefu.url}/app/workbench?token={agent}")
    expect(page.get_by_test_id("conv-count")).to_have_text("200")
    expect(page.locator("[data-conv-item]")).to_have_count(200)
    load_s = time.perf_counter() - started

    chat = page.get_by_test_id("chat")
    targets = [f"u{i:03d}~1" for i in (0, 57, 113, 171, 199, 3, 88, 140, 25, 190, 64, 120)]
    cold: list[float] = []
    for conv in targets:
        item = page.locator(f'[data-conv-item="{conv}"]')
        item.scroll_into_view_if_needed()
        t = time.perf_counter()
        item.click()
        expect(chat).to_have_attribute("data-conv", conv)
        expect(chat).to_have_attribute("data-loaded", "true")
        expect(page.get_by_test_id("msg-text").filter(has_text="能便宜点吗")).to_have_count(1)
        cold.append((time.perf_counter() - t) * 1000)
    # Back to conversations already opened (cached transcript, refreshed in the background).
    warm: list[float] = []
    for conv in targets[:6]:
        t = time.perf_counter()
        page.locator(f'[data-conv-item="{conv}"]').click()
        expect(chat).to_have_attribute("data-conv", conv)
        expect(page.get_by_test_id("msg-text").filter(has_text=conv.split("~")[0])).to_have_count(2)
        warm.append((time.perf_counter() - t) * 1000)
    # Keyboard walk: Alt+↓ twenty times.
    t = time.perf_counter()
    for _ in range(20):
        page.keyboard.press("Alt+ArrowDown")
    expect(chat).to_have_attribute("data-loaded", "true")
    walk_ms = (time.perf_counter() - t) * 1000 / 20
    print(
        f"\n200 open conversations: list loaded in {load_s:.2f} s; "
        "switch (click → transcript shown) "
        f"first visit median {statistics.median(cold):.0f} ms (max {max(cold):.0f} ms), "
        f"revisit median {statistics.median(warm):.0f} ms, Alt+↓ {walk_ms:.0f} ms per step"
    )
    shot(page, "23-workbench-200-conversations")
    assert page.errors == []
