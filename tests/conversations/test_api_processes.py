"""Two real `kefu serve` processes on one PostgreSQL database, bridged by Redis: a buyer
message received by one reaches an agent's WebSocket held by the other."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine

from kefu.accounts.tokens import buyer_token, create_token
from kefu.storage.db import session_factory
from kefu.testing import redis_or_skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def servers(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    redis = redis_or_skip()
    monkeypatch.setenv("KEFU_SECRET", "proc-secret")
    procs, urls = [], []
    for _ in range(2):
        port = _free_port()
        cmd = [sys.executable, "-c", "from kefu.cli.main import app; app()", "serve",
               "--db", db_url, "--port", str(port), "--redis", redis]  # fmt: skip
        procs.append(subprocess.Popen(cmd, stderr=subprocess.DEVNULL))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for url in urls:
            for _ in range(200):
                try:
                    if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            else:
                raise AssertionError(f"{url} did not start")
        yield urls
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(10)


@pytest.mark.backends("postgresql")
def test_message_on_one_process_reaches_agent_ws_on_other(
    servers: list[str], db_engine: Engine
) -> None:
    from websockets.sync.client import connect

    one, two = servers
    with session_factory(db_engine).begin() as s:
        agent = create_token(s, "shop1", "a1", "agent")
    h = {"Authorization": f"Bearer {agent}"}
    b = {"Authorization": f"Bearer {buyer_token('shop1', 'b1')}"}
    # All writes go to process one (one engine writer per store); the agent listens on two.
    assert httpx.put(f"{one}/api/v1/stores/shop1/me/status", headers=h,
                     json={"status": "online"}).status_code == 200  # fmt: skip
    ws_url = two.replace("http", "ws") + f"/api/v1/ws/agent?token={agent}"
    with connect(ws_url, open_timeout=5) as ws:
        assert json.loads(ws.recv(5))["type"] == "hello"
        time.sleep(0.3)  # the bridge of process two is subscribed before we publish
        httpx.post(f"{one}/api/v1/buyer/messages", headers=b, json={"text": "在吗"})
        r = httpx.post(f"{one}/api/v1/buyer/transfer", headers=b)
        assert r.json()["actions"][0]["outcome"] == "assigned"
        seen = [json.loads(ws.recv(5)) for _ in range(2)]
        assert [(g["type"], g["agent"], g["buyer"]) for g in seen] == [
            ("transfer.result", "a1", "b1"), ("assign", "a1", "b1")]  # fmt: skip
        httpx.post(f"{one}/api/v1/buyer/messages", headers=b, json={"text": "发顺丰吗"})
        got = json.loads(ws.recv(5))
        assert (got["type"], got["sender"], got["text"]) == ("message", "buyer", "发顺丰吗")
    # Process two reads the same database: the buyer's transcript is there too.
    t = httpx.get(f"{two}/api/v1/buyer/transcript?conversation=b1~1", headers=b).json()
    assert [i["type"] for i in t["items"]][:2] == ["message", "bot.reply"]
