"""Every route × every kind of caller, against an explicit table.

A route the app serves without an entry in `TABLE` fails the test: whoever adds a route
says here who may call it, and the test then proves it. For each route: no token → 401; a
token of another store → 404 (nothing revealed); every staff role below the one needed →
403; a buyer token on a staff route → 404, a staff token on a buyer route → 403; the role
needed gets past authentication (and never a 5xx). WebSockets close with 4401 / 4403.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect

from tests.accounts.support import Live
from tests.reliability.conftest import app_routes

PUBLIC, ANY, BUYER, INGEST = "public", "any token", "buyer", "ingest (admin)"
AGENT, SUPERVISOR, ADMIN = "agent", "supervisor", "admin"
# Sign-in and invitation routes: no token needed, whoever calls (never 401/403, never 5xx).
ANON = "anonymous"
# Sign out everywhere: any staff token or session of any store (a buyer token is refused).
SELF = "own staff sign-in"
STAFF = (AGENT, SUPERVISOR, ADMIN)
ST = "/api/v1/stores/{store}"

TABLE: dict[tuple[str, str], str] = {
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/"): PUBLIC,
    ("GET", "/api/v1/health"): PUBLIC,
    ("POST", "/api/v1/events"): INGEST,
    ("GET", "/api/v1/me"): ANY,
    ("GET", f"{ST}/actions"): SUPERVISOR,
    ("GET", f"{ST}/urge/stats"): SUPERVISOR,
    ("GET", f"{ST}/urge/urges"): SUPERVISOR,
    ("GET", f"{ST}/urge/preview"): SUPERVISOR,
    ("GET", f"{ST}/insight"): SUPERVISOR,
    ("GET", f"{ST}/guide/leaderboards"): SUPERVISOR,
    ("GET", f"{ST}/conversations/{{conversation}}/guide"): AGENT,
    ("POST", f"{ST}/conversations/{{conversation}}/guide/view"): AGENT,
    ("POST", f"{ST}/conversations/{{conversation}}/guide/send"): AGENT,
    ("GET", f"{ST}/settings"): SUPERVISOR,
    ("PUT", f"{ST}/settings"): ADMIN,
    ("GET", f"{ST}/settings/history"): SUPERVISOR,
    ("GET", f"{ST}/faq"): AGENT,
    ("PUT", f"{ST}/faq/{{faq}}"): SUPERVISOR,
    ("DELETE", f"{ST}/faq/{{faq}}"): SUPERVISOR,
    ("GET", f"{ST}/faq/proposals"): SUPERVISOR,
    ("POST", f"{ST}/faq/proposals/{{pid}}/approve"): SUPERVISOR,
    ("POST", f"{ST}/faq/proposals/{{pid}}/reject"): SUPERVISOR,
    ("PUT", f"{ST}/faq/proposals/{{pid}}"): SUPERVISOR,
    ("POST", f"{ST}/faq/learn"): SUPERVISOR,
    ("GET", f"{ST}/conversations/{{conversation}}/assist"): AGENT,
    ("POST", f"{ST}/tokens"): ADMIN,
    ("POST", f"{ST}/buyer-tokens"): ADMIN,
    ("POST", "/api/v1/buyer/messages"): BUYER,
    ("POST", "/api/v1/buyer/transfer"): BUYER,
    ("GET", "/api/v1/buyer/transcript"): BUYER,
    ("GET", "/api/v1/buyer/state"): BUYER,
    ("POST", "/api/v1/buyer/signal"): BUYER,
    ("PUT", f"{ST}/me/status"): AGENT,
    ("PUT", f"{ST}/me/profile"): AGENT,
    ("GET", f"{ST}/conversations"): AGENT,
    ("GET", f"{ST}/conversations/longest"): AGENT,
    ("GET", f"{ST}/conversations/{{conversation}}/transcript"): AGENT,
    ("POST", f"{ST}/conversations/{{conversation}}/messages"): AGENT,
    ("POST", f"{ST}/conversations/{{conversation}}/close"): AGENT,
    ("POST", f"{ST}/conversations/{{conversation}}/transfer"): AGENT,
    ("POST", f"{ST}/conversations/{{conversation}}/signal"): AGENT,
    ("GET", f"{ST}/conversations/{{conversation}}/notes"): AGENT,
    ("POST", f"{ST}/conversations/{{conversation}}/notes"): AGENT,
    ("GET", f"{ST}/quick-replies"): AGENT,
    ("POST", f"{ST}/quick-replies"): AGENT,
    ("PUT", f"{ST}/quick-replies/{{qid}}"): AGENT,
    ("DELETE", f"{ST}/quick-replies/{{qid}}"): AGENT,
    ("GET", f"{ST}/monitor"): SUPERVISOR,
    ("GET", f"{ST}/reports/handoff"): SUPERVISOR,
    ("WS", "/api/v1/ws/buyer"): BUYER,
    ("WS", "/api/v1/ws/agent"): AGENT,
    ("WS", "/api/v1/ws/monitor"): SUPERVISOR,
    ("GET", f"{ST}/insight/today"): SUPERVISOR,
    ("GET", "/app"): PUBLIC,
    ("GET", "/favicon.ico"): PUBLIC,
    ("GET", f"{ST}/products"): AGENT,
    ("GET", f"{ST}/agents"): AGENT,
    ("GET", f"{ST}/buyers/{{buyer_id}}/orders"): AGENT,
    ("GET", "/api/v1/buyer/products"): BUYER,
    ("GET", "/api/v1/buyer/widget"): BUYER,
    ("GET", f"{ST}/traffic"): SUPERVISOR,
    ("GET", f"{ST}/traffic/today"): SUPERVISOR,
    ("GET", f"{ST}/traffic/products/{{product}}"): SUPERVISOR,
    ("GET", f"{ST}/traffic/audience"): SUPERVISOR,
    ("GET", f"{ST}/traffic/churn"): SUPERVISOR,
    ("GET", f"{ST}/keywords"): SUPERVISOR,
    ("GET", f"{ST}/keywords/suggest"): SUPERVISOR,
    ("POST", f"{ST}/keywords"): SUPERVISOR,
    ("POST", "/api/v1/buyer/attachments"): BUYER,
    ("GET", "/api/v1/buyer/attachments/{attachment}"): BUYER,
    ("POST", f"{ST}/conversations/{{conversation}}/attachments"): AGENT,
    ("GET", f"{ST}/attachments/{{attachment}}"): AGENT,
    ("GET", f"{ST}/conversations/search"): AGENT,
    ("POST", f"{ST}/faq"): SUPERVISOR,
    ("GET", f"{ST}/faq/{{faq}}"): AGENT,
    ("POST", f"{ST}/faq/try"): AGENT,
    ("POST", f"{ST}/catalogue/import"): SUPERVISOR,
    ("GET", f"{ST}/catalogue/products"): AGENT,
    ("GET", f"{ST}/catalogue/products/{{product}}"): AGENT,
    ("PUT", f"{ST}/catalogue/products/{{product}}"): SUPERVISOR,
    ("POST", f"{ST}/catalogue/products/{{product}}/disable"): SUPERVISOR,
    ("POST", "/api/v1/auth/login"): ANON,
    ("POST", "/api/v1/auth/logout"): ANON,
    ("POST", "/api/v1/auth/logout-all"): SELF,
    ("POST", "/api/v1/auth/password"): SELF,
    ("GET", "/api/v1/invitations/{code}"): ANON,
    ("POST", "/api/v1/invitations/{code}/accept"): ANON,
    ("GET", f"{ST}/staff"): SUPERVISOR,
    ("POST", f"{ST}/staff"): ADMIN,
    ("PATCH", f"{ST}/staff/{{agent}}"): ADMIN,
    ("POST", f"{ST}/staff/{{agent}}/password"): ADMIN,
    ("POST", f"{ST}/invitations"): ADMIN,
    ("GET", f"{ST}/invitations"): ADMIN,
    ("DELETE", f"{ST}/invitations/{{invitation}}"): ADMIN,
    ("GET", f"{ST}/audit"): ADMIN,
    ("GET", f"{ST}/webhooks"): SUPERVISOR,
    ("POST", f"{ST}/webhooks"): ADMIN,
    ("GET", f"{ST}/webhooks/{{endpoint}}"): SUPERVISOR,
    ("PATCH", f"{ST}/webhooks/{{endpoint}}"): ADMIN,
    ("DELETE", f"{ST}/webhooks/{{endpoint}}"): ADMIN,
    ("GET", f"{ST}/webhooks/{{endpoint}}/deliveries"): SUPERVISOR,
    ("GET", f"{ST}/webhooks/{{endpoint}}/attempts"): SUPERVISOR,
    ("POST", f"{ST}/webhooks/{{endpoint}}/deliveries/{{delivery_id}}/redeliver"): SUPERVISOR,
    ("POST", f"{ST}/webhooks/{{endpoint}}/redeliver-dead"): SUPERVISOR,
}


# Served only when the web app is built (`web/dist`; `make setup` builds it).
WHEN_BUILT: dict[tuple[str, str], str] = {
    ("MOUNT", "/app"): PUBLIC,
}

S, OTHER = "s1", "s2"
PARAMS = {"store": S, "conversation": "b1~1", "faq": "f1", "pid": "1", "qid": "1",
          "product": "p1", "buyer_id": "b1", "attachment": "0" * 64, "code": "inv_x",
          "agent": "u-agent", "invitation": "1", "endpoint": "1",
          "delivery_id": "1"}  # fmt: skip


def _url(path: str, store: str = S) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: store if m[1] == "store" else PARAMS.get(m[1], "x"),
                  path)  # fmt: skip


def _call(live: Live, method: str, path: str, headers: dict[str, str] | None) -> Any:
    kw: dict[str, Any] = {"headers": headers or {}}
    if method in ("POST", "PUT", "PATCH"):
        kw["json"] = [] if path == "/api/v1/events" else {}
    return live.client.request(method, path, **kw)


def _ws(live: Live, path: str, token: str | None) -> tuple[str, Any]:
    """("closed", code) or ("open", first frame)."""
    url = path + (f"?token={token}" if token else "")
    try:
        with live.client.websocket_connect(url) as ws:
            return "open", ws.receive_json()
    except WebSocketDisconnect as e:
        return "closed", e.code


def _token(h: dict[str, str]) -> str:
    return h["Authorization"].removeprefix("Bearer ")


def test_every_route_has_an_entry_in_the_table(live: Live) -> None:
    served = set(app_routes(live.client.app))
    missing = sorted(served - TABLE.keys() - WHEN_BUILT.keys())
    assert not missing, f"routes without an entry in TABLE (add who may call them): {missing}"
    stale = sorted(TABLE.keys() - served)
    assert not stale, f"TABLE lists routes the app does not serve: {stale}"


@pytest.mark.backends("sqlite")  # token checks are the same code on both; reports are slow
def test_roles_and_tenancy_on_every_route(live: Live) -> None:
    staff = {role: live.staff(S, f"u-{role}", role) for role in STAFF}
    foreign = live.staff(OTHER, "x-admin", "admin")
    buyer = live.buyer(S, "b1")
    bogus = {"Authorization": "Bearer kefu_not-a-token"}
    checked = 0
    served = set(app_routes(live.client.app))
    for (method, path), need in sorted({**TABLE, **WHEN_BUILT}.items()):
        if (method, path) not in served:
            continue
        checked += 1
        where = f"{method} {path}"
        if method == "WS":
            _check_ws(live, path, need, staff, buyer, where)
            continue
        if method == "MOUNT":
            continue
        url = _url(path)
        if need == PUBLIC:
            r = _call(live, method, url, None)
            assert r.status_code < 400, (where, r.status_code)
            continue
        if need == ANON:
            for h in (None, bogus, buyer, staff[AGENT]):
                r = _call(live, method, url, h)
                assert r.status_code not in (401, 403) and r.status_code < 500, (where, r.text)
            continue
        for headers in (None, bogus):
            r = _call(live, method, url, headers)
            assert r.status_code == 401, (where, r.status_code, r.text)
            assert r.json()["detail"] == "missing or invalid token"
        if need == ANY:
            for h in (buyer, staff[AGENT]):
                assert _call(live, method, url, h).status_code == 200, where
        elif need == SELF:
            assert _call(live, method, url, buyer).status_code == 403, where
            for role in STAFF:  # gets past authentication (a body may still be refused)
                r = _call(live, method, url, staff[role])
                assert r.status_code not in (401, 403) and r.status_code < 500, (where, role)
        elif need == INGEST:
            for h in (buyer, staff[AGENT], staff[SUPERVISOR]):
                r = _call(live, method, url, h)
                assert r.status_code == 403, (where, r.status_code)
            assert _call(live, method, url, staff[ADMIN]).status_code == 200, where
        elif need == BUYER:
            for role in STAFF:
                r = _call(live, method, url, staff[role])
                assert (r.status_code, r.json()) == (403, {"detail": "needs a buyer token"}), where
            r = _call(live, method, url, buyer)
            assert r.status_code not in (401, 403) and r.status_code < 500, (where, r.text)
        else:
            # Another store's admin, on this store's URL: 404, the same answer as no store.
            r = _call(live, method, url, foreign)
            assert (r.status_code, r.json()) == (404, {"detail": "not found"}), where
            r = _call(live, method, url, buyer)
            assert (r.status_code, r.json()) == (404, {"detail": "not found"}), where
            rank = STAFF.index(need)
            for role in STAFF[:rank]:
                r = _call(live, method, url, staff[role])
                assert r.status_code == 403, (where, role, r.status_code, r.text)
                assert r.json()["detail"] == f"needs role {need} or above"
            # The role needed gets through (higher roles pass the same `at_least` check).
            r = _call(live, method, url, staff[need])
            assert r.status_code not in (401, 403), (where, need, r.status_code, r.text)
            assert r.status_code < 500, (where, need, r.status_code, r.text)
    assert checked >= len(TABLE)


def _check_ws(live: Live, path: str, need: str, staff: dict[str, dict[str, str]],
              buyer: dict[str, str], where: str) -> None:  # fmt: skip
    assert _ws(live, path, None) == ("closed", 4401), where
    assert _ws(live, path, "kefu_not-a-token") == ("closed", 4401), where
    allowed = {BUYER: ["buyer"], AGENT: list(STAFF), SUPERVISOR: [SUPERVISOR, ADMIN]}[need]
    callers = {"buyer": buyer, **staff}
    for who, h in callers.items():
        state, got = _ws(live, path, _token(h))
        if who in allowed:
            assert state == "open" and got["type"] in ("hello", "monitor"), (where, who, got)
        else:
            assert (state, got) == ("closed", 4403), (where, who)


@pytest.mark.parametrize("role", STAFF)
def test_ingest_needs_an_admin_token_of_the_events_store(live: Live, role: str) -> None:
    ev = {"id": "e1", "ts": 1_800_000_000_000, "type": "buyer", "store": S, "buyer": "b1"}
    r = live.client.post("/api/v1/events", json=[ev], headers=live.staff(S, "x", role))
    assert r.status_code == (200 if role == ADMIN else 403), r.text
