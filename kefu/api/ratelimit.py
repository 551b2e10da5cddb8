"""Rate limits per token: a token bucket for every caller, in-process or shared through Redis.

Each request (and each WebSocket connection) takes one token from the bucket of its caller:
the SHA-256 of its bearer token (`Authorization: Bearer …` or `?token=`), else its client
address for anonymous calls. A bucket holds at most `burst` tokens and refills at `rate`
per second, so a client may burst and then keep to the rate. An empty bucket answers
**429** with `Retry-After` (whole seconds) and `{"detail": reason}`; a WebSocket is closed
with code 4429. The token itself is never kept, only its hash, like the accounts table.

One process keeps its buckets in memory (bounded, least recently used dropped first). With
`kefu serve --redis URL` the buckets live in Redis, updated by one Lua script per call
(atomic, on Redis's clock), so the limit holds across every server process. If Redis does
not answer, the process falls back to its own buckets rather than failing requests: a
limiter must never be what takes the service down.

Limits: `$KEFU_RATE_LIMIT` or the `spec` given to `install`: `RATE/s` or `RATE/m`, an
optional `,BURST` (default: 4 seconds' worth, at least 1), or `off`. Default `50/s,200`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import msgspec

log = logging.getLogger(__name__)

ENV = "KEFU_RATE_LIMIT"
DEFAULT = "50/s,200"
EXEMPT = ("/api/v1/health",)
WS_CLOSE_CODE = 4429
_SPEC = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(s|m)\s*(?:,\s*(\d+)\s*)?$")

# KEYS[1] = bucket; ARGV = rate per second, burst. Returns {allowed, seconds to wait}.
_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return {allowed, tostring(wait)}
"""


class RateLimitError(ValueError):
    """A limit specification that cannot be read; the message says what is expected."""


@dataclass(frozen=True)
class Limit:
    """A token bucket: `burst` tokens at most, refilled at `rate` per second."""

    rate: float
    burst: int

    def describe(self) -> str:
        """Human wording for error messages."""
        per = (
            f"{self.rate:g} requests per second"
            if self.rate >= 1
            else (f"{self.rate * 60:g} requests per minute")
        )
        return f"{per} per token (bursts of {self.burst})"


def parse_limit(spec: str | None) -> Limit | None:
    """`50/s`, `600/m`, `50/s,200` → a Limit; `off` (or "", "0") → None (no limit)."""
    if spec is None or spec.strip().lower() in ("", "off", "0", "none"):
        return None
    m = _SPEC.match(spec)
    if not m:
        raise RateLimitError(
            f"rate limit {spec!r}: use RATE/s or RATE/m with an optional ,BURST "
            "(e.g. '50/s,200', '600/m') or 'off'"
        )
    rate = float(m.group(1)) / (1 if m.group(2) == "s" else 60)
    if rate <= 0:
        return None
    burst = int(m.group(3)) if m.group(3) else max(1, math.ceil(rate * 4))
    if burst < 1:
        raise RateLimitError(f"rate limit {spec!r}: the burst must be at least 1")
    return Limit(rate, burst)


def limit_from_env(default: str = DEFAULT) -> Limit | None:
    """The limit of `$KEFU_RATE_LIMIT`, else `default`."""
    return parse_limit(os.environ.get(ENV, default))


class LocalBuckets:
    """Token buckets of one process, at most `max_keys` (least recently used dropped)."""

    def __init__(
        self, limit: Limit, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000
    ) -> None:
        self.limit = limit
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one token: 0.0 when allowed, else the seconds until one is available."""
        rate, burst = self.limit.rate, self.limit.burst
        with self._lock:
            now = self.clock()
            tokens, ts = self._buckets.pop(key, (float(burst), now))
            tokens = min(float(burst), tokens + max(0.0, now - ts) * rate)
            wait = 0.0
            if tokens >= 1:
                tokens -= 1
            else:
                wait = (1 - tokens) / rate
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            return wait


class RedisBuckets:
    """Token buckets in Redis, shared by every server process (one Lua script per call)."""

    def __init__(self, limit: Limit, url: str, prefix: str = "kefu:rl:") -> None:
        self.limit = limit
        self.url = url
        self.prefix = prefix
        self._client: Any = None
        self._script: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _bind(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            import redis.asyncio as aioredis

            self._client = aioredis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)
            self._script = self._client.register_script(_LUA)
            self._loop = loop
        return self._script

    async def take(self, key: str) -> float:
        """Take one token from the shared bucket: 0.0 when allowed, else seconds to wait."""
        script = self._bind()
        allowed, wait = await script(
            keys=[self.prefix + key], args=[repr(self.limit.rate), self.limit.burst]
        )
        return 0.0 if int(allowed) == 1 else max(float(wait), 0.001)

    async def close(self) -> None:
        """Close the connection pool (tests; the server just exits)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class RateLimiter:
    """Per-caller limits: Redis when configured and answering, else this process's buckets."""

    def __init__(
        self,
        limit: Limit,
        redis_url: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        prefix: str = "kefu:rl:",
    ) -> None:
        self.limit = limit
        self.local = LocalBuckets(limit, clock)
        self.shared = RedisBuckets(limit, redis_url, prefix) if redis_url else None
        self._warned_at = -math.inf

    async def take(self, key: str) -> float:
        """0.0 when the caller may go on, else the seconds to wait."""
        if self.shared is not None:
            try:
                return await self.shared.take(key)
            except Exception as e:  # Redis down: limit locally, never fail the request
                now = time.monotonic()
                if now - self._warned_at > 60:
                    log.warning("rate limiter: Redis unavailable (%s); limiting per process", e)
                    self._warned_at = now
        return self.local.take(key)


def caller_key(scope: dict[str, Any]) -> str:
    """The bucket of a request: SHA-256 of its token, else its client address."""
    token = ""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            auth = value.decode("latin-1")
            if auth[:7].lower() == "bearer ":
                token = auth[7:].strip()
            break
    if not token:
        query = scope.get("query_string", b"").decode("latin-1")
        for part in query.split("&"):
            if part.startswith("token="):
                from urllib.parse import unquote

                token = unquote(part[6:])
                break
    if token:
        return "t:" + hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
    client = scope.get("client")
    return "ip:" + (str(client[0]) if client else "unknown")


class RateLimitMiddleware:
    """ASGI middleware: 429 (or WebSocket close 4429) when the caller's bucket is empty."""

    def __init__(self, app: Any, limiter: RateLimiter, exempt: Iterable[str] = EXEMPT) -> None:
        self.app = app
        self.limiter = limiter
        self.exempt = frozenset(exempt)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope.get("type")
        if kind not in ("http", "websocket") or scope.get("path") in self.exempt:
            await self.app(scope, receive, send)
            return
        wait = await self.limiter.take(caller_key(scope))
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        retry = max(1, math.ceil(wait))
        reason = f"rate limit exceeded: {self.limiter.limit.describe()}; retry in {retry} s"
        if kind == "http":
            body = msgspec.json.encode({"detail": reason})
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(retry).encode()),
            ]
            await send({"type": "http.response.start", "status": 429, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        message = await receive()  # websocket.connect
        if message.get("type") != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": WS_CLOSE_CODE, "reason": reason[:120]})


def install(app: Any, spec: str | None = None, redis_url: str | None = None) -> RateLimiter | None:
    """Add the limiter to a FastAPI app: `spec` (else `$KEFU_RATE_LIMIT`, else the default).

    Returns the limiter, or None when limits are off.
    """
    limit = parse_limit(spec) if spec is not None else limit_from_env()
    if limit is None:
        return None
    limiter = RateLimiter(limit, redis_url)
    app.add_middleware(RateLimitMiddleware, limiter=limiter)
    app.state.rate_limiter = limiter
    return limiter
