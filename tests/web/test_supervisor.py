"""Supervisor pages and settings in a real browser, on a store with five simulated days of history
(`kefu.sim`): numbers match the API, the KPI table sorts and downloads as CSV, urges page
with their transcripts, FAQ proposals are approved, settings show the server's messages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import expect

from tests.web.conftest import DIST, SECRET, Kefu, _missing, shot, start_server

S = "s001"  # the simulator's first store
# The log holds the bot's messages; half the buyers see no button (A/B).
CONFIG = "[bot]\nenabled = false\n[urge]\nmin_intent = 0.4\n[handoff]\nab_test = true\n"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Kefu, str]]:
    """A server holding 5 simulated days of one store; an admin token of that store."""
    import os

    from kefu.sim import generate

    if not (DIST / "index.html").is_file():
        _missing("the built web app (web/dist: `make setup`)")
    os.environ["KEFU_SECRET"] = SECRET
    proc, url, db = start_server(tmp_path_factory.mktemp("kefu-sv"), CONFIG)
    k = Kefu(url, db)
    try:
        lines = list(
            generate(stores=1, buyers=800, days=5, seed=3, start=date.today() - timedelta(days=5))
        )
        for i in range(0, len(lines), 10_000):
            r = httpx.post(
                f"{url}/api/v1/events",
                content=b"\n".join(lines[i : i + 10_000]),
                headers={
                    "content-type": "application/x-ndjson",
                    "Authorization": f"Bearer {k.staff(S, 'ingest', 'admin')}",
                },
                timeout=300,
            )
            assert r.status_code == 200, r.text[:500]
        yield k, k.staff(S, "boss", "admin")
    finally:
        proc.terminate()
        proc.wait(10)
        if k._engine is not None:
            k._engine.dispose()


def _range() -> dict[str, str]:
    """The default range: the store's last 14 days (its days, in Asia/Shanghai)."""
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    return {"from": (today - timedelta(days=13)).isoformat(), "to": today.isoformat()}


def test_supervisor_pages(store: tuple[Kefu, str], new_page: Any) -> None:
    kefu, boss = store
    q = _range()
    # A browser 20 hours behind the store: the range is still the store's days.
    page = new_page(1440, 1000, timezone="Etc/GMT+12")
    page.goto(f"{kefu.url}/app/supervisor/performance?token={boss}")
    expect(page.get_by_test_id("from")).to_have_value(q["from"])
    expect(page.get_by_test_id("to")).to_have_value(q["to"])

    # The funnel's numbers are the API's.
    api = kefu.api(
        "GET", f"/api/v1/stores/{S}/insight?by=store&from={q['from']}&to={q['to']}", boss
    )
    totals = api.json()["rows"][0]
    assert totals["inquiry_buyers"] > 0
    expect(page.locator('[data-metric="inquiry_buyers"] .value')).to_have_text(
        str(totals["inquiry_buyers"])
    )
    expect(page.locator('[data-metric="inquiry_order_buyers"] .value')).to_have_text(
        str(totals["inquiry_order_buyers"])
    )
    table = page.get_by_test_id("kpi")
    expect(table.locator("tbody tr").first).to_be_visible()
    expect(page.locator(".echart canvas").first).to_be_visible()
    page.wait_for_timeout(600)  # chart animation
    shot(page, "30-supervisor-performance")

    # Sorting: click a column twice, the order flips; empty values stay last.
    def column(key: str) -> list[str]:
        return table.locator(f'tbody td[data-col="{key}"]').all_inner_texts()

    table.locator('th[data-col="consulted_buyers"]').click()
    down = [int(x) for x in column("consulted_buyers")]
    assert down == sorted(down, reverse=True) and len(down) >= 2
    table.locator('th[data-col="consulted_buyers"]').click()
    assert [int(x) for x in column("consulted_buyers")] == sorted(down)

    # CSV of the agents' KPIs, as the API serves it.
    with page.expect_download() as dl:
        page.get_by_test_id("kpi-csv").click()
    text = Path(dl.value.path()).read_text(encoding="utf-8-sig")
    assert "agent" in text.splitlines()[0].split(",")
    assert len(text.splitlines()) >= 3

    # Shopping guide: boards of a day and the per-agent table.
    page.get_by_test_id("tab-guide").click()
    expect(page.locator('[data-board="top_gmv"]')).to_be_visible()
    expect(page.locator('[data-metric="guide_prompted_buyers"] .value')).not_to_have_text("—")
    shot(page, "31-supervisor-guide")

    # Urges: stats, the list (20 a page) and a transcript.
    page.get_by_test_id("tab-urge").click()
    rows = page.get_by_test_id("urge-row")
    expect(rows.first).to_be_visible()
    n = rows.count()
    if n == 20:
        page.get_by_test_id("urge-more").click()
        expect(rows).not_to_have_count(20)
    rows.first.get_by_role("button").click()
    expect(rows.first.locator(".transcript li").first).to_be_visible()
    page.wait_for_timeout(400)
    shot(page, "32-supervisor-urge")

    # Handoff A/B: the report when the server has it, else a clear empty state.
    page.get_by_test_id("tab-handoff").click()
    report, empty = page.get_by_test_id("handoff-report"), page.get_by_test_id("handoff-empty")
    expect(report.or_(empty)).to_be_visible()
    if report.is_visible():  # the A/B arms of the config above, with intervals
        expect(page.get_by_test_id("ab-table")).to_contain_text("不展示按钮")  # the arm by name
    else:  # the report endpoint is not on this server (404): a clear empty state
        assert kefu.api("GET", f"/api/v1/stores/{S}/reports/handoff", boss).status_code == 404
    shot(page, "33-supervisor-handoff")

    # Live monitor.
    page.get_by_test_id("tab-monitor").click()
    expect(page.get_by_test_id("monitor")).to_be_visible()
    shot(page, "34-supervisor-monitor")
    assert page.errors == []


def test_faq_proposals_are_approved(store: tuple[Kefu, str], new_page: Any) -> None:
    kefu, boss = store
    learn = kefu.api("POST", f"/api/v1/stores/{S}/faq/learn", boss)
    if learn.status_code == 404:
        page = new_page()
        page.goto(f"{kefu.url}/app/supervisor/faq?token={boss}")
        expect(page.get_by_test_id("faq-empty")).to_be_visible()
        pytest.skip("FAQ proposals endpoint not on this server yet (lead): empty state checked")
    assert learn.status_code == 200, learn.text
    page = new_page(1440, 1000)
    page.goto(f"{kefu.url}/app/supervisor/faq?token={boss}")
    first = page.get_by_test_id("faq-proposal").first
    expect(first).to_be_visible()
    total = int(page.get_by_test_id("faq-total").inner_text())
    pid = first.get_attribute("data-id")
    shot(page, "35-supervisor-faq")
    first.get_by_test_id("faq-approve").click()
    expect(page.locator(f'[data-testid="faq-proposal"][data-id="{pid}"]')).to_have_count(0)
    expect(page.get_by_test_id("faq-total")).to_have_text(str(total - 1))
    approved = kefu.api("GET", f"/api/v1/stores/{S}/faq/proposals?status=approved", boss).json()
    assert pid in [str(p["id"]) for p in approved["items"]]


def test_settings_show_the_servers_message(store: tuple[Kefu, str], new_page: Any) -> None:
    kefu, boss = store
    page = new_page(1440, 1000)
    if kefu.api("GET", f"/api/v1/stores/{S}/settings", boss).status_code == 404:
        page.goto(f"{kefu.url}/app/settings?token={boss}")
        expect(page.get_by_test_id("settings-unavailable")).to_be_visible()
        pytest.skip("settings endpoint not on this server yet (lead): empty state checked")
    page.goto(f"{kefu.url}/app/settings?token={boss}")
    for section in ("store", "bot", "handoff", "routing", "guide", "urge", "insight"):
        expect(page.locator(f'[data-section="{section}"]')).to_be_visible()
    shot(page, "36-settings")

    # Two bad values: both fields are flagged at once, worded in the UI's language (the API
    # lists every bad key with a code; its English text stays for API users).
    bad = {"handoff": {"button_ttl": "10 minutes"}, "bot": {"threshold": 1.5}}
    body = kefu.api("PUT", f"/api/v1/stores/{S}/settings", boss, bad).json()
    assert {e["key"] for e in body["errors"]} == {"handoff.button_ttl", "bot.threshold"}
    field = page.locator('[data-field="handoff.button_ttl"]')
    field.locator("input").fill("10 minutes")
    threshold = page.locator('[data-field="bot.threshold"]')
    original = threshold.locator("input").input_value()
    threshold.locator("input").fill("1.5")
    page.get_by_test_id("save-settings").click()
    expect(field.get_by_test_id("field-error")).to_have_text("应为时长，如 30s、5m、24h、2d")
    expect(threshold.get_by_test_id("field-error")).to_have_text("不能大于 1")
    expect(field.locator("input")).to_have_class("input invalid")
    expect(page.get_by_test_id("toast").last).to_contain_text("2 项需要修改")
    shot(page, "37-settings-error")
    threshold.locator("input").fill(original)

    # A good value is saved (only what changed) and listed in the history.
    field.locator("input").fill("15m")
    page.locator('[data-field="urge.delay"] input').fill("8m")
    page.get_by_test_id("save-settings").click()
    expect(page.get_by_test_id("toast").last).to_contain_text("设置已保存")
    expect(field.get_by_test_id("field-error")).to_have_count(0)
    doc = kefu.api("GET", f"/api/v1/stores/{S}/settings", boss).json()
    assert doc["effective"]["handoff"]["button_ttl"] == "15m"
    assert doc["effective"]["urge"]["delay"] == "8m"
    expect(page.get_by_test_id("settings-history")).to_contain_text("handoff.button_ttl")
    history = kefu.api("GET", f"/api/v1/stores/{S}/settings/history", boss).json()["items"]
    assert history[0]["values"]["handoff"] == {"button_ttl": "15m"}
    assert history[0]["values"]["urge"] == {"delay": "8m"}
