"""The webhook delivery worker: one asyncio task per `kefu serve` process.

Each round fills the delivery queue from the outbox, leases the due deliveries and POSTs them
concurrently with httpx. Every `kefu serve` process runs one; on PostgreSQL they share the
queue (SKIP LOCKED claims, leases that expire when a process dies), on SQLite the one server
process is the single worker. Disable it with `kefu serve --no-webhooks` (or
`KEFU_WEBHOOKS=0`), e.g. to run delivery in dedicated processes only.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from contextlib import suppress

import httpx
from sqlalchemy.orm import Session, sessionmaker

from kefu.storage.repo import wall_ms
from kefu.webhooks import delivery
from kefu.webhooks.delivery import Claimed, Config, Outcome

log = logging.getLogger(__name__)


def enabled_by_env() -> bool:
    """`KEFU_WEBHOOKS` unset or anything but 0/false/off/no."""
    return os.environ.get("KEFU_WEBHOOKS", "1").strip().lower() not in ("0", "false", "off", "no")


class Worker:
    """Fills, claims, sends and records webhook deliveries until stopped."""

    def __init__(self, sessions: sessionmaker[Session], cfg: Config | None = None) -> None:
        self.sessions = sessions
        self.cfg = cfg or Config.from_env()
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self.sent = 0
        self.filled = 0
        self.pruned_ms = 0  # wall time of the last prune (once an hour per process)

    async def send(self, client: httpx.AsyncClient, c: Claimed) -> Outcome:
        """One POST; any answer or failure becomes an Outcome (never raises)."""
        started = wall_ms()
        t0 = delivery.monotonic_ms()
        status: int | None = None
        error: str | None = None
        try:
            r = await client.post(
                c.url, content=c.body, headers=delivery.headers(c, started // 1000)
            )
            status = r.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}: {r.text[:200]}"
        except httpx.TimeoutException as e:
            error = f"timeout after {self.cfg.timeout_s:g} s ({type(e).__name__})"
        except httpx.HTTPError as e:
            error = f"{type(e).__name__}: {e}"[:500]
        return Outcome(started, delivery.monotonic_ms() - t0, status, error)

    async def round(self, client: httpx.AsyncClient) -> int:
        """Fill once and deliver one batch; how many deliveries were attempted."""
        now = wall_ms()
        if now - self.pruned_ms >= 3_600_000:
            self.pruned_ms = now
            horizon = now - int(self.cfg.retention_days * 86_400_000)
            await asyncio.to_thread(delivery.prune, self.sessions, horizon)
        self.filled = await asyncio.to_thread(delivery.fill, self.sessions, self.cfg.fill_batch)
        claimed = await asyncio.to_thread(delivery.claim, self.sessions, self.owner, self.cfg)
        if not claimed:
            return 0
        gate = asyncio.Semaphore(self.cfg.concurrency)

        async def one(c: Claimed) -> tuple[Claimed, Outcome]:
            async with gate:
                return c, await self.send(client, c)

        results = await asyncio.gather(*(one(c) for c in claimed))
        await asyncio.to_thread(delivery.finish_many, self.sessions, results, self.cfg)
        self.sent += len(results)
        return len(claimed)

    async def run(self, stop: asyncio.Event) -> None:
        """Rounds until `stop`; after a full batch (of either step) the next round starts at
        once, otherwise after `poll_s`."""
        timeout = httpx.Timeout(self.cfg.timeout_s)
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            while not stop.is_set():
                n = 0
                try:
                    n = await self.round(client)
                except Exception:  # the database was away: rows stay queued, try next round
                    log.exception("webhook delivery round failed")
                if n < self.cfg.batch and self.filled < self.cfg.fill_batch:
                    with suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.cfg.poll_s)
