"""Invitation links: carry store, agent and role; single use; expire; revocable; audited."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select

from kefu.accounts.models import Invitation
from tests.accounts.accounts_support import WRITE, make_admin, sign_in
from tests.accounts.support import Live, live_app


@pytest.fixture
def live(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    """A live app with cookies over plain HTTP and the store's admin signed in."""
    monkeypatch.setenv("KEFU_SECRET", "test-secret")
    monkeypatch.setenv("KEFU_INSECURE_COOKIE", "1")
    with live_app(db_url) as app:
        make_admin(app)
        assert sign_in(app).status_code == 200
        yield app


def invite(live: Live, **body: object) -> dict:
    doc = {"agent": "xia", "name": "小夏", "role": "agent", "groups": ["售前"], "capacity": 4}
    r = live.client.post("/api/v1/stores/shop1/invitations", json={**doc, **body}, headers=WRITE)
    assert r.status_code == 201, r.text
    return r.json()


def test_invitation_carries_store_agent_role_and_is_single_use(live: Live) -> None:
    inv = invite(live, role="supervisor")
    code = inv["code"]
    assert code.startswith("inv_") and inv["state"] == "pending"
    assert parse_qs(urlparse(inv["url"]).query)["code"] == [code]
    assert urlparse(inv["url"]).path == "/app/invite"
    live.client.cookies.clear()  # the invitee is not signed in
    shown = live.client.get(f"/api/v1/invitations/{code}")
    assert shown.status_code == 200
    assert {k: shown.json()[k] for k in ("store", "agent", "name", "role")} == {
        "store": "shop1",
        "agent": "xia",
        "name": "小夏",
        "role": "supervisor",
    }
    body = {"login": "xia@shop.example", "password": "xia-password-1", "name": "夏夏"}
    r = live.client.post(f"/api/v1/invitations/{code}/accept", json=body)
    assert r.status_code == 201, r.text
    assert r.json() == {"store": "shop1", "agent": "xia", "role": "supervisor",
                        "login": "xia@shop.example"}  # fmt: skip
    again = live.client.post(f"/api/v1/invitations/{code}/accept",
                             json={**body, "login": "other@shop.example"})  # fmt: skip
    assert again.status_code == 410 and again.json()["detail"] == (
        "invitation already used: sign in instead"
    )
    assert live.client.get(f"/api/v1/invitations/{code}").status_code == 410
    # the new agent signs in with the password and is known to the engine (an `agent` event)
    ok = sign_in(live, "xia@shop.example", "xia-password-1")
    assert ok.status_code == 200 and ok.json()["role"] == "supervisor"
    st = live.service.engine.states["shop1"].agents["xia"]
    assert (st.name, st.groups, st.capacity, st.role) == ("夏夏", ["售前"], 4, "supervisor")
    with live.service.sessions() as s:
        assert s.scalars(select(Invitation.code_hash)).one() != code  # stored hashed


def test_expired_and_revoked_invitations_are_refused(live: Live) -> None:
    inv = invite(live)
    with live.service.sessions.begin() as s:
        s.execute(Invitation.__table__.update().values(expires_ms=1))
    r = live.client.get(f"/api/v1/invitations/{inv['code']}")
    assert r.status_code == 410
    assert r.json()["detail"] == "invitation expired: ask an admin for a new one"
    second = invite(live, agent="xia2")
    d = live.client.delete(f"/api/v1/stores/shop1/invitations/{second['id']}", headers=WRITE)
    assert d.status_code == 204
    r = live.client.post(f"/api/v1/invitations/{second['code']}/accept",
                         json={"login": "a@b.cn", "password": "long enough"})  # fmt: skip
    assert r.status_code == 410 and r.json()["detail"] == "invitation revoked by an admin"
    listed = live.client.get("/api/v1/stores/shop1/invitations").json()["items"]
    assert [(i["agent"], i["state"]) for i in listed] == [("xia2", "revoked"),
                                                          ("xia", "expired")]  # fmt: skip
    assert all(i["code"] is None for i in listed)  # codes are never listed


def test_unknown_code_is_404_and_bad_fields_say_which(live: Live) -> None:
    assert live.client.get("/api/v1/invitations/inv_nope").status_code == 404
    inv = invite(live)
    url = f"/api/v1/invitations/{inv['code']}/accept"
    r = live.client.post(url, json={"login": "not-a-login", "password": "long enough"})
    assert r.status_code == 422 and r.json()["detail"].startswith("login: must be an e-mail")
    r = live.client.post(url, json={"login": "x@y.cn", "password": "short"})
    assert r.json()["detail"] == "password: must be at least 8 characters"
    r = live.client.post(url, json={"login": "boss@shop.example", "password": "long enough"})
    assert r.status_code == 409 and r.json()["detail"] == "login: already used by another account"
    assert live.client.get(f"/api/v1/invitations/{inv['code']}").status_code == 200  # still open


def test_inviting_an_agent_that_has_an_account_is_a_conflict(live: Live) -> None:
    r = live.client.post("/api/v1/stores/shop1/invitations", json={"agent": "boss"},
                         headers=WRITE)  # fmt: skip
    assert r.status_code == 409 and r.json()["detail"] == "agent: boss already has an account"


def test_only_admins_invite(live: Live) -> None:
    sup = live.staff("shop1", "sup", "supervisor")
    live.client.cookies.clear()
    r = live.client.post("/api/v1/stores/shop1/invitations", json={"agent": "x"}, headers=sup)
    assert r.status_code == 403
    other = live.staff("shop2", "boss2", "admin")
    r = live.client.post("/api/v1/stores/shop1/invitations", json={"agent": "x"}, headers=other)
    assert r.status_code == 404
