"""Store isolation over every route: two stores with the *same* ids (agent a1, buyer b1,
conversation b1~1, product p1, FAQ f1) and secrets of their own; whatever route a token of
one store reads, the other store's secrets never appear. A buyer reads only their own
conversation; WebSocket topics are per store."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect

from tests.accounts.support import T0, Live, receive_until
from tests.reliability.conftest import app_routes

STORES = {"sa": "A", "sb": "B"}
IDS = {"conversation": "b1~1", "faq": "f1", "pid": "1", "product": "p1", "buyer_id": "b1"}


def _fill(live: Live, store: str) -> dict[str, dict[str, str]]:
    """The same ids in each store, every text marked SECRET-<store tag>."""
    tag = STORES[store]
    c = live.client
    admin = live.staff(store, "boss", "admin")
    sup = live.staff(store, "sup", "supervisor")
    a1 = live.online(store, "a1", name=f"SECRET-{tag}-agent")
    events = [
        {"id": "p", "ts": T0, "type": "product", "store": store, "product": "p1",
         "title": f"SECRET-{tag}-prod", "price": 9.0},
        {"id": "o", "ts": T0, "type": "order", "store": store, "order": "o1", "buyer": "b1",
         "amount": 9.0, "items": [{"product": "p1", "qty": 1, "price": 9.0}]},
        {"id": "r", "ts": T0, "type": "review", "store": store, "product": "p1",
         "text": f"SECRET-{tag}-review", "score": 5},
    ]  # fmt: skip
    assert c.post("/api/v1/events", json=events, headers=admin).json()["accepted"] == 3
    b1 = live.buyer(store, "b1")
    first = {"text": f"SECRET-{tag}-msg", "product": "p1"}
    assert c.post("/api/v1/buyer/messages", headers=b1, json=first).status_code == 200
    assert c.post("/api/v1/buyer/transfer", headers=b1).json()["actions"]
    base = f"/api/v1/stores/{store}"
    for method, path, h, body in [
        ("POST", "/conversations/b1~1/messages", a1, {"text": f"SECRET-{tag}-reply"}),
        ("POST", "/conversations/b1~1/notes", a1, {"text": f"SECRET-{tag}-note"}),
        ("POST", "/quick-replies", sup, {"shortcut": "/x", "text": f"SECRET-{tag}-qr",
                                         "scope": "store"}),
        ("PUT", "/faq/f1", sup, {"question": f"SECRET-{tag}-faq", "answer": f"SECRET-{tag}-ans"}),
        ("PUT", "/settings", admin, {"bot": {"greeting": f"SECRET-{tag}-greet"}}),
    ]:  # fmt: skip
        r = c.request(method, base + path, headers=h, json=body)
        assert r.status_code in (200, 201), (path, r.text)
    return {"admin": admin, "sup": sup, "a1": a1, "b1": b1}


@pytest.mark.backends("sqlite")  # one sweep (reports cost ~2 s each); the rest runs on both
def test_no_route_shows_another_stores_data(live: Live) -> None:
    tokens = {s: _fill(live, s) for s in STORES}
    qids = {
        s: live.client.get(f"/api/v1/stores/{s}/quick-replies", headers=tokens[s]["a1"]).json()
        for s in STORES
    }
    qids = {s: q[0]["id"] for s, q in qids.items()}
    checked = 0
    for method, path in sorted(set(app_routes(live.client.app))):
        buyer_route = path.startswith("/api/v1/buyer")
        if method != "GET" or ("{" not in path and not buyer_route):
            continue
        # Store B reads with the very ids store A uses (the code is the same for both ways).
        ids = {**IDS, "store": "sb", "qid": str(qids["sa"])}
        url = re.sub(r"\{(\w+)\}", lambda m, ids=ids: ids.get(m[1], "x"), path)
        r = live.client.get(url, headers=tokens["sb"]["b1" if buyer_route else "admin"])
        assert r.status_code < 500, (url, r.text[:300])
        assert "SECRET-A" not in r.text, (url, r.text[:500])
        checked += 1
    assert checked >= 20
    # And the store's own data is there: the check above is not vacuous.
    r = live.client.get("/api/v1/stores/sb/conversations/b1~1/transcript",
                        headers=tokens["sb"]["admin"])  # fmt: skip
    assert "SECRET-B-msg" in r.text and "SECRET-B-reply" in r.text


def test_writes_with_another_stores_ids_touch_nothing(live: Live) -> None:
    tokens = {s: _fill(live, s) for s in STORES}
    c = live.client
    qa = c.get("/api/v1/stores/sa/quick-replies", headers=tokens["sa"]["a1"]).json()[0]["id"]
    sup_b = tokens["sb"]["sup"]
    # B's supervisor on B's URL with A's quick reply id: not found, A's reply unchanged.
    r = c.put(f"/api/v1/stores/sb/quick-replies/{qa}", headers=sup_b,
              json={"shortcut": "/x", "text": "hijack", "scope": "store"})  # fmt: skip
    assert r.status_code == 404
    assert c.delete(f"/api/v1/stores/sb/quick-replies/{qa}", headers=sup_b).status_code == 404
    [qr] = c.get("/api/v1/stores/sa/quick-replies", headers=tokens["sa"]["a1"]).json()
    assert qr["text"] == "SECRET-A-qr"
    # B's tokens on A's URLs: 404 for every write.
    for path in ("/conversations/b1~1/messages", "/conversations/b1~1/close",
                 "/conversations/b1~1/notes"):  # fmt: skip
        r = c.post(f"/api/v1/stores/sa{path}", headers=sup_b, json={"text": "x"})
        assert (r.status_code, r.json()) == (404, {"detail": "not found"}), path
    t = c.get("/api/v1/stores/sa/conversations/b1~1/transcript", headers=tokens["sa"]["sup"])
    assert "hijack" not in t.text and '"x"' not in t.text


def test_a_buyer_reads_only_their_own_conversation(live: Live) -> None:
    tokens = _fill(live, "sa")
    c = live.client
    b2 = live.buyer("sa", "b2")
    assert c.post("/api/v1/buyer/messages", headers=b2, json={"text": "我的"}).status_code == 200
    r = c.get("/api/v1/buyer/transcript", params={"conversation": "b1~1"}, headers=b2)
    assert (r.status_code, r.json()) == (404, {"detail": "not found"})
    own = c.get("/api/v1/buyer/transcript", headers=b2).json()
    assert "SECRET-A-msg" not in str(own) and "我的" in str(own)
    # The same buyer id in another store is another person.
    other = live.buyer("sb", "b1")
    r = c.get("/api/v1/buyer/transcript", params={"conversation": "b1~1"}, headers=other)
    assert "SECRET-A-msg" not in r.text and "SECRET-A-reply" not in r.text
    # A forged buyer token (store swapped, old signature) is refused.
    forged = tokens["b1"]["Authorization"].replace("b1.", "b1.x", 1)
    assert c.get("/api/v1/buyer/transcript", headers={"Authorization": forged}).status_code == 401


def test_websocket_topics_are_per_store(live: Live) -> None:
    """Agent a1 of store B never hears what buyer b1 says to agent a1 of store A."""
    ta, tb = _fill(live, "sa"), _fill(live, "sb")
    c = live.client
    token_b = tb["a1"]["Authorization"].removeprefix("Bearer ")
    with c.websocket_connect(f"/api/v1/ws/agent?token={token_b}") as ws:
        assert ws.receive_json()["type"] == "hello"
        c.post("/api/v1/buyer/messages", headers=ta["b1"], json={"text": "SECRET-A-live"})
        c.post("/api/v1/buyer/messages", headers=tb["b1"], json={"text": "B-live"})
        got: dict[str, Any] = receive_until(ws, "message")
        assert (got["store"], got["text"]) == ("sb", "B-live")
    try:  # the buyer widget of store B, too
        with c.websocket_connect(f"/api/v1/ws/buyer?token={tb['b1']['Authorization'][7:]}") as w:
            assert w.receive_json() == {"type": "hello", "store": "sb", "buyer": "b1"}
            c.post("/api/v1/stores/sa/conversations/b1~1/messages", headers=ta["a1"],
                   json={"text": "SECRET-A-agent-live"})  # fmt: skip
            c.post("/api/v1/stores/sb/conversations/b1~1/messages", headers=tb["a1"],
                   json={"text": "B-agent-live"})  # fmt: skip
            got = receive_until(w, "message")
            assert (got["store"], got["text"]) == ("sb", "B-agent-live")
    except WebSocketDisconnect as e:  # pragma: no cover - would be a refusal
        raise AssertionError(f"buyer WebSocket refused: {e.code}") from e
