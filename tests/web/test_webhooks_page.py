"""The webhooks page in a real browser against a real `kefu serve` (its delivery worker on)
and a real local receiver failing with 500s: an admin adds an endpoint and sees the secret
once, a bot reply dies after its attempts, shows in the dead-letter list with its log, and is
redelivered from the page once the receiver is back."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

from kefu.webhooks.delivery import verify
from tests.web.conftest import SECRET, _free_port, _missing, shot
from tests.web.test_i18n import SCAN, _problems
from tests.webhooks.receiver import Receiver, running

S = "hookshop"


def _dist() -> Path:
    env = os.environ.get("KEFU_WEB_DIST")
    dist = Path(env) if env else Path(__file__).resolve().parents[2] / "web" / "dist"
    if not (dist / "index.html").is_file():
        _missing("the built web app (web/dist or $KEFU_WEB_DIST)")
    return dist


def test_add_an_endpoint_then_redeliver_a_dead_letter_from_the_page(
    new_page: Any, tmp_path: Path
) -> None:
    dist = _dist()
    db = f"sqlite:///{tmp_path / 'kefu.db'}"
    port = _free_port()
    env = {**os.environ, "KEFU_SECRET": SECRET, "KEFU_WEB_DIST": str(dist),
           "KEFU_WEBHOOK_POLL_S": "0.2", "KEFU_WEBHOOK_MAX_ATTEMPTS": "2",
           "KEFU_WEBHOOK_BACKOFF_BASE_MS": "100", "KEFU_WEBHOOK_BACKOFF_CAP_MS": "200"}  # fmt: skip
    cmd = [sys.executable, "-c", "from kefu.cli.main import app; app()", "serve", "--db", db,
           "--port", str(port)]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                            stderr=(tmp_path / "server.log").open("wb"))  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    rx = Receiver("unknown-yet", plan=lambda key, nth: "500")
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        from sqlalchemy.orm import Session

        from kefu.accounts.tokens import create_token
        from kefu.storage.db import make_engine

        engine = make_engine(db)
        with Session(engine) as s, s.begin():
            admin = create_token(s, S, "boss", "admin")
        engine.dispose()
        with running(rx):
            page = new_page()
            page.goto(f"{url}/app/webhooks?token={admin}")
            expect(page.get_by_test_id("webhooks-empty")).to_be_visible()
            assert not _problems(page.evaluate(SCAN), "zh-CN", {S, "boss"})
            page.get_by_test_id("webhook-new").click()
            page.get_by_test_id("webhook-url").fill("ftp://nope")
            page.get_by_test_id("webhook-submit").click()
            expect(page.get_by_test_id("webhook-error")).to_contain_text("http://")
            page.get_by_test_id("webhook-url").fill(rx.url)
            page.get_by_test_id("type-bot.reply").check()
            page.get_by_test_id("webhook-submit").click()
            secret = page.get_by_test_id("webhook-secret-value").input_value()
            assert secret.startswith("whsec_")
            rx.secret = secret
            shot(page, "70-webhooks-secret")
            page.get_by_test_id("webhook-secret-done").click()
            expect(page.get_by_test_id("webhook-row")).to_have_count(1)
            # a buyer message: the bot's reply goes to the receiver, which answers 500 twice
            r = httpx.post(f"{url}/api/v1/events", headers={"Authorization": f"Bearer {admin}"},
                           json=[{"type": "message", "ts": int(time.time() * 1000), "store": S,
                                  "buyer": "b1", "sender": "buyer", "text": "在吗"}])  # fmt: skip
            assert r.status_code == 200, r.text
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and len(rx.got) < 2:
                time.sleep(0.2)
            assert len(rx.got) == 2, rx.got
            time.sleep(0.5)
            page.reload()
            expect(page.get_by_test_id("webhook-dead")).to_contain_text("失败 1")
            page.get_by_test_id("webhook-open").click()
            dead = page.get_by_test_id("delivery-row")
            expect(dead).to_have_count(1)
            expect(dead).to_have_attribute("data-state", "dead")
            page.get_by_test_id("tab-log").click()
            expect(page.get_by_test_id("log-row")).to_have_count(2)
            expect(page.get_by_test_id("log-table")).to_contain_text("500")
            shot(page, "71-webhooks-log")
            assert not _problems(page.evaluate(SCAN), "zh-CN", {S, "boss"})
            page.get_by_test_id("tab-dead").click()
            rx.plan = lambda key, nth: "ok"
            page.get_by_test_id("redeliver").click()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not rx.processed():
                time.sleep(0.2)
            assert len(rx.processed()) == 1
            expect(page.get_by_test_id("deliveries-empty")).to_be_visible()
            g = rx.got[-1]
            assert verify(secret, g.headers["x-kefu-timestamp"], g.headers["x-kefu-signature"],
                          g.body)  # fmt: skip
            assert g.key == rx.got[0].key and g.headers["x-kefu-action"] == "bot.reply"
            page.reload()
            expect(page.get_by_test_id("webhook-dead")).to_contain_text("失败 0")
            shot(page, "72-webhooks-redelivered")
            assert page.errors == []
    finally:
        proc.terminate()
        proc.wait(10)
