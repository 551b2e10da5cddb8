"""GET /api/v1/buyer/state: the widget header decided on the server (who serves the buyer, by
nickname; the queue position, 1 = next), and the first agent told over the WebSocket when a
buyer they left unanswered moves on (agent.notice, never on the buyer's socket)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.accounts.support import Live, live_app, receive_until

S = "st1"


@pytest.fixture
def live(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    monkeypatch.setenv("KEFU_SECRET", "test-secret")
    with live_app(db_url, {"routing": {"reassign_after": "3m"}}) as app:
        yield app


def test_state_follows_assign_transfer_to_an_empty_group_and_the_queue(live: Live) -> None:
    c = live.client
    a1 = live.online(S, "a1", name="山野茶坊:小美", groups=["售前"])
    live.online(S, "a9", name="山野茶坊:阿杰", groups=["售后"])
    c.put(f"/api/v1/stores/{S}/me/status", headers=live.staff(S, "a9"), json={"status": "offline"})
    b1, b2 = live.buyer(S, "b1"), live.buyer(S, "b2")
    assert c.get("/api/v1/buyer/state", headers=b1).json()["state"] == "none"
    c.post("/api/v1/buyer/messages", headers=b1, json={"text": "在吗？"})
    st = c.get("/api/v1/buyer/state", headers=b1).json()
    assert (st["state"], st["agent_name"], st["store_name"]) == ("bot", None, "山野茶坊")
    c.post("/api/v1/buyer/transfer", headers=b1)
    st = c.get("/api/v1/buyer/state", headers=b1).json()
    assert (st["state"], st["agent_name"], st["position"]) == ("agent", "小美", None)
    # a1 hands b1 to 售后, where nobody is online: queued first, no agent named any more
    r = c.post(f"/api/v1/stores/{S}/conversations/b1~1/transfer", headers=a1,
               json={"to_group": "售后"})  # fmt: skip
    assert r.json()["actions"][0]["outcome"] == "queued"
    st = c.get("/api/v1/buyer/state", headers=b1).json()
    assert (st["state"], st["agent_name"], st["position"]) == ("queued", None, 1)
    c.post("/api/v1/buyer/messages", headers=b2, json={"text": "你好？"})
    c.post("/api/v1/buyer/transfer", headers=b2)
    c.post(f"/api/v1/stores/{S}/conversations/b2~1/transfer", headers=a1, json={"to_group": "售后"})
    assert c.get("/api/v1/buyer/state", headers=b2).json()["position"] == 2
    # 阿杰 comes online: b1 is served, b2 moves up to next
    c.put(f"/api/v1/stores/{S}/me/status", headers=live.staff(S, "a9"), json={"status": "online"})
    st = c.get("/api/v1/buyer/state", headers=b1).json()
    assert (st["state"], st["agent_name"]) == ("agent", "阿杰")
    st2 = c.get("/api/v1/buyer/state", headers=b2).json()
    assert (st2["state"], st2["position"]) in {("queued", 1), ("agent", None)}


def test_the_first_agent_is_told_on_their_socket_and_the_buyer_never_sees_it(live: Live) -> None:
    c = live.client
    a1 = live.online(S, "a1", name="山野茶坊:小美")
    b1 = live.buyer(S, "b1")
    c.post("/api/v1/buyer/messages", headers=b1, json={"text": "想买来送人，哪个好？"})
    c.post("/api/v1/buyer/transfer", headers=b1)  # a1 is the only one: a1
    live.online(S, "a2", name="山野茶坊:小宇")
    with (
        c.websocket_connect(f"/api/v1/ws/agent?token={a1['Authorization'][7:]}") as aws,
        c.websocket_connect(f"/api/v1/ws/buyer?token={b1['Authorization'][7:]}") as bws,
    ):
        live.advance(200)
        live.service.tick()
        notice = receive_until(aws, "agent.notice")
        assert (notice["agent"], notice["to_agent"], notice["reason"]) == (
            "a1", "a2", "reassign:timeout"
        )  # fmt: skip
        moved = receive_until(bws, "assign")
        assert (moved["agent"], moved["reason"]) == ("a2", "reassign:timeout")
    st = c.get("/api/v1/buyer/state", headers=b1).json()
    assert (st["state"], st["agent_name"]) == ("agent", "小宇")
    items = c.get("/api/v1/buyer/transcript", headers=b1).json()["items"]
    assert "agent.notice" not in {i["type"] for i in items}
    assert [i["agent_name"] for i in items if i["type"] == "assign"] == [
        "山野茶坊:小美", "山野茶坊:小宇"
    ]  # fmt: skip
