"""Urge endpoints over a real database: stats, detail list with transcripts, CSV, preview."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from kefu.engine.clock import VirtualClock
from kefu.engine.events import parse_ts
from kefu.engine.settings import parse_config
from kefu.runtime.service import EngineService
from kefu.server.app import create_app
from kefu.testing import staff_headers
from tests.engine.helpers import at
from tests.engine.test_service import consult, line


def setup(db_engine) -> tuple[TestClient, EngineService]:
    svc = EngineService(db_engine, parse_config({"bot": {"enabled": False}}), clock=VirtualClock())
    svc.ingest(consult())
    svc.tick(parse_ts(at(8)))  # the urge falls due at minute 7
    svc.ingest([line(id="o", ts=at(20), type="order", store="s1", order="o1", buyer="b1",
                     items=[{"product": "p1", "qty": 1, "price": 89.0}], amount=89.0),
                line(id="pay", ts=at(25), type="payment", store="s1", order="o1",
                     amount=89.0)])  # fmt: skip
    client = TestClient(create_app(svc, tick_seconds=3600))
    client.headers.update(staff_headers(db_engine, "s1"))
    return client, svc


def test_stats_per_day_and_csv(db_engine) -> None:
    c, _ = setup(db_engine)
    with c:
        body = c.get("/api/v1/stores/s1/urge/stats").json()
        assert body["totals"]["urged_buyers"] == 1
        assert body["totals"]["urge_order_buyers"] == 1
        assert body["totals"]["urge_paid_amount"] == 89.0
        assert body["days"][0]["day"] == "2026-03-01"
        csv_text = c.get("/api/v1/stores/s1/urge/stats", params={"format": "csv"}).text
        rows = list(csv.reader(io.StringIO(csv_text.lstrip("\ufeff"))))
        assert rows[0][:2] == ["day", "urged_buyers"] and rows[-1][0] == "total"
        empty = c.get("/api/v1/stores/s1/urge/stats", params={"from": "2026-04-01"}).json()
        assert empty["totals"]["urged_buyers"] == 0
        assert c.get("/api/v1/stores/s1/urge/stats", params={"from": "March"}).status_code == 422
        bad = c.get("/api/v1/stores/s1/urge/stats", params={"from": "2026-03-02",
                                                             "to": "2026-03-01"})  # fmt: skip
        assert bad.status_code == 422


def test_detail_list_has_the_transcript_filters_and_pages(db_engine) -> None:
    c, _ = setup(db_engine)
    with c:
        body = c.get("/api/v1/stores/s1/urge/urges").json()
        (item,) = body["items"]
        assert (item["buyer"], item["sender"], item["product"]) == ("b1", "a1", "p1")
        assert item["text"] == "今天下单送杯刷"
        assert [m["sender"] for m in item["transcript"]] == ["buyer", "agent"]
        assert c.get("/api/v1/stores/s1/urge/urges", params={"sender": "x"}).json()["items"] == []
        after = body["next_after"]
        assert c.get("/api/v1/stores/s1/urge/urges", params={"after": after}).json()["items"] == []
        text = c.get("/api/v1/stores/s1/urge/urges", params={"format": "csv"}).text
        assert "这个有货吗" in text and "今天下单送杯刷" in text


def test_urge_endpoints_need_a_supervisor_of_the_store(db_engine) -> None:
    c, _ = setup(db_engine)
    with c:
        anon = {"Authorization": ""}
        assert c.get("/api/v1/stores/s1/urge/stats", headers=anon).status_code == 401
        other = staff_headers(db_engine, "s2")
        assert c.get("/api/v1/stores/s1/urge/urges", headers=other).status_code == 404
        agent = staff_headers(db_engine, "s1", "a1", "agent")
        assert c.get("/api/v1/stores/s1/urge/stats", headers=agent).status_code == 403


def test_preview_shows_each_copy_mode_and_404s_unknown_products(db_engine) -> None:
    c, _ = setup(db_engine)
    with c:
        p = c.get("/api/v1/stores/s1/urge/preview", params={"product": "p1"}).json()
        assert p["texts"]["item"]["text"] == "今天下单送杯刷"
        assert p["texts"]["generated"]["text"].startswith("亲，您看中的「保温杯」")
        assert p["texts"]["generic"]["length"] > 0
        r = c.get("/api/v1/stores/s1/urge/preview", params={"product": "nope"})
        assert r.status_code == 404


def test_urge_list_newest_first_pages_with_before(db_engine) -> None:
    """Supervisors read the latest urges first (the list was oldest first)."""
    svc = EngineService(db_engine, parse_config({"bot": {"enabled": False}}), clock=VirtualClock())
    for n, start in enumerate((1, 20, 40)):
        svc.ingest(consult(f"b{n}", start, prefix=f"x{n}"))
        svc.tick(parse_ts(at(start + 8)))
    client = TestClient(create_app(svc, tick_seconds=3600))
    client.headers.update(staff_headers(db_engine, "s1"))
    url = "/api/v1/stores/s1/urge/urges"
    with client as c:
        oldest = [i["buyer"] for i in c.get(url).json()["items"]]
        assert oldest == ["b0", "b1", "b2"]
        page = c.get(url, params={"order": "desc", "limit": 2}).json()
        assert [i["buyer"] for i in page["items"]] == ["b2", "b1"]
        rest = c.get(url, params={"order": "desc", "before": page["next_before"]}).json()
        assert [i["buyer"] for i in rest["items"]] == ["b0"]
        assert c.get(url, params={"order": "sideways"}).status_code == 422
