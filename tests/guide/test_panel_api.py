"""rules.md §3.2 over the live API: read the panel, guide.view, send one or all items (F6)."""

from __future__ import annotations

from tests.accounts.support import T0, Live, live

__all__ = ["live"]
S = "shop1"
MIN = 60_000


def _seed(lv: Live) -> None:
    """The cup's catalogue and baskets (cup goes with brush and sleeve); buyer b1 carted it."""
    t = T0 - 60 * MIN
    products = [("cup", "保温杯", "杯子", None), ("cup2", "玻璃杯", "杯子", None),
                ("brush", "杯刷", "清洁", None), ("sleeve", "杯套", "配件", None),
                ("bag", "杯袋", "包", 0)]  # fmt: skip
    events: list[dict] = [
        {"type": "product", "ts": t, "store": S, "product": p, "title": title, "price": 10.0,
         "category": cat, **({"stock": stock} if stock is not None else {})}
        for p, title, cat, stock in products
    ]  # fmt: skip
    for i, other in enumerate(["brush", "brush", "sleeve", "sleeve", "bag", "bag", "bag"]):
        events.append({"type": "order", "ts": t + 1 + i, "store": S, "order": f"h{i}",
                       "buyer": f"h{i}", "amount": 20.0,
                       "items": [{"product": "cup"}, {"product": other}]})  # fmt: skip
    events.append({"type": "cart.add", "ts": T0 - MIN, "store": S, "buyer": "b1",
                   "product": "cup"})  # fmt: skip
    assert not lv.service.ingest(events).rejected


def _served(lv: Live) -> tuple[dict, dict, str]:
    _seed(lv)
    a1 = lv.online(S, "a1")
    b1 = lv.buyer(S, "b1")
    c = lv.client
    c.post("/api/v1/buyer/messages", headers=b1, json={"text": "在吗"})
    assert (
        c.post("/api/v1/buyer/transfer", headers=b1).json()["actions"][0]["outcome"] == "assigned"
    )
    return a1, b1, "b1~1"


def test_panel_view_and_send_all_with_f6(live: Live) -> None:
    c = live.client
    a1, b1, conv = _served(live)
    url = f"/api/v1/stores/{S}/conversations/{conv}/guide"
    empty = c.get(url, headers=a1).json()
    assert (empty["inquired"], empty["items"]) == (None, [])
    # Sending before any panel: 409.
    assert c.post(f"{url}/send", headers=a1, json={}).status_code == 409
    c.post("/api/v1/buyer/messages", headers=b1, json={"text": "这个有货吗", "product": "cup"})
    panel = c.get(url, headers=a1).json()
    assert panel["inquired"] == "cup"
    assert panel["items"][0]["product"] == "cup"
    complements = [i["product"] for i in panel["items"][1:]]
    # Out-of-stock bag never; issue 17: cup2 (same category, no substitute evidence) fills
    # the third place of a full panel after the cup's co-purchases.
    assert set(complements[:2]) == {"brush", "sleeve"} and complements[2:] == ["cup2"]
    assert panel["reason"] is None
    assert panel["items"][0]["title"] == "保温杯"
    assert c.post(f"{url}/view", headers=a1).status_code == 204
    r = c.post(f"{url}/send", headers=a1, json={})
    assert r.status_code == 200, r.text
    tr = c.get(f"/api/v1/stores/{S}/conversations/{conv}/transcript", headers=a1).json()
    sent = [m for m in tr["items"] if m.get("type") == "message" and m.get("sender") == "agent"]
    assert sent[-1]["products"] == complements
    assert sent[-1]["text"] == "这几款和您看的宝贝很搭，一起买更划算哦"
    # The guide metrics see it: one buyer seen (panel viewed) and adopted by a1.
    from kefu.insight.from_db import facts_from_db
    from kefu.insight.metrics import compute

    cfg = live.service.config
    a = compute(facts_from_db(live.service.db, S, cfg), cfg)["stores"][S]["agents"]["a1"]
    assert (a["guide_seen_buyers"], a["guide_adopted_buyers"]) == (1, 1)
    # …and so do the day's leaderboards (read from the insight roll-ups): a1 adopted all.
    sup = live.staff(S, "boss", "supervisor")
    day = "2027-01-15"  # T0 is 16:00 in Shanghai
    boards = c.get(f"/api/v1/stores/{S}/guide/leaderboards", headers=sup,
                   params={"day": day}).json()  # fmt: skip
    assert boards["active"] == [{"agent": "a1", "guide_adoption_rate": 1.0}]
    assert boards["inactive"] == [] and boards["top_gmv"] == []  # nothing bought yet
    before = c.get(f"/api/v1/stores/{S}/guide/leaderboards", headers=sup,
                   params={"day": "2027-01-14"}).json()  # fmt: skip
    assert before["active"] == [] and before["inactive"] == []


def test_the_api_says_why_no_panel_is_shown(live: Live) -> None:
    c = live.client
    _seed(live)
    a1 = live.online(S, "a1")
    b2 = live.buyer(S, "b2")  # no cart: a card alone scores below the store's threshold
    res = live.service.ingest([{"type": "settings", "ts": T0 - MIN, "store": S,
                                "values": {"guide": {"min_intent": 0.9}}}])  # fmt: skip
    assert not res.rejected
    c.post("/api/v1/buyer/messages", headers=b2, json={"text": "在吗"})
    c.post("/api/v1/buyer/transfer", headers=b2)
    c.post("/api/v1/buyer/messages", headers=b2, json={"text": "看看", "product": "cup"})
    doc = c.get(f"/api/v1/stores/{S}/conversations/b2~1/guide", headers=a1).json()
    assert doc["items"] == []
    why = doc["reason"]
    assert why["reason"] == "low_intent" and why["product"] == "cup"
    assert why["threshold"] == 0.9 and 0.0 <= why["intent"] < 0.9


def test_send_one_item_custom_text_and_refusals(live: Live) -> None:
    c = live.client
    a1, b1, conv = _served(live)
    url = f"/api/v1/stores/{S}/conversations/{conv}/guide"
    c.post("/api/v1/buyer/messages", headers=b1, json={"text": "这个有货吗", "product": "cup"})
    r = c.post(f"{url}/send", headers=a1, json={"products": ["brush"], "text": "配个杯刷吧"})
    assert r.status_code == 200
    tr = c.get(f"/api/v1/stores/{S}/conversations/{conv}/transcript", headers=a1).json()
    last = [m for m in tr["items"] if m.get("sender") == "agent"][-1]
    assert (last["products"], last["text"]) == (["brush"], "配个杯刷吧")
    # Not in the panel: 422 naming the item; another agent: 409; other store: 404.
    r = c.post(f"{url}/send", headers=a1, json={"products": ["bag"]})
    assert r.status_code == 422 and "bag" in r.json()["detail"]
    a2 = live.online(S, "a2")
    assert c.post(f"{url}/send", headers=a2, json={}).status_code == 409
    assert c.post(f"{url}/view", headers=a2).status_code == 409
    foreign = live.staff("shop2", "x", "admin")
    assert c.get(url, headers=foreign).status_code == 404
    assert c.get(f"/api/v1/stores/{S}/conversations/nope~1/guide", headers=a1).status_code == 404
