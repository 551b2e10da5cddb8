"""Traffic and keyword endpoints: JSON, CSV, comparisons, tenancy and roles."""

from __future__ import annotations

import json
from typing import Any

import msgspec
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kefu.engine.clock import VirtualClock
from kefu.engine.events import parse_ts
from kefu.engine.settings import parse_config
from kefu.runtime.service import EngineService
from kefu.server.app import create_app
from kefu.testing import staff_headers
from kefu.traffic import api as traffic_api
from tests.traffic import data
from tests.traffic.test_keywords import SAMPLE


def app_with_traffic(svc: EngineService) -> FastAPI:
    """The API with the traffic router (added here until app.py includes it)."""
    app = create_app(svc, tick_seconds=3600)
    if not any(getattr(r, "path", "") == "/api/v1/stores/{store}/traffic" for r in app.routes):
        app.include_router(traffic_api.router)
    return app


def service(db_engine: Any) -> EngineService:
    clock = VirtualClock(parse_ts(data.at(data.D2, 8, 2)))  # ingesting moves it on
    svc = EngineService(db_engine, parse_config({"bot": {"enabled": False}}), clock=clock)
    result = svc.ingest([msgspec.json.encode(e) for e in data.events()])
    assert not result.rejected
    return svc


def test_traffic_reports_of_a_store(db_engine) -> None:
    with TestClient(app_with_traffic(service(db_engine))) as c:
        c.headers.update(staff_headers(db_engine, "s1"))
        base = "/api/v1/stores/s1/traffic"
        body = c.get(base, params={"by": "source"}).json()
        assert [(r["source"], r["card_click_users"]) for r in body["rows"]] == [
            ("recommend", 2), ("search", 5), ("shop", 1),
        ]  # fmt: skip
        total = c.get(base).json()["rows"][0]
        assert (total["card_gmv"], total["card_churned_users"]) == (290.0, 3)
        text = c.get(base, params={"by": "day", "format": "csv"}).text.lstrip("\ufeff")
        assert text.splitlines()[0].startswith("store,day,card_impression_users,")
        assert text.splitlines()[1].startswith(f"s1,{data.D1},6,5,7,")
        cmp = c.get(base, params={"from": data.D2, "to": data.D2, "compare": "true"}).json()
        assert cmp["totals"]["change"]["card_click_users"] == -0.6
        assert c.get(base, params={"compare": "true"}).status_code == 422
        assert c.get(base, params={"by": "week"}).status_code == 422
        assert c.get(base, params={"from": "03-01"}).status_code == 422
        funnel = c.get(f"{base}/products/p1").json()
        assert [s["users"] for s in funnel["funnel"]] == [4, 4, 3, 2]
        assert c.get(f"{base}/audience").json()["all"]["buyers"] == 6
        churn = c.get(f"{base}/churn").json()
        assert (churn["card_churned_users"], churn["bought_elsewhere_users"]) == (3, 2)
        assert not any(s in json.dumps(churn) for s in ("s2", "s3", "s4", "u2", "u5"))
        today = c.get(f"{base}/today").json()  # the service clock: the last event, D2 12:01
        assert (today["day"], today["until"]) == (data.D2, "12:01")
        assert today["totals"]["today"]["card_clicks"] == 3
        # The facts are kept between requests but follow the log: a new click counts at once.
        svc = c.app.state.service  # type: ignore[attr-defined]
        before = c.get(base).json()["rows"][0]["card_click_users"]
        new = data.view("u99", "p1", "search", data.at(data.D2, 12, 30))
        assert not svc.ingest([msgspec.json.encode(new)]).rejected
        assert c.get(base).json()["rows"][0]["card_click_users"] == before + 1


def test_traffic_is_for_supervisors_of_the_store(db_engine) -> None:
    with TestClient(app_with_traffic(service(db_engine))) as c:
        other = staff_headers(db_engine, "s2")
        assert c.get("/api/v1/stores/s1/traffic", headers=other).status_code == 404
        agent = staff_headers(db_engine, "s1", "a1", "agent")
        assert c.get("/api/v1/stores/s1/traffic", headers=agent).status_code == 403
        assert c.get("/api/v1/stores/s1/keywords", headers=agent).status_code == 403
        assert c.get("/api/v1/stores/s1/traffic").status_code == 401


def test_keyword_import_ranking_and_suggestions(db_engine) -> None:
    svc = service(db_engine)
    with TestClient(app_with_traffic(svc)) as c:
        c.headers.update(staff_headers(db_engine, "s1"))
        base = "/api/v1/stores/s1/keywords"
        try:
            csv_headers = {"content-type": "text/csv"}
            bad = SAMPLE + "2026-03-08,坏,abc,1,0.1\n"
            r = c.post(base, content=bad.encode(), headers=csv_headers)
            assert r.status_code == 200, r.text
            assert r.json() == {
                "store": "s1",
                "lines": 8,
                "imported": 7,
                "rejected": [
                    {"line": 9, "field": "search_popularity", "reason": "not a number: 'abc'"}
                ],
            }
            r = c.post(base, content=b"date,keyword\n", headers=csv_headers)
            assert r.status_code == 422 and "missing column" in r.json()["detail"]
            ranked = c.get(base, params={"sort": "competition"}).json()
            assert [k["keyword"] for k in ranked["keywords"]] == [
                "碎花连衣裙", "羊毛衫 女", "连衣裙", "新款",
            ]  # fmt: skip
            text = c.get(base, params={"format": "csv", "limit": 1}).text.lstrip("\ufeff")
            assert text.splitlines()[1].startswith("连衣裙,2,1100.0,60000.0,54.545455,")
            other = c.get("/api/v1/stores/s2/keywords", headers=staff_headers(db_engine, "s2"))
            assert other.json()["keywords"] == []  # keyword data is per store
            tips = c.get(f"{base}/suggest", params={"title": "夏季连衣裙"}).json()
            assert [s["keyword"] for s in tips["suggestions"]] == ["碎花连衣裙", "连衣裙"]
            p1 = c.get(f"{base}/suggest", params={"product": "p1"}).json()
            assert p1["title"] == "item p1" and p1["suggestions"] == []
            assert c.get(f"{base}/suggest", params={"product": "nope"}).status_code == 404
            assert c.get(f"{base}/suggest").status_code == 422
        finally:
            pass
