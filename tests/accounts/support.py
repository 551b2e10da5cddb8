"""Shared set-up for the live API tests: a service on a fake clock, tokens, helpers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kefu.accounts.tokens import buyer_token, create_token
from kefu.engine.clock import VirtualClock
from kefu.engine.settings import parse_config
from kefu.runtime.service import EngineService
from kefu.server.app import create_app
from kefu.storage.db import make_engine

T0 = 1_800_000_000_000  # 2027-01-15T08:00:00Z: 16:00 in Shanghai


@dataclass
class Live:
    """A running app on a fake clock."""

    client: TestClient
    service: EngineService

    def staff(self, store: str, agent: str, role: str = "agent") -> dict[str, str]:
        with self.service.sessions.begin() as s:
            return {"Authorization": f"Bearer {create_token(s, store, agent, role)}"}

    def buyer(self, store: str, buyer: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {buyer_token(store, buyer)}"}

    def online(self, store: str, agent: str, capacity: int = 5, **extra: Any) -> dict[str, str]:
        h = self.staff(store, agent, extra.pop("role", "agent"))
        r = self.client.put(f"/api/v1/stores/{store}/me/profile", headers=h,
                            json={"capacity": capacity, **extra})  # fmt: skip
        assert r.status_code == 200, r.text
        r = self.client.put(f"/api/v1/stores/{store}/me/status", headers=h,
                            json={"status": "online"})  # fmt: skip
        assert r.status_code == 200, r.text
        return h

    def advance(self, seconds: float) -> None:
        clock = self.service.clock
        assert isinstance(clock, VirtualClock)
        clock.advance(clock.now() + int(seconds * 1000))


@contextmanager
def live_app(db_url: str, config: dict[str, Any] | None = None) -> Iterator[Live]:
    """The kefu app over `db_url`, its clock frozen at T0 until advanced."""
    engine = make_engine(db_url)
    svc = EngineService(engine, parse_config(config or {}), clock=VirtualClock(T0))
    try:
        with TestClient(create_app(svc, tick_seconds=3600)) as client:
            yield Live(client, svc)
    finally:
        engine.dispose()


@pytest.fixture
def live(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    """A live app on the test database (SQLite and PostgreSQL), with a fixed server secret."""
    monkeypatch.setenv("KEFU_SECRET", "test-secret")
    with live_app(db_url) as app:
        yield app


def types(actions: list[dict[str, Any]]) -> list[str]:
    """The `type` of each action."""
    return [a["type"] for a in actions]


def receive_until(ws: Any, kind: str, limit: int = 20) -> dict[str, Any]:
    """Read WebSocket frames until one of type `kind` (others are skipped)."""
    for _ in range(limit):
        msg: dict[str, Any] = ws.receive_json()
        if msg.get("type") == kind:
            return msg
    raise AssertionError(f"no {kind} within {limit} frames")
