"""In-process pub/sub for WebSocket clients, bridged across server processes by Redis.

Topics name who listens: `store:<s>:buyer:<b>` (the buyer's widget), `store:<s>:agent:<a>`
(an agent's workbench) and `store:<s>:monitor` (supervisors). The engine service publishes
after its transaction commits; a client that reconnects catches up from the REST history, so
the hub itself keeps nothing.

With several `kefu serve` processes, each publishes to Redis as well and relays what the
others publish, so a message ingested by one reaches a WebSocket held by another. Messages
carry the origin process id, so a process never delivers its own message twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import msgspec

CHANNEL = "kefu:fanout"
QUEUE_LIMIT = 1_000


def buyer_topic(store: str, buyer: str) -> str:
    """The topic a buyer's chat widget listens on."""
    return f"store:{store}:buyer:{buyer}"


def agent_topic(store: str, agent: str) -> str:
    """The topic an agent's workbench listens on."""
    return f"store:{store}:agent:{agent}"


def monitor_topic(store: str) -> str:
    """The topic supervisors' live monitors listen on."""
    return f"store:{store}:monitor"


class Hub:
    """Topic → subscriber queues; safe to publish from any thread."""

    def __init__(self) -> None:
        self.origin = uuid.uuid4().hex
        self._subs: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._bridge: RedisBridge | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver on `loop` (the server's event loop)."""
        self._loop = loop

    @contextlib.asynccontextmanager
    async def subscribe(self, *topics: str) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        """A queue receiving every message published to `topics` while the context is open."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_LIMIT)
        with self._lock:
            for t in topics:
                self._subs[t].add(q)
        try:
            yield q
        finally:
            with self._lock:
                for t in topics:
                    self._subs[t].discard(q)
                    if not self._subs[t]:
                        del self._subs[t]

    def publish(self, topic: str, message: dict[str, Any], relay: bool = True) -> None:
        """Send `message` to local subscribers of `topic` (and to other processes)."""
        self._deliver(topic, message)
        if relay and self._bridge is not None:
            self._bridge.send(topic, message)

    def subscribers(self, topic: str) -> int:
        """How many local clients listen on `topic`."""
        with self._lock:
            return len(self._subs.get(topic, ()))

    def _deliver(self, topic: str, message: dict[str, Any]) -> None:
        with self._lock:
            queues = list(self._subs.get(topic, ()))
        if not queues or self._loop is None:
            return
        for q in queues:
            self._loop.call_soon_threadsafe(_offer, q, message)

    def attach(self, bridge: RedisBridge) -> None:
        """Relay through `bridge` to and from other server processes."""
        self._bridge = bridge


def _offer(q: asyncio.Queue[dict[str, Any]], message: dict[str, Any]) -> None:
    if q.full():  # a stalled client loses the oldest, never blocks the server
        with contextlib.suppress(asyncio.QueueEmpty):
            q.get_nowait()
    q.put_nowait(message)


class _Envelope(msgspec.Struct):
    origin: str
    topic: str
    message: dict[str, Any]


class RedisBridge:
    """Fan-out between processes over Redis pub/sub (one channel, origin-tagged)."""

    def __init__(self, hub: Hub, url: str = "redis://127.0.0.1:6379/0") -> None:
        import redis

        self.hub = hub
        self.url = url
        self._pub = redis.Redis.from_url(url)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    def start(self) -> None:
        """Listen for other processes' messages on a background thread."""
        self.hub.attach(self)
        self._thread = threading.Thread(target=self._listen, name="kefu-redis-bridge", daemon=True)
        self._thread.start()
        self._ready.wait(5)

    def stop(self) -> None:
        """Stop listening."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def send(self, topic: str, message: dict[str, Any]) -> None:
        """Publish to the other processes."""
        env = _Envelope(origin=self.hub.origin, topic=topic, message=message)
        self._pub.publish(CHANNEL, msgspec.json.encode(env))

    def _listen(self) -> None:
        import redis

        client = redis.Redis.from_url(self.url)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(CHANNEL)
        self._ready.set()
        dec = msgspec.json.Decoder(_Envelope)
        while not self._stop.is_set():
            item = pubsub.get_message(timeout=0.5)
            if item is None or item.get("type") != "message":
                continue
            env = dec.decode(item["data"])
            if env.origin != self.hub.origin:
                self.hub.publish(env.topic, env.message, relay=False)
        pubsub.close()
        client.close()
