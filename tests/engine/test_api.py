"""The HTTP API over a real database: ingestion, errors, actions listing, OpenAPI, landing page."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from kefu.engine.settings import parse_config
from kefu.runtime.service import EngineService
from kefu.server.app import create_app
from kefu.testing import staff_headers
from tests.engine.helpers import at


def admin(db_engine) -> dict[str, str]:
    """An admin token of store s1: ingestion needs one."""
    return staff_headers(db_engine, "s1", "ingest", "admin")


def client(db_engine) -> TestClient:
    service = EngineService(db_engine, parse_config({"bot": {"enabled": False}}))
    return TestClient(create_app(service, tick_seconds=0.05))


EVENTS = [
    {"id": "1", "ts": at(0), "type": "agent", "store": "s1", "agent": "a1", "name": "A"},
    {"id": "2", "ts": at(0), "type": "agent.status", "store": "s1", "agent": "a1",
     "status": "online"},
    {"id": "3", "ts": at(1), "type": "message", "store": "s1", "buyer": "b1", "sender": "buyer",
     "text": "在吗"},
    {"id": "4", "ts": at(2), "type": "message", "store": "s1", "buyer": "b1", "sender": "agent",
     "agent": "a1", "text": "在的"},
]  # fmt: skip


def test_json_batch_is_accepted_and_actions_are_listed(db_engine) -> None:
    with client(db_engine) as c:
        r = c.post("/api/v1/events", json=EVENTS, headers=admin(db_engine))
        assert r.status_code == 200
        body = r.json()
        assert (body["accepted"], body["duplicates"], body["rejected"]) == (4, 0, [])
        assert [a["type"] for a in body["actions"]] == [
            "conversation.open",
            "assign",
            "agent.reply",
        ]
        boss = staff_headers(db_engine, "s1")
        listed = c.get("/api/v1/stores/s1/actions", params={"type": "assign"}, headers=boss)
        assert [(a["agent"], a["ts"]) for a in listed.json()["items"]] == [("a1", at(2))]
        assert c.get("/api/v1/stores/other/actions", headers=boss).status_code == 404
        assert c.get("/api/v1/stores/s1/actions").status_code == 401


def test_ndjson_with_bad_lines_keeps_the_good_ones(db_engine) -> None:
    body = "\n".join([json.dumps(EVENTS[0]), "{oops", json.dumps({**EVENTS[1], "status": "x"})])
    with client(db_engine) as c:
        ndjson = {"content-type": "application/x-ndjson", **admin(db_engine)}
        r = c.post("/api/v1/events", content=body, headers=ndjson)
        assert r.status_code == 200
        out = r.json()
        assert out["accepted"] == 1
        assert [(x["line"], x["field"]) for x in out["rejected"]] == [(2, None), (3, "status")]


def test_nothing_acceptable_is_a_422_and_malformed_json_a_400(db_engine) -> None:
    with client(db_engine) as c:
        h = admin(db_engine)
        r = c.post("/api/v1/events", json=[{"ts": 1, "type": "nope", "store": "s1"}], headers=h)
        assert r.status_code == 422
        assert r.json()["rejected"][0]["field"] == "type"
        h = {"content-type": "application/json", **h}
        assert c.post("/api/v1/events", content=b"[{", headers=h).status_code == 400


def test_repeated_batch_is_all_duplicates(db_engine) -> None:
    with client(db_engine) as c:
        h = admin(db_engine)
        c.post("/api/v1/events", json=EVENTS, headers=h)
        again = c.post("/api/v1/events", json=EVENTS, headers=h).json()
        assert (again["accepted"], again["duplicates"], again["actions"]) == (0, 4, [])


def test_openapi_documents_the_event_schema_and_home_lists_stores(db_engine) -> None:
    with client(db_engine) as c:
        spec = c.get("/openapi.json").json()
        assert "/api/v1/events" in spec["paths"]
        assert "Message" in spec["components"]["schemas"]
        c.post("/api/v1/events", json=EVENTS, headers=admin(db_engine))
        page = c.get("/").text
        assert "/app/" in page and "s1" not in page  # no tenant is named to anyone
        assert c.get("/api/v1/health").json()["status"] == "ok"
