"""The admin's Agents API: list, create, edit, enable/disable, reset password, audit.

Every change the engine routes by is an event, so routing follows at once: a capacity
raise drains the queue, a disabled agent is offline and gets no chat.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from kefu.accounts.models import ApiToken
from tests.accounts.accounts_support import WRITE, make_admin, sign_in
from tests.accounts.support import Live, live_app

S = "shop1"
A = f"/api/v1/stores/{S}/staff"


@pytest.fixture
def live(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    """A live app with cookies over plain HTTP and the store's admin signed in."""
    monkeypatch.setenv("KEFU_SECRET", "test-secret")
    monkeypatch.setenv("KEFU_INSECURE_COOKIE", "1")
    with live_app(db_url) as app:
        make_admin(app)
        assert sign_in(app).status_code == 200
        yield app


def create(live: Live, agent: str = "a1", **extra: object) -> dict:
    body = {"agent": agent, "name": "小一", "login": f"{agent}@shop.example",
            "password": f"{agent}-password", "groups": ["售前"], "capacity": 1,
            **extra}  # fmt: skip
    r = live.client.post(A, json=body, headers=WRITE)
    assert r.status_code == 201, r.text
    return r.json()


def go_online(live: Live, agent: str) -> dict[str, str]:
    """The agent's own token and status `online` (as the workbench does)."""
    h = live.staff(S, agent)
    r = live.client.put(f"/api/v1/stores/{S}/me/status", headers=h, json={"status": "online"})
    assert r.status_code == 200, r.text
    return h


def transfer(live: Live, buyer: str) -> dict:
    h = live.buyer(S, buyer)
    live.client.post("/api/v1/buyer/messages", headers=h, json={"text": "问一下"})
    return live.client.post("/api/v1/buyer/transfer", headers=h).json()["actions"]


def test_create_lists_the_agent_with_engine_and_account_fields(live: Live) -> None:
    item = create(live)
    assert {k: item[k] for k in ("agent", "name", "role", "groups", "capacity", "enabled",
                                 "login", "has_account", "status")} == {
        "agent": "a1", "name": "小一", "role": "agent", "groups": ["售前"], "capacity": 1,
        "enabled": True, "login": "a1@shop.example", "has_account": True,
        "status": "offline"}  # fmt: skip
    page = live.client.get(A).json()
    assert [i["agent"] for i in page["items"]] == ["a1", "boss"]
    first = live.client.get(A, params={"limit": 1}).json()
    assert [i["agent"] for i in first["items"]] == ["a1"] and first["next_after"] == "a1"
    rest = live.client.get(A, params={"after": "a1"}).json()
    assert [i["agent"] for i in rest["items"]] == ["boss"] and rest["next_after"] is None


def test_capacity_raise_is_an_event_and_drains_the_queue_at_once(live: Live) -> None:
    create(live)
    go_online(live, "a1")
    live.client.cookies.clear()
    assert transfer(live, "b1")[0]["outcome"] == "assigned"
    assert transfer(live, "b2")[0]["outcome"] == "queued"
    sign_in(live)
    r = live.client.patch(f"{A}/a1", json={"capacity": 2}, headers=WRITE)
    assert r.status_code == 200 and r.json()["capacity"] == 2
    views = live.service.engine.states[S].agents["a1"]
    assert views.capacity == 2 and views.open == 2  # b2 was assigned by the capacity event


def test_disable_sets_offline_ends_sessions_and_routing_skips_the_agent(live: Live) -> None:
    create(live)
    create(live, "a2", name="小二")
    go_online(live, "a1")
    go_online(live, "a2")
    admin_cookie = live.client.cookies.get("kefu_session")
    live.client.cookies.clear()
    assert sign_in(live, "a1@shop.example", "a1-password").status_code == 200
    live.client.cookies.set("kefu_session", admin_cookie)
    r = live.client.patch(f"{A}/a1", json={"enabled": False}, headers=WRITE)
    assert r.status_code == 200, r.text
    assert (r.json()["enabled"], r.json()["status"]) == (False, "offline")
    with live.service.sessions() as s:
        q = select(ApiToken).where(ApiToken.agent == "a1", ApiToken.revoked_ms.is_(None))
        live_rows = s.scalars(q).all()
    assert live_rows == []  # its token and its web session both ended
    live.client.cookies.clear()
    r = sign_in(live, "a1@shop.example", "a1-password")
    assert r.status_code == 403
    assert r.json()["detail"] == "account disabled; ask an admin of the store to enable it"
    acts = transfer(live, "b1")
    assert [(a["type"], a.get("agent")) for a in acts] == [("transfer.result", "a2"),
                                                           ("assign", "a2")]  # fmt: skip
    live.client.cookies.set("kefu_session", admin_cookie)
    r = live.client.patch(f"{A}/a1", json={"enabled": True}, headers=WRITE)
    assert r.json()["enabled"] is True
    live.client.cookies.clear()
    assert sign_in(live, "a1@shop.example", "a1-password").status_code == 200


def test_every_change_is_audited_with_before_and_after(live: Live) -> None:
    create(live)
    live.client.patch(f"{A}/a1", json={"groups": ["售后"], "name": "小一一"}, headers=WRITE)
    live.client.patch(f"{A}/a1", json={"enabled": False}, headers=WRITE)
    live.client.patch(f"{A}/a1", json={"role": "supervisor"}, headers=WRITE)
    live.client.post(f"{A}/a1/password", json={}, headers=WRITE)
    r = live.client.get(f"/api/v1/stores/{S}/audit", params={"agent": "a1"})
    items = r.json()["items"]
    assert [(i["actor"], i["action"]) for i in items] == [
        ("boss", "password.reset"), ("boss", "agent.update"), ("boss", "agent.disable"),
        ("boss", "agent.update"), ("boss", "agent.create")]  # fmt: skip
    assert (items[1]["before"], items[1]["after"]) == ({"role": "agent"},
                                                       {"role": "supervisor"})  # fmt: skip
    assert (items[2]["before"], items[2]["after"]) == ({"enabled": True}, {"enabled": False})
    assert items[3]["before"] == {"name": "小一", "groups": ["售前"]}
    assert items[3]["after"] == {"name": "小一一", "groups": ["售后"]}
    assert all(i["ts_ms"] > 0 for i in items)
    page = live.client.get(f"/api/v1/stores/{S}/audit", params={"limit": 2}).json()
    nxt = live.client.get(f"/api/v1/stores/{S}/audit",
                          params={"before": page["next_before"]}).json()  # fmt: skip
    assert len(page["items"]) == 2 and page["items"][-1]["id"] > nxt["items"][0]["id"]


def test_role_change_applies_to_live_tokens(live: Live) -> None:
    create(live)
    h = live.staff(S, "a1")
    live.client.cookies.clear()
    assert live.client.get(f"/api/v1/stores/{S}/staff", headers=h).status_code == 403
    sign_in(live)
    live.client.patch(f"{A}/a1", json={"role": "supervisor"}, headers=WRITE)
    live.client.cookies.clear()
    assert live.client.get(f"/api/v1/stores/{S}/staff", headers=h).status_code == 200


def test_reset_password_unlocks_and_hands_out_a_temporary_password(live: Live) -> None:
    create(live)
    admin_cookie = live.client.cookies.get("kefu_session")
    live.client.cookies.clear()
    for _ in range(5):
        sign_in(live, "a1@shop.example", "wrong-password")
    assert sign_in(live, "a1@shop.example", "a1-password").status_code == 423
    live.client.cookies.set("kefu_session", admin_cookie)
    listed = {i["agent"]: i for i in live.client.get(A).json()["items"]}
    assert listed["a1"]["locked_until_ms"] is not None
    r = live.client.post(f"{A}/a1/password", json={}, headers=WRITE)
    assert r.status_code == 200
    temp = r.json()["password"]
    assert len(temp) >= 12
    live.client.cookies.clear()
    assert sign_in(live, "a1@shop.example", "a1-password").status_code == 401
    assert sign_in(live, "a1@shop.example", temp).status_code == 200


def test_the_last_admin_cannot_be_demoted_or_disabled(live: Live) -> None:
    r = live.client.patch(f"{A}/boss", json={"enabled": False}, headers=WRITE)
    assert r.status_code == 409
    assert r.json()["detail"] == "role: the store must keep at least one enabled admin"
    r = live.client.patch(f"{A}/boss", json={"role": "agent"}, headers=WRITE)
    assert r.status_code == 409
    create(live, "boss2", role="admin")
    r = live.client.patch(f"{A}/boss", json={"role": "supervisor"}, headers=WRITE)
    assert r.status_code == 200 and r.json()["role"] == "supervisor"


def test_clear_errors_for_bad_input(live: Live) -> None:
    create(live)
    r = live.client.post(A, json={"agent": "a9", "login": "a1@shop.example",
                                  "password": "long enough"}, headers=WRITE)  # fmt: skip
    assert r.status_code == 409 and r.json()["detail"] == "login: already used by another account"
    r = live.client.patch(f"{A}/a1", json={}, headers=WRITE)
    assert r.status_code == 422 and r.json()["detail"].startswith("body: nothing to change")
    r = live.client.patch(f"{A}/nobody", json={"capacity": 2}, headers=WRITE)
    assert r.status_code == 404
    r = live.client.patch(f"{A}/a1", json={"capacity": 5000}, headers=WRITE)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "capacity"]
    # an agent known only from events (no sign-in) can be edited but not disabled
    go_online(live, "legacy")
    r = live.client.patch(f"{A}/legacy", json={"groups": ["售后"]}, headers=WRITE)
    assert r.status_code == 200 and r.json()["has_account"] is False
    r = live.client.patch(f"{A}/legacy", json={"enabled": False}, headers=WRITE)
    assert r.status_code == 409
    assert r.json()["detail"] == "agent: legacy has no sign-in account; invite it first"


def test_agents_need_supervisor_changes_need_admin(live: Live) -> None:
    live.client.cookies.clear()
    agent = live.staff(S, "x")
    sup = live.staff(S, "sup", "supervisor")
    assert live.client.get(A, headers=agent).status_code == 403
    assert live.client.get(A, headers=sup).status_code == 200
    r = live.client.patch(f"{A}/x", json={"capacity": 3}, headers=sup)
    assert r.status_code == 403
    assert live.client.get(f"/api/v1/stores/{S}/audit", headers=sup).status_code == 403


def test_changes_are_events_in_the_stores_log(live: Live) -> None:
    import json

    from kefu.storage.models import Event

    create(live)
    live.client.patch(f"{A}/a1", json={"groups": ["售后"], "capacity": 3}, headers=WRITE)
    live.client.patch(f"{A}/a1", json={"enabled": False}, headers=WRITE)
    with live.service.sessions() as s:
        rows = s.execute(select(Event.type, Event.payload).where(Event.store == S)
                         .order_by(Event.seq)).all()  # fmt: skip
    logged = [(t, json.loads(p)) for t, p in rows]
    assert [t for t, _ in logged] == ["agent", "agent", "agent.status"]
    assert (logged[1][1]["groups"], logged[1][1]["capacity"]) == (["售后"], 3)
    assert logged[2][1]["status"] == "offline" and logged[2][1]["agent"] == "a1"
