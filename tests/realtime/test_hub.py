"""The realtime hub: local fan-out, slow clients, and relay between processes over Redis."""

from __future__ import annotations

import asyncio
import os

import pytest

from kefu.realtime.hub import Hub, RedisBridge, agent_topic, buyer_topic

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def redis_url() -> str:
    url = os.environ.get("KEFU_REDIS", "redis://127.0.0.1:6379/15")
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required under CI=true ({url})")
        pytest.skip(f"Redis not reachable at {url}")
    return url


async def test_published_messages_reach_only_their_topic() -> None:
    hub = Hub()
    async with (
        hub.subscribe(buyer_topic("s1", "b1")) as q1,
        hub.subscribe(buyer_topic("s1", "b2")) as q2,
    ):
        hub.publish(buyer_topic("s1", "b1"), {"text": "hi"})
        assert await asyncio.wait_for(q1.get(), 1) == {"text": "hi"}
        await asyncio.sleep(0.05)
        assert q2.empty()
    assert hub.subscribers(buyer_topic("s1", "b1")) == 0


async def test_publishing_from_another_thread_is_delivered() -> None:
    hub = Hub()
    async with hub.subscribe(agent_topic("s1", "a1")) as q:
        await asyncio.to_thread(hub.publish, agent_topic("s1", "a1"), {"n": 1})
        assert await asyncio.wait_for(q.get(), 1) == {"n": 1}


async def test_a_stalled_client_drops_the_oldest_instead_of_blocking() -> None:
    from kefu.realtime import hub as hub_module

    hub = Hub()
    async with hub.subscribe("t") as q:
        for i in range(hub_module.QUEUE_LIMIT + 5):
            hub.publish("t", {"n": i})
        await asyncio.sleep(0.05)
        assert q.qsize() == hub_module.QUEUE_LIMIT
        assert (await q.get())["n"] == 5


async def test_two_processes_relay_through_redis_without_echo() -> None:
    url = redis_url()
    a, b = Hub(), Hub()
    ba, bb = RedisBridge(a, url), RedisBridge(b, url)
    ba.start()
    bb.start()
    try:
        topic = agent_topic("s1", "a1")
        async with a.subscribe(topic) as qa, b.subscribe(topic) as qb:
            await asyncio.to_thread(a.publish, topic, {"text": "来自进程A"})
            assert await asyncio.wait_for(qb.get(), 3) == {"text": "来自进程A"}
            assert await asyncio.wait_for(qa.get(), 1) == {"text": "来自进程A"}
            await asyncio.sleep(0.3)
            assert qa.empty()  # the relayed copy is not delivered twice to its origin
    finally:
        ba.stop()
        bb.stop()
