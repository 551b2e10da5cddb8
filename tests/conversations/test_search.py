"""Conversation search (workbench): by buyer, text, order id and date range, newest first,
paginated, scoped to the caller's store, for agents and supervisors."""

from __future__ import annotations

from typing import Any

from tests.accounts.support import T0, Live, live

__all__ = ["live"]
S, OTHER = "s1", "s2"
DAY = 86_400_000
URL = f"/api/v1/stores/{S}/conversations/search"


def _msg(i: int, store: str, buyer: str, ts: int, text: str, sender: str = "buyer") -> dict:
    ev: dict[str, Any] = {"id": f"{store}-{i}", "ts": ts, "type": "message", "store": store,
                          "buyer": buyer, "sender": sender, "text": text}  # fmt: skip
    if sender == "agent":
        ev["agent"] = "a1"
    return ev


def _seed(live: Live) -> None:
    """Store s1: b1 on day 0 and day 2, b2 on day 1 (asks about order o-77), b3 on day 3 who
    placed order o-88; store s2 has a buyer b1 too, talking about the same words."""
    ev = [
        _msg(1, S, "b1", T0 - 3 * DAY, "这双鞋有43码吗"),
        _msg(2, S, "b1", T0 - 3 * DAY + 1000, "有的亲", "agent"),
        _msg(3, S, "b2", T0 - 2 * DAY, "我的订单 o-77 什么时候发货"),
        _msg(4, S, "b1", T0 - DAY, "Do you ship to Hong Kong?"),
        {"id": "o", "ts": T0 - DAY // 2, "type": "order", "store": S, "order": "o-88",
         "buyer": "b3", "items": [{"product": "p1", "qty": 1, "price": 9.0}], "amount": 9.0},
        _msg(5, S, "b3", T0 - DAY // 4, "发票怎么开"),
        _msg(6, OTHER, "b1", T0 - 3 * DAY, "这双鞋有43码吗"),
    ]  # fmt: skip
    res = live.service.ingest(ev)
    assert res.accepted == len(ev), res.rejected


def _search(live: Live, h: dict[str, str], **params: Any) -> Any:
    r = live.client.get(URL, headers=h, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _convs(doc: Any) -> list[tuple[str, str]]:
    return [(i["buyer"], i["conversation"]) for i in doc["items"]]


def test_search_by_buyer_text_order_and_dates(live: Live) -> None:
    _seed(live)
    agent = live.staff(S, "a1", "agent")
    every = _search(live, agent)
    assert [b for b, _ in _convs(every)] == ["b3", "b1", "b2", "b1"]  # newest first
    assert every["next_after"] is None
    first = every["items"][-1]
    assert (first["messages"], first["snippet"], first["opened"]) == (
        2, "这双鞋有43码吗", "2027-01-12T16:00:00+08:00")  # fmt: skip
    assert [b for b, _ in _convs(_search(live, agent, buyer="b1"))] == ["b1", "b1"]
    hit = _search(live, agent, q="43码")
    assert [(i["buyer"], i["snippet"]) for i in hit["items"]] == [("b1", "这双鞋有43码吗")]
    assert _convs(_search(live, agent, q="hong kong")) == _convs(
        _search(live, agent, buyer="b1", **{"from": "2027-01-14"}))  # fmt: skip
    # the order's buyer, and the conversation that mentions the order id
    assert [b for b, _ in _convs(_search(live, agent, order="o-88"))] == ["b3"]
    assert [b for b, _ in _convs(_search(live, agent, order="o-77"))] == ["b2"]
    assert _search(live, agent, order="o-99")["items"] == []
    # dates are days in the store's timezone, both ends included
    days = _search(live, agent, **{"from": "2027-01-13", "to": "2027-01-14"})
    assert [b for b, _ in _convs(days)] == ["b1", "b2"]
    rfc = _search(live, agent, **{"from": "2027-01-13T00:00:00+08:00",
                                  "to": "2027-01-14T16:00:00+08:00"})  # fmt: skip
    assert [b for b, _ in _convs(rfc)] == ["b2"]
    # criteria combine
    assert _search(live, agent, buyer="b2", q="43码")["items"] == []
    # LIKE wildcards are taken literally
    assert _search(live, agent, q="%")["items"] == []


def test_pages_follow_each_other_without_repeats(live: Live) -> None:
    _seed(live)
    sup = live.staff(S, "boss", "supervisor")
    seen: list[tuple[str, str]] = []
    after = None
    for _ in range(5):
        doc = _search(live, sup, limit=1, **({"after": after} if after else {}))
        seen += _convs(doc)
        after = doc["next_after"]
        if after is None:
            break
    assert seen == _convs(_search(live, sup))
    assert len(seen) == len(set(seen)) == 4


def test_store_scoped_and_bad_parameters_named(live: Live) -> None:
    _seed(live)
    foreign = live.staff(OTHER, "x", "admin")
    r = live.client.get(URL, headers=foreign, params={"q": "43码"})
    assert (r.status_code, r.json()) == (404, {"detail": "not found"})
    own = live.client.get(f"/api/v1/stores/{OTHER}/conversations/search", headers=foreign,
                          params={"q": "43码"}).json()  # fmt: skip
    assert [b for b, _ in _convs(own)] == ["b1"]  # s2's own b1 only
    assert live.client.get(URL, headers=live.buyer(S, "b1")).status_code == 404
    assert live.client.get(URL).status_code == 401
    agent = live.staff(S, "a1")
    for params, detail in (
        ({"from": "yesterday"}, "from: not a date (YYYY-MM-DD) or RFC 3339 time"),
        ({"to": "2027-01-14T16:00:00"}, "to: an RFC 3339 time needs an offset (e.g. +08:00)"),
        ({"after": "nope"}, "after: not a cursor from a previous page"),
    ):
        r = live.client.get(URL, headers=agent, params=params)
        assert (r.status_code, r.json()) == (422, {"detail": detail}), params
    assert live.client.get(URL, headers=agent, params={"limit": 101}).status_code == 422


def test_an_empty_store_has_no_results(live: Live) -> None:
    doc = _search(live, live.staff(S, "a1"), q="x")
    assert doc == {"items": [], "next_after": None}
