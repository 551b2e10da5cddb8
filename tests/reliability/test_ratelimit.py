"""Rate limits per token: a bucket per token hash, 429 with Retry-After, WebSockets closed
with 4429, the same limit across processes through Redis, and no outage when Redis is."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from kefu.api import ratelimit
from kefu.api.ratelimit import Limit, LocalBuckets, RateLimiter, parse_limit
from kefu.engine.clock import VirtualClock
from kefu.runtime.service import EngineService
from kefu.server.app import create_app
from kefu.storage.db import make_engine
from kefu.testing import redis_or_skip
from tests.accounts.support import T0, Live


def test_limit_specifications() -> None:
    assert parse_limit("50/s,200") == Limit(50.0, 200)
    assert parse_limit("600/m") == Limit(10.0, 40)
    assert parse_limit("2/s") == Limit(2.0, 8)
    assert parse_limit(" 30 / m , 5 ") == Limit(0.5, 5)
    assert parse_limit("off") is None and parse_limit("0") is None
    for bad in ("fast", "10/h", "-1/s", "5/s,"):
        with pytest.raises(ratelimit.RateLimitError, match="RATE/s"):
            parse_limit(bad)


def test_a_bucket_bursts_then_keeps_to_the_rate() -> None:
    now = [100.0]
    b = LocalBuckets(Limit(2.0, 3), clock=lambda: now[0])
    assert [b.take("t") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert b.take("t") == pytest.approx(0.5)  # empty: one token in half a second
    assert b.take("other") == 0.0  # buckets are per key
    now[0] += 0.5
    assert b.take("t") == 0.0
    assert b.take("t") == pytest.approx(0.5)
    now[0] += 60  # refills to the burst, not beyond
    assert [b.take("t") for _ in range(4)][-1] > 0


def test_buckets_are_bounded() -> None:
    b = LocalBuckets(Limit(1.0, 1), max_keys=10)
    for i in range(100):
        b.take(f"k{i}")
    assert len(b._buckets) == 10


@contextmanager
def limited_app(db_url: str, spec: str, redis_url: str | None = None,
                prefix: str = "kefu:rl:") -> Iterator[Live]:  # fmt: skip
    """The app (fake clock) with the limiter installed as `kefu serve` would."""
    engine = make_engine(db_url)
    svc = EngineService(engine, clock=VirtualClock(T0))
    app = create_app(svc, tick_seconds=3600)
    limiter = ratelimit.install(app, spec, redis_url)
    assert limiter is not None
    if limiter.shared is not None:
        limiter.shared.prefix = prefix
    try:
        with TestClient(app) as client:
            yield Live(client, svc)
    finally:
        engine.dispose()


@pytest.mark.backends("sqlite")
def test_429_with_retry_after_per_token(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEFU_SECRET", "test-secret")
    with limited_app(db_url, "1/s,3") as live:
        c = live.client
        a, b = live.staff("s1", "a1"), live.staff("s1", "a2")
        codes = [c.get("/api/v1/me", headers=a).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = c.get("/api/v1/me", headers=a)
        assert r.status_code == 429
        assert r.headers["retry-after"] == "1"
        assert r.json()["detail"] == (
            "rate limit exceeded: 1 requests per second per token (bursts of 3); retry in 1 s"
        )
        assert c.get("/api/v1/me", headers=b).status_code == 200  # another token, own bucket
        assert c.get("/api/v1/health").status_code == 200  # health checks are never limited
        # Refused requests do not reach the app: no 401 for a garbage token over the limit.
        junk = {"Authorization": "Bearer kefu_junk"}
        assert [c.get("/api/v1/me", headers=junk).status_code for _ in range(4)] == [
            401, 401, 401, 429]  # fmt: skip
        # A WebSocket takes one token per connection and is closed with 4429 when over.
        with (
            pytest.raises(WebSocketDisconnect) as closed,
            c.websocket_connect(f"/api/v1/ws/agent?token={a['Authorization'][7:]}") as ws,
        ):
            ws.receive_json()
        assert closed.value.code == 4429


@pytest.mark.backends("sqlite")
def test_limits_off_by_env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ratelimit.ENV, "off")
    app = create_app(EngineService(make_engine(db_url)), tick_seconds=3600)
    assert ratelimit.install(app) is None
    monkeypatch.setenv(ratelimit.ENV, "7/s,9")
    assert ratelimit.limit_from_env() == Limit(7.0, 9)
    monkeypatch.delenv(ratelimit.ENV)
    assert ratelimit.limit_from_env() == Limit(50.0, 200)


@pytest.mark.backends("sqlite")
def test_redis_shares_the_limit_between_two_server_processes(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two apps (as two `kefu serve --redis`) over one Redis: one bucket per token."""
    url = redis_or_skip()
    monkeypatch.setenv("KEFU_SECRET", "test-secret")
    prefix = f"kefu:test:{uuid.uuid4().hex}:"
    with (
        limited_app(db_url, "1/m,4", url, prefix) as one,
        limited_app(db_url, "1/m,4", url, prefix) as two,
    ):
        h = one.staff("s1", "a1")
        codes = [(one if i % 2 else two).client.get("/api/v1/me", headers=h).status_code
                 for i in range(6)]  # fmt: skip
        assert codes == [200, 200, 200, 200, 429, 429]
        r = one.client.get("/api/v1/me", headers=h)
        assert r.status_code == 429 and int(r.headers["retry-after"]) in range(50, 61)


@pytest.mark.backends("sqlite")
def test_an_unreachable_redis_falls_back_to_local_buckets(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEFU_SECRET", "test-secret")
    with limited_app(db_url, "1/m,2", "redis://127.0.0.1:1/0") as live:
        h = live.staff("s1", "a1")
        codes = [live.client.get("/api/v1/me", headers=h).status_code for _ in range(3)]
        assert codes == [200, 200, 429]


def test_the_limiter_keys_on_the_token_hash_never_the_token() -> None:
    token = "kefu_secret-value"
    scope = {"type": "http", "headers": [(b"authorization", f"Bearer {token}".encode())]}
    key = ratelimit.caller_key(scope)
    assert token not in key and key.startswith("t:") and len(key) == 66
    ws = {"type": "websocket", "headers": [], "query_string": f"token={token}".encode()}
    assert ratelimit.caller_key(ws) == key
    assert ratelimit.caller_key({"type": "http", "client": ("127.0.0.9", 5)}) == "ip:127.0.0.9"


def test_redis_buckets_run_the_script_atomically() -> None:
    """Many concurrent takes from one bucket: exactly `burst` get through."""
    url = redis_or_skip()

    async def go() -> list[float]:
        limiter = RateLimiter(Limit(0.001, 10), url, prefix=f"kefu:test:{uuid.uuid4().hex}:")
        try:
            return list(await asyncio.gather(*(limiter.take("k") for _ in range(40))))
        finally:
            assert limiter.shared is not None
            await limiter.shared.close()

    waits = asyncio.run(go())
    assert sum(1 for w in waits if w == 0.0) == 10
