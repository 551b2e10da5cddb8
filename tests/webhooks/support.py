"""Shared set-up of the webhook tests: a service with actions, endpoints, draining a worker."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import select

from kefu.engine.settings import parse_config
from kefu.runtime.service import EngineService
from kefu.storage import models
from kefu.storage.db import make_engine
from kefu.webhooks.delivery import Config
from kefu.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from kefu.webhooks.worker import Worker

S = "s1"
SECRET = "whsec_test_secret_0123456789"
T0 = 1_800_000_000_000
# Small time-out and back-off so retries happen within a test.
FAST = Config(poll_s=0.05, batch=20, fill_batch=500, timeout_s=0.5, max_attempts=4,
              backoff_base_ms=40, backoff_cap_ms=200, lease_ms=1500, concurrency=8)  # fmt: skip


def service(db_url: str) -> EngineService:
    """An engine service over the test database."""
    return EngineService(make_engine(db_url), parse_config({}))


def buyer_events(buyer: str, at: int, channel: str | None = None) -> list[dict[str, Any]]:
    """A buyer message and a transfer click: conversation.open, handoff.button, bot.reply and
    transfer.result come out."""
    msg: dict[str, Any] = {"type": "message", "ts": at, "store": S, "buyer": buyer,
                           "sender": "buyer", "text": "在吗", "id": f"m-{buyer}-{at}"}  # fmt: skip
    if channel is not None:
        msg["channel"] = channel
    click = {"type": "transfer.click", "ts": at + 1000, "store": S, "buyer": buyer,
             "id": f"t-{buyer}-{at}"}  # fmt: skip
    return [msg, click]


def add_endpoint(svc: EngineService, url: str, **kw: Any) -> int:
    """An endpoint of store S signed with SECRET."""
    with svc.sessions.begin() as s:
        e = WebhookEndpoint(store=kw.pop("store", S), url=url, secret=SECRET,
                            types=kw.pop("types", []), channels=kw.pop("channels", []),
                            description="", enabled=kw.pop("enabled", True),
                            created_ms=kw.pop("created_ms", 0), updated_ms=0)  # fmt: skip
        s.add(e)
        s.flush()
        return e.id


def outbox(svc: EngineService, store: str = S) -> dict[str, dict[str, Any]]:
    """Key → action document of every action of `store` in the outbox."""
    a = models.Action
    with svc.sessions() as s:
        rows = s.execute(select(a.key, a.payload).where(a.store == store)).all()
    return {k: json.loads(p) for k, p in rows}


def deliveries(svc: EngineService) -> list[WebhookDelivery]:
    """Every delivery row, by id."""
    with svc.sessions() as s:
        return list(s.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def attempts(svc: EngineService) -> list[WebhookAttempt]:
    """The delivery log, oldest first."""
    with svc.sessions() as s:
        return list(s.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id)))


def drain(worker: Worker, done: Callable[[], bool], timeout: float = 20.0) -> bool:
    """Run worker rounds until `done()` (True) or `timeout` seconds (False)."""

    async def go() -> bool:
        limits = httpx.Timeout(worker.cfg.timeout_s)
        async with httpx.AsyncClient(timeout=limits) as client:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                await worker.round(client)
                if done():
                    return True
                await asyncio.sleep(0.02)
        return done()

    # In its own thread: a browser test's Playwright (sync API) leaves an event loop running
    # in the main thread for the rest of the session, where asyncio.run() refuses to start.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result()


def all_in(svc: EngineService, state: str) -> Callable[[], bool]:
    """A `done` check: there are deliveries and every one is in `state`."""

    def check() -> bool:
        rows = deliveries(svc)
        return bool(rows) and all(d.state == state for d in rows)

    return check
