"""The live Conversations API end to end: bot, button, transfer, agent reply, over WebSocket."""

from __future__ import annotations

from tests.accounts.support import Live, live, receive_until, types

__all__ = ["live"]
S = "shop1"


def test_full_journey_bot_button_transfer_assign_reply(live: Live) -> None:
    c = live.client
    agent = live.online(S, "a1", capacity=2)
    buyer = live.buyer(S, "b1")
    with (
        c.websocket_connect(f"/api/v1/ws/buyer?token={buyer['Authorization'][7:]}") as bws,
        c.websocket_connect(f"/api/v1/ws/agent?token={agent['Authorization'][7:]}") as aws,
    ):
        assert bws.receive_json() == {"type": "hello", "store": S, "buyer": "b1"}
        assert aws.receive_json()["type"] == "hello"
        r = c.post("/api/v1/buyer/messages", headers=buyer, json={"text": "发什么快递"})
        assert r.status_code == 200, r.text
        body = r.json()
        conv = body["conversation"]
        assert conv == "b1~1"
        assert types(body["actions"]) == ["bot.reply"]
        assert body["actions"][0]["transfer_button"] is True
        assert receive_until(bws, "message")["text"] == "发什么快递"
        assert receive_until(bws, "bot.reply")["transfer_button"] is True

        live.advance(5)
        r = c.post("/api/v1/buyer/transfer", headers=buyer)
        assert r.status_code == 200, r.text
        acts = r.json()["actions"]
        assert types(acts) == ["transfer.result", "assign"]
        assert acts[0]["outcome"] == "assigned" and acts[0]["agent"] == "a1"
        got = receive_until(aws, "assign")
        assert (got["conversation"], got["agent"], got["buyer"]) == (conv, "a1", "b1")

        live.advance(5)
        r = c.post(f"/api/v1/stores/{S}/conversations/{conv}/messages", headers=agent,
                   json={"text": "亲，在的", "product": "p9"})  # fmt: skip
        assert r.status_code == 200, r.text
        msg = receive_until(bws, "message")
        assert (msg["sender"], msg["agent"], msg["text"], msg["product"]) == (
            "agent", "a1", "亲，在的", "p9")  # fmt: skip

        # The agent's own message is echoed to its workbench (other tabs); then the buyer's.
        assert receive_until(aws, "message")["sender"] == "agent"
        live.advance(5)
        c.post("/api/v1/buyer/messages", headers=buyer, json={"text": "好的谢谢"})
        got = receive_until(aws, "message")
        assert (got["sender"], got["text"], got["conversation"]) == ("buyer", "好的谢谢", conv)

        # Typing and read receipts are ephemeral hub messages both ways.
        bws.send_json({"typing": True})
        assert receive_until(aws, "typing") == {"type": "typing", "from": "buyer", "buyer": "b1",
            "conversation": conv, "typing": True, "read_up_to": None}  # fmt: skip
        r = c.post(f"/api/v1/stores/{S}/conversations/{conv}/signal", headers=agent,
                   json={"read_up_to": "m3"})  # fmt: skip
        assert r.status_code == 204
        got = receive_until(bws, "read")
        assert (got["from"], got["read_up_to"]) == ("agent", "m3")

    t = c.get("/api/v1/buyer/transcript", headers=buyer).json()["items"]
    assert [(i["type"], i.get("sender")) for i in t] == [
        ("message", "buyer"), ("bot.reply", None), ("transfer.result", None), ("assign", None),
        ("message", "agent"), ("message", "buyer"),
    ]  # fmt: skip
    page1 = c.get("/api/v1/buyer/transcript?limit=2", headers=buyer).json()
    assert [i["id"] for i in page1["items"]] == [t[0]["id"], t[1]["id"]]
    page2 = c.get(f"/api/v1/buyer/transcript?limit=10&after={page1['next_after']}",
                  headers=buyer).json()  # fmt: skip
    assert page2["items"] == t[2:] and page2["next_after"] is None


def test_queue_position_and_offline_failure_text(live: Live) -> None:
    c = live.client
    # Nobody online: failed with the store's offline text.
    b0 = live.buyer(S, "b0")
    c.post("/api/v1/buyer/messages", headers=b0, json={"text": "在吗"})
    acts = c.post("/api/v1/buyer/transfer", headers=b0).json()["actions"]
    assert [(a["outcome"], a["text"]) for a in acts] == [
        ("failed", "客服暂时不在线，请留言，我们会尽快回复您")]  # fmt: skip

    agent = live.online(S, "a1", capacity=1)
    results = []
    for b in ("b1", "b2", "b3"):
        h = live.buyer(S, b)
        c.post("/api/v1/buyer/messages", headers=h, json={"text": "问一下"})
        results.append(c.post("/api/v1/buyer/transfer", headers=h).json()["actions"][0])
    assert [(r["outcome"], r["position"]) for r in results] == [
        ("assigned", None), ("queued", 1), ("queued", 2)]  # fmt: skip
    assert results[1]["text"] == "当前排队人数较多，您前面还有 1 位，请稍候"
    # A second click while queued is ignored, with the same position.
    again = c.post("/api/v1/buyer/transfer", headers=live.buyer(S, "b3")).json()["actions"]
    assert [(a["outcome"], a["position"]) for a in again] == [("ignored", 2)]

    b2 = live.buyer(S, "b2")
    with c.websocket_connect(f"/api/v1/ws/buyer?token={b2['Authorization'][7:]}") as bws:
        bws.receive_json()
        r = c.post(f"/api/v1/stores/{S}/conversations/b1~1/close", headers=agent)
        assert r.status_code == 200, r.text
        assert "assign" in types(r.json()["actions"])
        got = receive_until(bws, "assign")
        assert (got["buyer"], got["agent"], got["reason"]) == ("b2", "a1", "queue")
    mine = c.get(f"/api/v1/stores/{S}/conversations", headers=agent).json()["items"]
    assert [m["conversation"] for m in mine] == ["b2~1"]
    # Closed conversations cannot be written to.
    r = c.post(f"/api/v1/stores/{S}/conversations/b1~1/messages", headers=agent,
               json={"text": "x"})  # fmt: skip
    assert (r.status_code, r.json()["detail"]) == (409, "conversation is closed")


def test_transfer_to_colleague_and_group(live: Live) -> None:
    c = live.client
    a1 = live.online(S, "a1", capacity=2)
    a2 = live.online(S, "a2", capacity=1, groups=["after-sale"])
    h = live.buyer(S, "b1")
    c.post("/api/v1/buyer/messages", headers=h, json={"text": "在吗"})
    acts = c.post("/api/v1/buyer/transfer", headers=h).json()["actions"]
    first = acts[0]["agent"]
    assert first in ("a1", "a2")
    me, other = (a1, "a2") if first == "a1" else (a2, "a1")
    with c.websocket_connect(
        f"/api/v1/ws/agent?token={(a2 if other == 'a2' else a1)['Authorization'][7:]}"
    ) as ws:
        ws.receive_json()
        r = c.post(f"/api/v1/stores/{S}/conversations/b1~1/transfer", headers=me,
                   json={"to_agent": other})  # fmt: skip
        assert r.status_code == 200, r.text
        assert [(a["type"], a["agent"], a["reason"]) for a in r.json()["actions"]] == [
            ("assign", other, "transfer:agent")]  # fmt: skip
        assert receive_until(ws, "assign")["reason"] == "transfer:agent"
    # The previous agent no longer has it.
    r = c.post(f"/api/v1/stores/{S}/conversations/b1~1/messages", headers=me, json={"text": "x"})
    assert (r.status_code, r.json()["detail"]) == (409, "conversation is not assigned to you")
    # Transfer to an offline colleague fails and changes nothing.
    live.staff(S, "a3")
    owner = a1 if other == "a1" else a2
    r = c.post(f"/api/v1/stores/{S}/conversations/b1~1/transfer", headers=owner,
               json={"to_agent": "a3"})  # fmt: skip
    assert [(a["outcome"], a["text"]) for a in r.json()["actions"]] == [
        ("failed", "colleague offline or full")]  # fmt: skip
    r = c.post(f"/api/v1/stores/{S}/conversations/b1~1/transfer", headers=owner,
               json={"to_agent": "a3", "to_group": "x"})  # fmt: skip
    assert r.status_code == 422
    # To a group: the free group member (or the queue).
    r = c.post(f"/api/v1/stores/{S}/conversations/b1~1/transfer", headers=owner,
               json={"to_group": "after-sale"})  # fmt: skip
    got = r.json()["actions"]
    assert got[0]["type"] in ("assign", "transfer.result")
