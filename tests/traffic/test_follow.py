"""Card-traffic facts per process (kefu.traffic.follow): fed only what was logged since.

Given the shared traffic sample in the live log, a report's facts equal facts built from the
whole log; a later event is seen at the next request, which reads only the new events; other
stores' orders read again through the overlap are not counted twice.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from kefu.storage import repo
from kefu.traffic.facts import facts_from_db
from kefu.traffic.follow import TrafficFollower
from tests.traffic import data
from tests.traffic.test_api import service


def _rows(tables: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {name: sorted(t.to_pylist(), key=repr) for name, t in tables.items()}


def test_facts_follow_the_log_reading_only_new_events(
    db_engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = service(db_engine)
    follower = TrafficFollower(db_engine, svc.config)
    first = follower.tables("s1", others=True)
    assert _rows(first) == _rows(facts_from_db(db_engine, "s1", svc.config, others=True))
    assert follower.tables("s1", others=True) is first  # nothing new: the same tables

    read: list[int] = []
    original = repo.logged_events

    def counting(*args: Any, **kw: Any) -> Any:
        for item in original(*args, **kw):
            read.append(1)
            yield item

    monkeypatch.setattr(repo, "logged_events", counting)
    late = [
        data.view("u9", "p1", "search", data.at(data.D2, 20)),
        data.order("x9", "u9", [("q1", 1, 80)], data.at(data.D2, 21), store="s2"),
    ]
    assert not svc.ingest([msgspec.json.encode(e) for e in late]).rejected
    again = follower.tables("s1", others=True)
    views = again["views"].to_pylist()
    assert len(views) == len(first["views"]) + 1 and views[-1]["buyer"] == "u9"
    # other stores' events come again through the overlap, but each order counts once
    orders = again["orders"].to_pylist()
    assert sorted(o["order"] for o in orders) == sorted(
        {o["order"] for o in first["orders"].to_pylist()} | {"x9"}
    )
    own_events = sum(1 for e in data.events() if e.store == "s1")
    assert len(read) < own_events  # the store's own log was not read again
    svc.close()


def test_the_servers_warm_up_reads_traffic_and_compiles_the_tabs_sql(db_engine: Any) -> None:
    """With `warm_reports`, a supervisor's first visit finds the store's traffic facts read
    and the tab's report SQL compiled."""
    import time

    from fastapi.testclient import TestClient

    from kefu.server.app import create_app
    from kefu.traffic import metrics

    svc = service(db_engine)
    metrics._SQL.clear()
    app = create_app(svc, tick_seconds=3600, warm_reports=True)
    with TestClient(app):
        stores = svc.stores()
        want = {(s, others) for s in stores for others in (False, True)}

        def followed() -> set[Any]:
            follower = getattr(app.state, "traffic_follower", None)
            return set(follower._followed) if follower is not None else set()

        deadline = time.time() + 120
        while time.time() < deadline and (followed() != want or len(metrics._SQL) < 8):
            time.sleep(0.2)
        assert len(stores) > 1 and followed() == want
        names = {key[0] for key in metrics._SQL}
        assert {"metrics", "audience", "destinations", "first_day"} <= names
