"""Browser tests of the web app: a real server process, Debian's chromium driven by Playwright.

They skip when /usr/bin/chromium or the built web app (`web/dist`) is missing — except under
`CI=true`, where that is a failure (the set-up step installs chromium and builds the app).
Screenshots of every page go to `var/screenshots/` for a person to look at.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from kefu.testing import REPO, in_ci

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DIST = REPO / "web" / "dist"
SHOTS = REPO / "var" / "screenshots"
SECRET = "web-test-secret"
DAY_MS = 86_400_000

PRODUCTS = [
    ("p1", "纯棉宽松短袖T恤 男女同款", 79.0, "T恤"),
    ("p2", "高腰直筒牛仔裤 显瘦百搭", 139.0, "牛仔裤"),
    ("p3", "帆布小白鞋 透气休闲", 99.0, "鞋"),
    ("p4", "刺绣字母棒球帽", 39.0, "帽子"),
    ("p5", "运动棉袜 5双装", 29.9, "袜子"),
    ("p6", "大容量通勤双肩包", 159.0, "包"),
]
BASKETS = [
    ["p1", "p2"],
    ["p1", "p3"],
    ["p1", "p2", "p4"],
    ["p2", "p3"],
    ["p1", "p2"],
    ["p1", "p5"],
    ["p3", "p6"],
    ["p1", "p2", "p3"],
]


def _missing(what: str) -> None:
    if in_ci():
        pytest.fail(f"{what} is required under CI=true")
    pytest.skip(f"{what} not available")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def now_ms() -> int:
    """Wall-clock epoch milliseconds (the live server runs on the wall clock)."""
    return int(time.time() * 1000)


@dataclass
class Kefu:
    """A running server: its URL, database, and helpers to feed it and mint tokens."""

    url: str
    db: str
    _engine: Any = field(default=None, repr=False)

    def events(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        """POST a batch of events; every one must be accepted."""
        token = self.staff(events[0]["store"], "ingest", "admin")  # ingestion needs an admin
        r = httpx.post(f"{self.url}/api/v1/events", json=events, timeout=60,
                       headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        body: dict[str, Any] = r.json()
        assert r.status_code == 200 and not body["rejected"], body
        return body

    def staff(self, store: str, agent: str, role: str = "agent") -> str:
        """A new staff token (created in the server's database)."""
        from sqlalchemy.orm import Session

        from kefu.accounts.tokens import create_token
        from kefu.storage.db import make_engine

        if self._engine is None:
            self._engine = make_engine(self.db)
        with Session(self._engine) as s, s.begin():
            return create_token(s, store, agent, role)

    def buyer(self, store: str, buyer: str) -> str:
        """A buyer widget token (signed with the server's secret)."""
        from kefu.accounts.tokens import buyer_token

        return buyer_token(store, buyer)

    def api(self, method: str, path: str, token: str, body: Any = None) -> httpx.Response:
        """Call the API as `token`."""
        return httpx.request(
            method,
            f"{self.url}{path}",
            json=body,
            timeout=60,
            headers={"Authorization": f"Bearer {token}"},
        )

    def online(
        self,
        store: str,
        agent: str,
        capacity: int = 5,
        name: str = "",
        groups: list[str] | None = None,
        role: str = "agent",
    ) -> str:
        """An agent token whose agent is online with `capacity` (through the API)."""
        token = self.staff(store, agent, role)
        body: dict[str, Any] = {"capacity": capacity, "name": name or agent}
        if groups is not None:
            body["groups"] = groups
        assert self.api("PUT", f"/api/v1/stores/{store}/me/profile", token, body).status_code == 200
        r = self.api("PUT", f"/api/v1/stores/{store}/me/status", token, {"status": "online"})
        assert r.status_code == 200, r.text
        return token

    def catalogue(self, store: str, history_days: int = 3) -> None:
        """Six products and a few past orders, so the guide has complements to suggest."""
        t0 = now_ms() - history_days * DAY_MS
        evs: list[dict[str, Any]] = [
            {
                "type": "product",
                "store": store,
                "ts": t0,
                "product": p,
                "title": title,
                "price": price,
                "category": cat,
                "stock": 100,
            }
            for p, title, price, cat in PRODUCTS
        ]
        price = {p: pr for p, _, pr, _ in PRODUCTS}
        for n, basket in enumerate(BASKETS):
            items = [{"product": p, "qty": 1, "price": price[p]} for p in basket]
            evs.append(
                {
                    "type": "order",
                    "store": store,
                    "ts": t0 + 60_000 * (n + 1),
                    "order": f"{store}-h{n}",
                    "buyer": f"hist{n}",
                    "items": items,
                    "amount": round(sum(price[p] for p in basket), 2),
                }
            )
        self.events(evs)


def start_server(tmp: Path, config: str = "") -> tuple[subprocess.Popen[bytes], str, str]:
    """Start a server process on a fresh SQLite database; (process, url, db url)."""
    db = f"sqlite:///{tmp / 'kefu.db'}"
    port = _free_port()
    cmd = [sys.executable, "-m", "tests.web.server", "--db", db, "--port", str(port)]
    if config:
        cfg = tmp / "kefu.toml"
        cfg.write_text(config, encoding="utf-8")
        cmd += ["--config", str(cfg)]
    env = {**os.environ, "KEFU_SECRET": SECRET, "PYTHONPATH": str(REPO)}
    log = (tmp / "server.log").open("wb")
    proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        if proc.poll() is not None:
            raise AssertionError((tmp / "server.log").read_text())
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return proc, url, db
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("server did not start")


@pytest.fixture(scope="module")
def kefu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kefu]:
    """One server per test module; each test works in a store of its own."""
    if not (DIST / "index.html").is_file():
        _missing("the built web app (web/dist: `make setup`)")
    os.environ["KEFU_SECRET"] = SECRET
    proc, url, db = start_server(tmp_path_factory.mktemp("kefu-web"))
    k = Kefu(url, db)
    try:
        yield k
    finally:
        proc.terminate()
        proc.wait(10)
        if k._engine is not None:
            k._engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless (Playwright never downloads a browser here)."""
    if not CHROMIUM.exists():
        _missing("/usr/bin/chromium")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=20_000)  # 2 shared cores: reports take seconds under load
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    """`new_page(viewport=…, locale=…, timezone=…)`: a page in a fresh context (own storage),
    closed after; `timezone` is the browser's (default: the machine's)."""
    contexts: list[Any] = []

    def make(
        width: int = 1400,
        height: int = 860,
        locale: str = "zh-CN",
        timezone: str | None = None,
        mobile: bool = False,
    ) -> Any:
        extra: dict[str, Any] = {"timezone_id": timezone} if timezone else {}
        if mobile:  # Chromium's phone emulation: touch, mobile viewport rules, a 2x screen
            extra.update(is_mobile=True, has_touch=True, device_scale_factor=2)
        ctx = browser.new_context(viewport={"width": width, "height": height}, locale=locale,
                                  **extra)  # fmt: skip
        ctx.set_default_timeout(15_000)
        contexts.append(ctx)
        page = ctx.new_page()
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        return page

    yield make
    for ctx in contexts:
        ctx.close()


def shot(page: Any, name: str) -> Path:
    """Save a screenshot to var/screenshots/<name>.png."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
