"""Real `kefu serve` processes deliver webhooks to a real local receiver: delivery resumes
after SIGKILL of the server (leases of the killed process expire), and two processes on one
PostgreSQL database never deliver the same action (claims with FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select

from kefu.accounts.tokens import create_token
from kefu.storage import models
from kefu.storage.db import session_factory
from kefu.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.webhooks.receiver import Receiver, running
from tests.webhooks.support import SECRET, T0, S, buyer_events

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(db_url: str, log: Path, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    cmd = [sys.executable, "-c", "from kefu.cli.main import app; app()", "serve",
           "--db", db_url, "--port", str(port)]  # fmt: skip
    full = {**os.environ, "KEFU_SECRET": "wh-secret", **env}
    proc = subprocess.Popen(cmd, env=full, stderr=log.open("ab"), stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"server did not start: {log.read_text()[-2000:]}")


@contextmanager
def _servers() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    try:
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def _setup(db_engine: Engine, url: str) -> str:
    """An endpoint of store S at `url`; an admin token of S."""
    with session_factory(db_engine).begin() as s:
        s.add(WebhookEndpoint(store=S, url=url, secret=SECRET, types=[], channels=[],
                              description="", enabled=True, created_ms=0,
                              updated_ms=0))  # fmt: skip
        return create_token(s, S, "boss", "admin")


def _ingest(base: str, token: str, buyers: int) -> None:
    events = [e for i in range(buyers) for e in buyer_events(f"b{i}", T0 + i * 1000)]
    r = httpx.post(f"{base}/api/v1/events", json=events, timeout=60,
                   headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["rejected"], r.text


def _keys(db_engine: Engine) -> set[str]:
    with session_factory(db_engine)() as s:
        return set(s.scalars(select(models.Action.key).where(models.Action.store == S)))


def _all_delivered(db_engine: Engine, n: int) -> Callable[[], bool]:
    def check() -> bool:
        with session_factory(db_engine)() as s:
            states = list(s.scalars(select(WebhookDelivery.state)))
        return len(states) == n and set(states) == {"delivered"}

    return check


def _until(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def test_delivery_resumes_after_sigkill_of_the_server(
    db_url: str, db_engine: Engine, tmp_path: Path
) -> None:
    env = {"KEFU_WEBHOOK_POLL_S": "0.1", "KEFU_WEBHOOK_BATCH": "4",
           "KEFU_WEBHOOK_CONCURRENCY": "2", "KEFU_WEBHOOK_TIMEOUT_S": "1",
           "KEFU_WEBHOOK_LEASE_MS": "3000"}  # fmt: skip
    rx = Receiver(SECRET, delay_s=0.25)  # a slow receiver: the kill lands mid-delivery
    with running(rx), _servers() as procs:
        token = _setup(db_engine, rx.url)
        proc, base = _serve(db_url, tmp_path / "one.log", **env)
        procs.append(proc)
        _ingest(base, token, buyers=6)
        keys = _keys(db_engine)
        assert len(keys) == 24
        assert _until(lambda: len(rx.processed()) >= 6, 30), rx.arrivals()
        proc.kill()  # SIGKILL: no clean-up, claims left leased
        proc.wait(10)
        at_kill = rx.processed()
        assert len(at_kill) < len(keys)
        with session_factory(db_engine)() as s:
            states = Counter(s.scalars(select(WebhookDelivery.state)))
        assert states["delivered"] < 24 and states["delivering"] + states["pending"] > 0
        procs.append(_serve(db_url, tmp_path / "two.log", **env)[0])
        assert _until(lambda: rx.processed() == keys, 60), len(rx.processed())
        assert _until(_all_delivered(db_engine, 24), 10)  # the last answers are recorded
        with session_factory(db_engine)() as s:
            rows = list(s.scalars(select(WebhookDelivery)))
    assert len(rows) == 24 and {d.state for d in rows} == {"delivered"}
    arrivals = rx.arrivals()
    # At least once: only what was in flight at the kill (one claimed batch) may come twice.
    assert set(arrivals) == keys and max(arrivals.values()) <= 2
    assert sum(arrivals.values()) - len(keys) <= 4
    assert all(g.signed_ok for g in rx.got)


@pytest.mark.backends("postgresql")
def test_two_processes_never_deliver_the_same_action(
    db_url: str, db_engine: Engine, tmp_path: Path
) -> None:
    env = {"KEFU_WEBHOOK_POLL_S": "0.05", "KEFU_WEBHOOK_BATCH": "3",
           "KEFU_WEBHOOK_CONCURRENCY": "3", "KEFU_WEBHOOK_TIMEOUT_S": "10"}  # fmt: skip
    rx = Receiver(SECRET, delay_s=0.05)
    with running(rx), _servers() as procs:
        token = _setup(db_engine, rx.url)
        one, base = _serve(db_url, tmp_path / "one.log", **env)
        procs.append(one)
        procs.append(_serve(db_url, tmp_path / "two.log", **env)[0])
        _ingest(base, token, buyers=20)
        keys = _keys(db_engine)
        assert len(keys) == 80
        assert _until(lambda: rx.processed() == keys, 90), len(rx.processed())
        assert _until(_all_delivered(db_engine, 80), 10)
        time.sleep(0.5)  # nothing more arrives
    assert rx.arrivals() == Counter(dict.fromkeys(keys, 1))  # each action exactly once
    with session_factory(db_engine)() as s:
        workers = Counter(s.scalars(select(WebhookAttempt.worker)))
        attempts = set(s.scalars(select(WebhookDelivery.attempts)))
    assert len(workers) == 2, workers  # both processes delivered a share
    assert sum(workers.values()) == 80 and attempts == {1}
