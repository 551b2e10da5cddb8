"""Insight endpoint: a store's metrics by store/agent/day, CSV, peers without identities."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from kefu.engine.clock import VirtualClock
from kefu.engine.settings import parse_config
from kefu.insight.api import peer_benchmark
from kefu.runtime.service import EngineService
from kefu.server.app import create_app
from kefu.testing import staff_headers
from tests.engine.helpers import at


def conversation(store: str, buyer: str, reply_after_min: float) -> list[bytes]:
    rows = [
        {"id": f"{buyer}a", "ts": at(0), "type": "agent", "store": store, "agent": "a1"},
        {"id": f"{buyer}s", "ts": at(0), "type": "agent.status", "store": store, "agent": "a1",
         "status": "online"},
        {"id": f"{buyer}1", "ts": at(1), "type": "message", "store": store, "buyer": buyer,
         "sender": "buyer", "text": "在吗"},
        {"id": f"{buyer}2", "ts": at(1 + reply_after_min), "type": "message", "store": store,
         "buyer": buyer, "sender": "agent", "agent": "a1", "text": "在的"},
    ]  # fmt: skip
    return [json.dumps(r, ensure_ascii=False).encode() for r in rows]


def test_metrics_by_agent_and_day_with_csv_and_peers(db_engine) -> None:
    svc = EngineService(db_engine, parse_config({"bot": {"enabled": False}}), clock=VirtualClock())
    svc.ingest(conversation("s1", "b1", 1) + conversation("s2", "b2", 5)
               + conversation("s3", "b3", 2))  # fmt: skip
    with TestClient(create_app(svc, tick_seconds=3600)) as c:
        c.headers.update(staff_headers(db_engine, "s1"))
        agents = c.get("/api/v1/stores/s1/insight", params={"by": "agent"}).json()["rows"]
        assert [(r["agent"], r["first_response_s"]) for r in agents] == [("a1", 60.0)]
        days = c.get("/api/v1/stores/s1/insight", params={"by": "day"}).json()["rows"]
        assert [d["day"] for d in days] == ["2026-03-01"]
        body = c.get("/api/v1/stores/s1/insight", params={"peers": "true"}).json()
        assert body["peers"]["peers"] == 2
        assert "s2" not in json.dumps(body["peers"]) and "s3" not in json.dumps(body["peers"])
        text = c.get("/api/v1/stores/s1/insight", params={"by": "agent", "format": "csv"}).text
        assert text.lstrip("\ufeff").startswith("store,agent,")
        assert c.get("/api/v1/stores/s1/insight", params={"by": "week"}).status_code == 422
        assert c.get("/api/v1/stores/s2/insight").status_code == 404  # another store's data


def test_peer_benchmark_median_and_top_decile_of_others_only() -> None:
    totals = {f"s{i}": {"inquiry_to_order_rate": i / 10} for i in range(11)}
    out = peer_benchmark(totals, "s0")
    assert out["peers"] == 10
    assert out["inquiry_to_order_rate"] == {"median": 0.55, "top10": 1.0}
    alone = peer_benchmark({"s0": {}}, "s0")
    assert alone["inquiry_to_order_rate"] == {"median": None, "top10": None}


def test_guide_leaderboards_endpoint_for_a_day(db_engine) -> None:
    svc = EngineService(db_engine, parse_config({"bot": {"enabled": False}}), clock=VirtualClock())
    svc.ingest(conversation("s1", "b1", 1))
    with TestClient(create_app(svc, tick_seconds=3600)) as c:
        c.headers.update(staff_headers(db_engine, "s1"))
        body = c.get("/api/v1/stores/s1/guide/leaderboards", params={"day": "2026-03-01"}).json()
        assert body == {"store": "s1", "day": "2026-03-01", "top_gmv": [], "active": [],
                        "inactive": []}  # fmt: skip
        r = c.get("/api/v1/stores/s1/guide/leaderboards", params={"day": "yesterday"})
        assert r.status_code == 422 and "`day`" in r.json()["detail"]
        assert c.get("/api/v1/stores/s1/guide/leaderboards").status_code == 200


def _chat(store: str, buyer: str, agent: str, asked: str, answered: str) -> list[bytes]:
    rows = [
        {"id": f"{buyer}-q", "ts": asked, "type": "message", "store": store, "buyer": buyer,
         "sender": "buyer", "text": "在吗"},
        {"id": f"{buyer}-a", "ts": answered, "type": "message", "store": store, "buyer": buyer,
         "sender": "agent", "agent": agent, "text": "在的"},
    ]  # fmt: skip
    return [json.dumps(r, ensure_ascii=False).encode() for r in rows]


def test_today_so_far_against_yesterday_until_the_same_time(db_engine) -> None:
    svc = EngineService(db_engine, parse_config({"bot": {"enabled": False}}), clock=VirtualClock())
    # yesterday: u1 answered in 60 s at 09:00, u2 in 300 s at 15:00 (after the cut)
    svc.ingest(_chat("s1", "u1", "a1", "2026-03-01T09:00:00+08:00", "2026-03-01T09:01:00+08:00")
               + _chat("s1", "u2", "a1", "2026-03-01T15:00:00+08:00",
                       "2026-03-01T15:05:00+08:00"))  # fmt: skip
    # today until 12:00: u3 answered in 120 s
    svc.ingest(_chat("s1", "u3", "a1", "2026-03-02T09:00:00+08:00", "2026-03-02T09:02:00+08:00"))
    svc.clock.advance(1772424000000)  # 2026-03-02 12:00 +08:00
    with TestClient(create_app(svc, tick_seconds=3600)) as c:
        c.headers.update(staff_headers(db_engine, "s1"))
        body = c.get("/api/v1/stores/s1/insight/today").json()
        assert (body["now"], body["day"]) == ("2026-03-02T12:00:00+08:00", "2026-03-02")
        assert body["yesterday"]["until"] == "2026-03-01T12:00:00+08:00"
        today, yday = body["today"], body["yesterday"]["values"]
        assert (today["consulted_buyers"], today["first_response_s"], today["reply_3min_rate"]) \
            == (1, 120.0, 1.0)  # fmt: skip
        assert (yday["consulted_buyers"], yday["first_response_s"], yday["reply_3min_rate"]) \
            == (1, 60.0, 1.0)  # u2 (15:00) is not in yesterday's first 12 hours  # fmt: skip
        # a new chat arrives: the next call has it (the roll-ups catch up on every call)
        svc.ingest(_chat("s1", "u4", "a2", "2026-03-02T12:10:00+08:00",
                         "2026-03-02T12:14:00+08:00"))  # fmt: skip
        again = c.get("/api/v1/stores/s1/insight/today").json()
        assert again["today"]["consulted_buyers"] == 2
        assert again["today"]["reply_3min_rate"] == 0.5  # u4 waited 240 s
        assert again["yesterday"]["values"]["consulted_buyers"] == 1  # cut at 12:14 now
        assert again["seq"] > body["seq"]
        assert c.get("/api/v1/stores/s2/insight/today").status_code == 404


def test_the_server_refreshes_roll_ups_as_events_arrive(db_engine) -> None:
    """With --rollup-every, the ticker takes new events into the roll-ups unasked."""
    import time

    svc = EngineService(db_engine, parse_config({"bot": {"enabled": False}}), clock=VirtualClock())
    with TestClient(create_app(svc, tick_seconds=0.05, rollup_every_s=0.01)) as c:
        rollups = c.app.state.insight_rollups  # type: ignore[attr-defined]
        svc.ingest(_chat("s1", "u1", "a1", "2026-03-01T09:00:00+08:00",
                         "2026-03-01T09:01:00+08:00"))  # fmt: skip
        deadline = time.monotonic() + 10
        while rollups.pending("s1") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert rollups.pending("s1") == 0
        assert "s1" not in rollups._dirty
