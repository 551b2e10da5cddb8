"""A real `kefu serve` process killed with SIGKILL while an urge is pending: sent exactly once."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from kefu.testing import staff_headers

pytestmark = pytest.mark.slow

KEFU = str(Path(sys.executable).parent / "kefu")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(db_url: str, cwd: Path, config: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [KEFU, "serve", "--db", db_url, "--port", str(port), "--config", str(config),
         "--tick", "0.2"],
        cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"kefu serve did not start: {proc.stderr.read().decode()[-2000:]}")


HEADERS: dict[str, str] = {}


def urges(base: str) -> list[dict]:
    r = httpx.get(f"{base}/api/v1/stores/s1/actions", params={"type": "urge.send"},
                  headers=HEADERS)  # fmt: skip
    r.raise_for_status()
    return r.json()["items"]


def events_due_in(seconds: float) -> list[dict]:
    """A consultation whose urge (5 min after the agent's answer) falls due in `seconds`."""
    answer = datetime.now(UTC) - timedelta(minutes=5) + timedelta(seconds=seconds)
    t = lambda d: (answer + timedelta(seconds=d)).isoformat()  # noqa: E731
    return [
        {"id": "a", "ts": t(-120), "type": "agent", "store": "s1", "agent": "a1", "name": "A"},
        {"id": "s", "ts": t(-120), "type": "agent.status", "store": "s1", "agent": "a1",
         "status": "online"},
        {"id": "p", "ts": t(-120), "type": "product", "store": "s1", "product": "p1",
         "title": "保温杯", "price": 89.0},
        {"id": "c", "ts": t(-90), "type": "cart.add", "store": "s1", "buyer": "b1",
         "product": "p1"},
        {"id": "m1", "ts": t(-60), "type": "message", "store": "s1", "buyer": "b1",
         "sender": "buyer", "text": "有货吗", "product": "p1"},
        {"id": "m2", "ts": t(0), "type": "message", "store": "s1", "buyer": "b1",
         "sender": "agent", "agent": "a1", "text": "有的"},
    ]  # fmt: skip


def test_sigkill_while_an_urge_is_pending_sends_it_exactly_once(db_url: str, tmp_path: Path):
    config = tmp_path / "store.toml"
    config.write_text("[bot]\nenabled = false\n", encoding="utf-8")
    proc, base = start(db_url, tmp_path, config)
    HEADERS.update(staff_headers(db_url, "s1", role="admin"))
    try:
        r = httpx.post(f"{base}/api/v1/events", json=events_due_in(4.0), headers=HEADERS)
        assert r.status_code == 200 and r.json()["accepted"] == 6
        assert urges(base) == []
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    time.sleep(4.5)  # the urge falls due while no server runs
    proc, base = start(db_url, tmp_path, config)
    try:
        deadline = time.time() + 10
        while not urges(base) and time.time() < deadline:
            time.sleep(0.2)
        sent = urges(base)
        assert [(u["buyer"], u["sender"], u["product"]) for u in sent] == [("b1", "a1", "p1")]
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    proc, base = start(db_url, tmp_path, config)  # and once more: nothing is sent twice
    try:
        time.sleep(1.0)
        assert len(urges(base)) == 1
        # re-posting the same events (a client retry) changes nothing
        url = f"{base}/api/v1/events"
        again = httpx.post(url, json=events_due_in(4.0), headers=HEADERS).json()
        assert (again["accepted"], again["duplicates"]) == (0, 6)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert json.dumps(sent, ensure_ascii=False).count("urge.send") == 1
