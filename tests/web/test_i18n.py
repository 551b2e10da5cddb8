"""Every page in both languages: no raw translation key anywhere, and no English word in the
Chinese interface outside code, ids and brand names (found trying kefu: "small" on the tier
badge, a "button" column, 登录失败：missing or invalid token)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from kefu.testing import REPO
from tests.web.conftest import DIST, SECRET, Kefu, _missing, shot, start_server

S = "s001"
CONFIG = "[urge]\nmin_intent = 0.4\n[handoff]\nab_test = true\n"

# Words that are the same in Chinese text: names, units and abbreviations people use as is.
ALLOWED = {
    "kefu", "csv", "api", "faq", "gmv", "uv", "ctr", "aov", "kpi", "top", "vs", "json", "sku",
    "url", "token", "toml", "http", "https", "www", "utc", "gmt", "asia", "shanghai", "auto",
    "ok", "app", "echarts", "esc", "enter", "alt", "ctrl", "shift", "tab", "pageup",
    "pagedown", "home", "end", "english", "zh-cn",
}  # fmt: skip
PLACEHOLDER = re.compile(r"\{\w+\}")  # settings texts name their template fields: {position}
# Text that is code by nature (config keys, commands) is marked and skipped; tooltips may carry
# ids and codes on purpose (the visible text is what must be in the page's language).
SCAN = """() => {
  const skip = (el) => el.closest('code, pre, kbd, script, style, [translate="no"], [data-raw]')
  const out = []
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
  while (walker.nextNode()) {
    const n = walker.currentNode
    const el = n.parentElement
    if (!el || skip(el) || !n.textContent.trim()) continue
    if (el.checkVisibility && !el.checkVisibility()) continue
    out.push(n.textContent.trim())
  }
  for (const el of document.querySelectorAll('input[placeholder], textarea[placeholder]'))
    if (!skip(el) && (!el.checkVisibility || el.checkVisibility())) out.push(el.placeholder)
  return out
}"""


def _keys() -> set[str]:
    text = (REPO / "web" / "src" / "lib" / "messages.ts").read_text(encoding="utf-8")
    return set(re.findall(r"^\s+'([\w.-]+)':", text, re.M))


KEYS = _keys()
KEY_LIKE = re.compile(r"\b[a-z]+(?:\.[a-zA-Z_]+)+\b")
# words, not ids (s001-a3); codes like no_button count as words
LATIN = re.compile(r"(?<![\w-])[A-Za-z][A-Za-z_'’-]{2,}(?![\w-])")


def _problems(texts: list[str], lang: str, own_ids: set[str]) -> list[str]:
    found = []
    for text in texts:
        text = PLACEHOLDER.sub(" ", text)
        for key in KEY_LIKE.findall(text):
            if key in KEYS:
                found.append(f"raw key {key!r} in {text[:60]!r}")
        if lang == "zh-CN":
            for word in LATIN.findall(text):
                w = word.lower().strip("'’-_")
                if w not in ALLOWED and word not in own_ids and not word.isupper():
                    found.append(f"English {word!r} in {text[:60]!r}")
    return found


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Kefu, dict[str, str]]]:
    """Five simulated days of one store, served live; tokens of its admin and an agent."""
    import os

    from kefu.sim import generate

    if not (DIST / "index.html").is_file():
        _missing("the built web app (web/dist: `make setup`)")
    os.environ["KEFU_SECRET"] = SECRET
    proc, url, db = start_server(tmp_path_factory.mktemp("kefu-i18n"), CONFIG)
    k = Kefu(url, db)
    try:
        lines = list(
            generate(stores=1, buyers=400, days=5, seed=5, start=date.today() - timedelta(days=5),
                     logged_bots=False)
        )  # fmt: skip
        admin = k.staff(S, "ingest", "admin")
        for i in range(0, len(lines), 10_000):
            r = httpx.post(f"{url}/api/v1/events", content=b"\n".join(lines[i : i + 10_000]),
                           headers={"content-type": "application/x-ndjson",
                                    "Authorization": f"Bearer {admin}"}, timeout=300)  # fmt: skip
            assert r.status_code == 200, r.text[:500]
        tokens = {"admin": k.staff(S, "boss", "admin"), "agent": k.staff(S, f"{S}-a1", "agent"),
                  "buyer": k.buyer(S, f"{S}-b1")}  # fmt: skip
        yield k, tokens
    finally:
        proc.terminate()
        proc.wait(10)
        if k._engine is not None:
            k._engine.dispose()


SUPERVISOR_TABS = ("monitor", "performance", "guide", "urge", "handoff", "faq", "traffic",
                   "keywords")  # fmt: skip


def _pages(url: str, tokens: dict[str, str]) -> list[tuple[str, str]]:
    admin, agent, buyer = tokens["admin"], tokens["agent"], tokens["buyer"]
    pages = [("login", f"{url}/app/login"), ("workbench", f"{url}/app/workbench?token={agent}"),
             ("settings", f"{url}/app/settings?token={admin}"),
             ("agents", f"{url}/app/agents?token={admin}"),
             ("products", f"{url}/app/products?token={admin}"),
             ("webhooks", f"{url}/app/webhooks?token={admin}"),
             ("invite", f"{url}/app/invite"),
             ("shop", f"{url}/app/shop.html?token={buyer}")]  # fmt: skip
    pages += [(f"sv-{t}", f"{url}/app/supervisor/{t}?token={admin}") for t in SUPERVISOR_TABS]
    return pages


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_every_page_speaks_one_language(
    store: tuple[Kefu, dict[str, str]], new_page: Any, lang: str
) -> None:
    kefu, tokens = store
    own_ids = {S, "s001-a1", "boss", "ingest"}
    report: list[str] = []
    for name, url in _pages(kefu.url, tokens):
        page = new_page(1440, 1000, locale=lang)
        page.add_init_script(f"localStorage.setItem('kefu.lang', '{lang}')")
        page.goto(url, timeout=120_000)
        page.wait_for_load_state("load", timeout=120_000)
        # reports render after their requests (seconds each on 2 shared cores): read the page
        # once nothing is loading any more
        page.wait_for_timeout(1000)
        page.wait_for_function(
            "!document.querySelector('.loading, .skeleton, .sk-stat')", timeout=240_000
        )
        page.wait_for_timeout(300)
        if name == "shop":
            launcher = page.locator("#kefu-widget, kefu-widget").first
            if launcher.count():
                page.evaluate("window.kefu && window.kefu.open && window.kefu.open()")
                page.wait_for_timeout(800)
        # the demo shop's own page is a sample store, not kefu: only its widget is read
        texts: list[str] = [] if name == "shop" else page.evaluate(SCAN)
        # the widget lives in a shadow root: read it too
        texts += page.evaluate(
            """() => [...document.querySelectorAll('*')].filter(e => e.shadowRoot)
                 .flatMap(e => [...e.shadowRoot.querySelectorAll('*')]
                 .filter(x => x.children.length === 0 && x.textContent.trim()
                         && !x.closest('code, pre, style, script'))
                 .map(x => x.textContent.trim()))"""
        )
        found = _problems(texts, lang, own_ids)
        report += [f"{name}: {p}" for p in dict.fromkeys(found)]
        shot(page, f"i18n-{lang}-{name}")
        assert page.errors == [], (name, page.errors)
    assert not report, "\n".join(report[:80])
