"""Tenancy, roles, quick replies, notes and the supervisor monitor over the live API."""

from __future__ import annotations

from tests.accounts.support import Live, live

__all__ = ["live"]
S, OTHER = "shop1", "shop2"


def _assigned(live: Live, buyer: str) -> None:
    h = live.buyer(S, buyer)
    live.client.post("/api/v1/buyer/messages", headers=h, json={"text": "在吗"})
    r = live.client.post("/api/v1/buyer/transfer", headers=h)
    assert r.status_code == 200, r.text


def test_tenancy_404_roles_and_buyer_isolation(live: Live) -> None:
    c = live.client
    a1 = live.online(S, "a1")
    _assigned(live, "b1")
    _assigned(live, "b2")
    foreign = live.staff(OTHER, "x1", "admin")
    for path in ("/conversations", "/monitor", "/quick-replies", "/conversations/b1~1/transcript",
                 "/conversations/b1~1/notes"):  # fmt: skip
        r = c.get(f"/api/v1/stores/{S}{path}", headers=foreign)
        assert (r.status_code, r.json()) == (404, {"detail": "not found"}), path
    # The other store's own view does not see shop1's conversation either.
    assert c.get(f"/api/v1/stores/{OTHER}/conversations/b1~1/transcript",
                 headers=foreign).status_code == 404  # fmt: skip
    # Roles: an agent cannot use supervisor endpoints.
    assert c.get(f"/api/v1/stores/{S}/monitor", headers=a1).status_code == 403
    assert c.get(f"/api/v1/stores/{S}/conversations?scope=all", headers=a1).status_code == 403
    assert c.post(f"/api/v1/stores/{S}/tokens", headers=a1, json={"agent": "z"}).status_code == 403
    sup = live.staff(S, "s1", "supervisor")
    assert c.get(f"/api/v1/stores/{S}/monitor", headers=sup).status_code == 200
    # No token / unknown token / forged buyer token: 401.
    assert c.get(f"/api/v1/stores/{S}/conversations").status_code == 401
    bad = {"Authorization": "Bearer kefu_nope"}
    assert c.get(f"/api/v1/stores/{S}/conversations", headers=bad).status_code == 401
    b1 = live.buyer(S, "b1")
    forged = {"Authorization": b1["Authorization"][:-4] + "0000"}
    assert c.get("/api/v1/buyer/transcript", headers=forged).status_code == 401
    # A buyer reads only their own conversation; staff tokens are not buyer tokens.
    assert c.get("/api/v1/buyer/transcript?conversation=b2~1", headers=b1).status_code == 404
    assert c.get("/api/v1/buyer/transcript?conversation=b1~1", headers=b1).status_code == 200
    assert c.get("/api/v1/buyer/transcript", headers=a1).status_code == 403
    assert c.get(f"/api/v1/stores/{S}/conversations", headers=b1).status_code == 404
    # A buyer token of another store does not open this store's buyer b1.
    other_b1 = live.buyer(OTHER, "b1")
    assert c.get("/api/v1/buyer/transcript?conversation=b1~1",
                 headers=other_b1).status_code == 404  # fmt: skip
    # WebSocket refuses a missing token and the wrong kind of token.
    with c.websocket_connect("/api/v1/ws/agent?token=kefu_nope") as ws:
        assert ws.receive()["code"] == 4401
    with c.websocket_connect(f"/api/v1/ws/monitor?token={a1['Authorization'][7:]}") as ws:
        assert ws.receive()["code"] == 4403
    # Admins issue tokens of their own store; the token works once shown.
    admin = live.staff(S, "boss", "admin")
    r = c.post(f"/api/v1/stores/{S}/tokens", headers=admin, json={"agent": "a9", "role": "agent"})
    assert r.status_code == 201
    me = c.get("/api/v1/me", headers={"Authorization": f"Bearer {r.json()['token']}"}).json()
    clock = {"timezone": "Asia/Shanghai", "utc_offset_min": 480}  # the store's days
    assert me == {"store": S, "role": "agent", "agent": "a9", "buyer": None, **clock,
                  "today": "2027-01-15", "store_name": S, "agent_name": "a9"}  # fmt: skip
    live.advance(8.5 * 3600)  # 16:30 UTC is already the next day in Shanghai
    r = c.post(f"/api/v1/stores/{S}/buyer-tokens", headers=admin, json={"buyer": "b7"})
    me = c.get("/api/v1/me", headers={"Authorization": f"Bearer {r.json()['token']}"}).json()
    assert me == {"store": S, "role": "buyer", "agent": None, "buyer": "b7", **clock,
                  "today": "2027-01-16", "store_name": S, "agent_name": None}  # fmt: skip


def test_quick_replies_crud(live: Live) -> None:
    c = live.client
    a1, a2 = live.staff(S, "a1"), live.staff(S, "a2")
    sup = live.staff(S, "s1", "supervisor")
    base = f"/api/v1/stores/{S}/quick-replies"
    r = c.post(base, headers=a1, json={"shortcut": "/hi", "text": "亲，在的"})
    assert r.status_code == 201
    mine = r.json()
    assert (mine["shortcut"], mine["scope"]) == ("/hi", "mine")
    assert c.post(base, headers=a1, json={"shortcut": "/hi", "text": "x"}).status_code == 409
    assert c.post(base, headers=a1, json={"shortcut": "/s", "text": "x",
                                          "scope": "store"}).status_code == 403  # fmt: skip
    r = c.post(base, headers=sup, json={"shortcut": "/ship", "text": "48 小时发货",
                                        "scope": "store"})  # fmt: skip
    store_wide = r.json()
    assert r.status_code == 201 and store_wide["scope"] == "store"
    assert [q["shortcut"] for q in c.get(base, headers=a1).json()] == ["/hi", "/ship"]
    assert [q["shortcut"] for q in c.get(base, headers=a2).json()] == ["/ship"]
    r = c.put(f"{base}/{mine['id']}", headers=a1, json={"shortcut": "/hello", "text": "您好"})
    assert r.json() == {"id": mine["id"], "shortcut": "/hello", "text": "您好", "scope": "mine"}
    # Another agent cannot touch a1's reply; an agent cannot edit store-wide ones.
    assert c.delete(f"{base}/{mine['id']}", headers=a2).status_code == 404
    assert c.put(f"{base}/{store_wide['id']}", headers=a1,
                 json={"shortcut": "/ship", "text": "y"}).status_code == 403  # fmt: skip
    assert c.delete(f"{base}/{mine['id']}", headers=a1).status_code == 204
    assert [q["shortcut"] for q in c.get(base, headers=a1).json()] == ["/ship"]
    assert c.get(base, headers=live.staff(OTHER, "z")).status_code == 404


def test_private_notes(live: Live) -> None:
    c = live.client
    a1 = live.online(S, "a1")
    _assigned(live, "b1")
    base = f"/api/v1/stores/{S}/conversations/b1~1/notes"
    for text in ("老客户", "要发顺丰", "已备注"):
        assert c.post(base, headers=a1, json={"text": text}).status_code == 201
    page = c.get(f"{base}?limit=2", headers=a1).json()
    assert [n["text"] for n in page["items"]] == ["老客户", "要发顺丰"]
    rest = c.get(f"{base}?after={page['next_after']}", headers=a1).json()
    assert [n["text"] for n in rest["items"]] == ["已备注"] and rest["next_after"] is None
    assert c.post(f"/api/v1/stores/{S}/conversations/nope/notes", headers=a1,
                  json={"text": "x"}).status_code == 404  # fmt: skip
    # Notes never reach the buyer's transcript.
    t = c.get("/api/v1/buyer/transcript", headers=live.buyer(S, "b1")).json()["items"]
    assert all("老客户" not in str(i) for i in t)


def test_monitor_numbers_and_wait_order(live: Live) -> None:
    c = live.client
    sup = live.staff(S, "s1", "supervisor")
    a1 = live.online(S, "a1", capacity=2)
    live.online(S, "a2", capacity=1)
    for b in ("b1", "b2", "b3", "b4"):
        _assigned(live, b)
        live.advance(10)
    m = c.get(f"/api/v1/stores/{S}/monitor", headers=sup).json()
    assert (m["online_agents"], m["total_capacity"], m["open_conversations"]) == (2, 3, 3)
    assert (m["saturation"], m["queue_length"], m["queues"]) == (1.0, 1, {"default": 1})
    assert m["longest_wait_s"] == 40.0 and m["failing_3min"] == []
    # a1 answers its first conversation; the buyer writes twice in the other one.
    mine = c.get(f"/api/v1/stores/{S}/conversations", headers=a1).json()["items"]
    assert [v["waiting_s"] for v in mine] == sorted([v["waiting_s"] for v in mine], reverse=True)
    first, second = mine[0]["conversation"], mine[1]["conversation"]
    c.post(f"/api/v1/stores/{S}/conversations/{first}/messages", headers=a1, json={"text": "在"})
    buyer2 = live.buyer(S, second.split("~")[0])
    live.advance(1)
    for text in ("还在吗", "？"):
        c.post("/api/v1/buyer/messages", headers=buyer2, json={"text": text})
    live.advance(200)
    m = c.get(f"/api/v1/stores/{S}/monitor", headers=sup).json()
    assert m["pending_messages"] == 2
    failing = {f["conversation"] for f in m["failing_3min"]}
    assert first not in failing and second in failing
    top = c.get(f"/api/v1/stores/{S}/conversations/longest", headers=a1).json()
    assert top["conversation"] == second and top["over_3min"] is True and top["pending"] == 2
    everyone = c.get(f"/api/v1/stores/{S}/conversations?scope=all&limit=2", headers=sup).json()
    assert len(everyone["items"]) == 2 and everyone["next_after"] is not None
    rest = c.get(f"/api/v1/stores/{S}/conversations?scope=all&after={everyone['next_after']}",
                 headers=sup).json()  # fmt: skip
    assert len(rest["items"]) == 2 and rest["next_after"] is None
    # The answered conversation waits no more: it sorts last with waiting_s 0.
    assert (rest["items"][-1]["conversation"], rest["items"][-1]["waiting_s"]) == (first, 0.0)
    with c.websocket_connect(f"/api/v1/ws/monitor?token={sup['Authorization'][7:]}") as ws:
        assert ws.receive_json()["pending_messages"] == 2


def test_openapi_documents_every_route(live: Live) -> None:
    doc = live.client.get("/openapi.json").json()
    ours = {p: ops for p, ops in doc["paths"].items()
            if p.startswith(("/api/v1/buyer", "/api/v1/me")) or "/conversations" in p
            or p.endswith(("/monitor", "/quick-replies", "/tokens", "/buyer-tokens"))}  # fmt: skip
    assert len(ours) >= 14
    for path, ops in ours.items():
        for method, op in ops.items():
            assert op.get("summary"), (path, method)
            assert "401" in op["responses"], (path, method)
