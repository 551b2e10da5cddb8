"""A staff socket ends when its sign-in does (disabled, signed out everywhere, revoked)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from starlette.websockets import WebSocketDisconnect

from kefu.accounts.tokens import revoke
from tests.accounts.support import Live, live_app

S = "shop1"


@pytest.fixture
def live(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    monkeypatch.setenv("KEFU_SECRET", "test-secret")
    with live_app(db_url) as app:
        yield app


def test_revoked_agent_socket_is_closed_and_a_kept_one_stays(live: Live) -> None:
    gone = live.staff(S, "a1")  # signed in, never online: chats go to a2
    kept = live.online(S, "a2")
    c = live.client
    with (
        c.websocket_connect(f"/api/v1/ws/agent?token={gone['Authorization'][7:]}") as ws1,
        c.websocket_connect(f"/api/v1/ws/agent?token={kept['Authorization'][7:]}") as ws2,
    ):
        assert ws1.receive_json()["type"] == "hello"
        assert ws2.receive_json()["type"] == "hello"
        with live.service.sessions.begin() as s:
            assert revoke(s, S, "a1") >= 1
        started = time.monotonic()
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                ws1.receive_json()
        assert closed.value.code == 4401
        assert time.monotonic() - started < 12  # checked every 5 s
        # a2 still receives its store's pushes
        r = c.post("/api/v1/buyer/messages", headers=live.buyer(S, "b1"), json={"text": "在吗"})
        assert r.status_code == 200
        r = c.post("/api/v1/buyer/transfer", headers=live.buyer(S, "b1"))
        assert r.status_code == 200
        kinds = set()
        for _ in range(5):
            kinds.add(ws2.receive_json()["type"])
            if "assign" in kinds:
                break
        assert "assign" in kinds
