"""The live monitor's rows open the conversation: a supervisor sees why a buyer waits."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.web.conftest import Kefu, now_ms, shot


def test_a_failing_row_opens_its_transcript(kefu: Kefu, new_page: Any) -> None:
    store = "mon"
    kefu.online(store, "a1", capacity=5, name="小宇")
    t = now_ms() - 240_000  # handed four minutes ago, nobody answered: past the 3-minute mark
    kefu.events([
        {"type": "message", "store": store, "buyer": "b1", "sender": "buyer",
         "text": "发票怎么开？", "ts": t},
        {"type": "transfer.click", "store": store, "buyer": "b1", "ts": t + 500},
    ])  # fmt: skip
    boss = kefu.staff(store, "boss", "supervisor")
    page = new_page(1440, 1000)
    page.goto(f"{kefu.url}/app/supervisor/monitor?token={boss}")
    row = page.locator('[data-conversation="b1~1"]')
    expect(row).to_be_visible(timeout=30_000)
    row.click()
    transcript = page.get_by_test_id("monitor-transcript")
    expect(transcript).to_contain_text("发票怎么开？")
    expect(row).to_have_attribute("aria-expanded", "true")
    shot(page, "monitor-open-row")
    row.click()  # and closes again
    expect(transcript).to_have_count(0)
    assert page.errors == []
