"""Password sign-in: argon2id hashes, lock-out after 5 failures, cookie sessions, sign-out."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from kefu.accounts.models import Account, ApiToken, AuditEntry
from kefu.accounts.passwords import LOCK_MS, MAX_FAILURES, SignInError, sign_in
from kefu.cli.main import app as cli_app
from tests.accounts.accounts_support import (
    ADMIN_LOGIN,
    ADMIN_PASSWORD,
    WRITE,
    make_admin,
)
from tests.accounts.accounts_support import sign_in as web_sign_in
from tests.accounts.support import Live, live_app


@pytest.fixture
def live(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    """A live app whose cookies also travel over the test client's plain HTTP."""
    monkeypatch.setenv("KEFU_SECRET", "test-secret")
    monkeypatch.setenv("KEFU_INSECURE_COOKIE", "1")
    with live_app(db_url) as app:
        yield app


def test_password_is_stored_as_argon2id_and_sign_in_sets_a_session_cookie(live: Live) -> None:
    make_admin(live)
    with live.service.sessions() as s:
        account = s.scalars(select(Account)).one()
        assert account.password_hash.startswith("$argon2id$")
        assert ADMIN_PASSWORD not in account.password_hash
    r = web_sign_in(live, "  BOSS@Shop.Example ")  # e-mails are case- and space-insensitive
    assert r.status_code == 200, r.text
    assert (r.json()["store"], r.json()["agent"], r.json()["role"]) == ("shop1", "boss", "admin")
    me = live.client.get("/api/v1/me")  # no Authorization header: the cookie signs it
    assert me.status_code == 200 and me.json()["agent"] == "boss"
    with live.service.sessions() as s:
        kinds = s.scalars(select(ApiToken.kind)).all()
    assert kinds == ["session"]


def test_cookie_is_httponly_samesite_strict_and_secure_off_loopback(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KEFU_INSECURE_COOKIE", raising=False)
    with live_app(db_url) as live:
        make_admin(live)
        r = web_sign_in(live)
    header = r.headers["set-cookie"].lower()
    assert header.startswith("kefu_session=kefu_")
    for attr in ("httponly", "samesite=strict", "secure", "path=/", "max-age=604800"):
        assert attr in header, header


def test_wrong_password_counts_down_then_locks_for_15_minutes(live: Live) -> None:
    make_admin(live)
    for left in range(MAX_FAILURES - 1, 0, -1):
        r = web_sign_in(live, password="wrong password")
        assert r.status_code == 401
        assert r.json()["detail"] == (
            f"wrong e-mail/phone or password; {left} more failed tries lock the account"
        )
        assert r.json()["remaining"] == left
    r = web_sign_in(live, password="wrong password")
    assert r.status_code == 423
    assert r.json()["detail"] == (
        "account locked after 5 failed sign-ins; try again in 15 min "
        "or ask an admin to reset the password"
    )
    # while locked, even the right password is refused
    r = web_sign_in(live)
    assert r.status_code == 423 and "locked" in r.json()["detail"]
    assert r.json()["locked_until_ms"] > 0
    with live.service.sessions() as s:
        actions = s.scalars(select(AuditEntry.action)).all()
        assert actions.count("account.locked") == 1


def test_lock_runs_out_after_15_minutes(live: Live) -> None:
    make_admin(live)
    with live.service.sessions.begin() as s:
        for _ in range(MAX_FAILURES):
            with pytest.raises(SignInError):
                sign_in(s, ADMIN_LOGIN, "nope nope", now=1_000)
    with live.service.sessions.begin() as s:
        with pytest.raises(SignInError) as e:
            sign_in(s, ADMIN_LOGIN, ADMIN_PASSWORD, now=1_000 + LOCK_MS - 1)
        assert e.value.status == 423 and "1 min" in e.value.reason
    with live.service.sessions.begin() as s:
        done = sign_in(s, ADMIN_LOGIN, ADMIN_PASSWORD, now=1_000 + LOCK_MS)
        assert done.agent == "boss"


def test_unknown_login_and_wrong_password_read_the_same(live: Live) -> None:
    make_admin(live)
    a = web_sign_in(live, "nobody@shop.example", "whatever1")
    assert a.status_code == 401 and a.json()["detail"] == "wrong e-mail/phone or password"


def test_cookie_writes_need_the_csrf_header_bearer_writes_do_not(live: Live) -> None:
    make_admin(live)
    web_sign_in(live)
    url = "/api/v1/stores/shop1/me/status"
    r = live.client.put(url, json={"status": "online"})
    assert r.status_code == 403
    assert (
        r.json()["detail"] == "a request signed by the session cookie needs the "
        "X-Requested-With header"
    )
    assert live.client.put(url, json={"status": "online"}, headers=WRITE).status_code == 200
    # a browser's own Origin passes (fetch of this site); another site's does not
    same = {"Origin": "http://testserver"}
    assert live.client.put(url, json={"status": "online"}, headers=same).status_code == 200
    other = {"Origin": "https://evil.example"}
    assert live.client.put(url, json={"status": "online"}, headers=other).status_code == 403
    h = live.staff("shop1", "a1")
    live.client.cookies.clear()
    assert live.client.put(url, json={"status": "online"}, headers=h).status_code == 200


def test_sign_out_ends_this_session_and_sign_out_everywhere_ends_all(live: Live) -> None:
    make_admin(live)
    web_sign_in(live)
    first = live.client.cookies.get("kefu_session")
    live.client.cookies.clear()
    web_sign_in(live)
    assert live.client.post("/api/v1/auth/logout").status_code == 204
    assert live.client.get("/api/v1/me").status_code == 401
    # the first device is still signed in
    live.client.cookies.set("kefu_session", first)
    assert live.client.get("/api/v1/me").status_code == 200
    api = live.staff("shop1", "boss", "admin")  # an API token of the same agent
    r = live.client.post("/api/v1/auth/logout-all", headers=WRITE)
    assert r.status_code == 200 and r.json() == {"revoked": 1}
    live.client.cookies.set("kefu_session", first)
    assert live.client.get("/api/v1/me").status_code == 401
    live.client.cookies.clear()
    assert live.client.get("/api/v1/me", headers=api).status_code == 200  # tokens stay


def test_expired_session_is_refused(live: Live) -> None:
    make_admin(live)
    web_sign_in(live)
    with live.service.sessions.begin() as s:
        s.execute(ApiToken.__table__.update().values(expires_ms=1))
    assert live.client.get("/api/v1/me").status_code == 401


def test_websocket_signs_in_with_the_cookie(live: Live) -> None:
    make_admin(live)
    web_sign_in(live)
    with live.client.websocket_connect("/api/v1/ws/agent") as ws:
        hello = ws.receive_json()
    assert (hello["type"], hello["agent"], hello["role"]) == ("hello", "boss", "admin")


def test_cli_create_admin_then_sign_in(live: Live, db_url: str) -> None:
    r = CliRunner().invoke(cli_app, ["account", "create-admin", "--store", "new-shop",
                                     "--login", "+86 138-0000-0000", "--db", db_url],
                           env={"KEFU_ADMIN_PASSWORD": "s3cret-pass"})  # fmt: skip
    assert r.exit_code == 0, r.output
    ok = web_sign_in(live, "+8613800000000", "s3cret-pass")
    assert ok.status_code == 200 and ok.json()["store"] == "new-shop"
    again = CliRunner().invoke(cli_app, ["account", "create-admin", "--store", "new-shop",
                                         "--login", "+8613800000000", "--agent", "b2",
                                         "--db", db_url],
                               env={"KEFU_ADMIN_PASSWORD": "s3cret-pass"})  # fmt: skip
    assert again.exit_code == 2 and "login: already used by another account" in again.output
    short = CliRunner().invoke(cli_app, ["account", "create-admin", "--store", "x", "--login",
                                         "x@y.cn", "--db", db_url],
                               env={"KEFU_ADMIN_PASSWORD": "short"})  # fmt: skip
    assert short.exit_code == 2 and "password: must be at least 8 characters" in short.output


def test_a_cookie_session_has_exactly_the_accounts_role_and_store(live: Live) -> None:
    make_admin(live)
    make_admin(live, store="shop2", agent="boss2", login="boss2@shop.example")
    with live.service.sessions.begin() as s:
        from kefu.accounts.models import Account as Acc

        s.scalars(select(Acc).where(Acc.agent == "boss2")).one().role = "agent"
    web_sign_in(live, "boss2@shop.example")
    assert live.client.get("/api/v1/stores/shop2/staff").status_code == 403  # an agent
    assert live.client.get("/api/v1/stores/shop1/staff").status_code == 404  # another store
    live.client.cookies.clear()
    web_sign_in(live)
    assert live.client.get("/api/v1/stores/shop1/staff").status_code == 200
    assert live.client.get("/api/v1/stores/shop2/staff").status_code == 404


def test_a_login_postgresql_cannot_store_is_just_unknown(live: Live) -> None:
    r = web_sign_in(live, "a\x00b@c.cn", "whatever1")
    assert r.status_code == 401 and r.json()["detail"] == "wrong e-mail/phone or password"


def test_change_own_password_keeps_this_session_and_ends_the_others(live: Live) -> None:
    make_admin(live)
    web_sign_in(live)
    other = live.client.cookies.get("kefu_session")
    live.client.cookies.clear()
    web_sign_in(live)
    url = "/api/v1/auth/password"
    r = live.client.post(url, json={"current": "nope nope", "new": "new-password-1"}, headers=WRITE)
    assert r.status_code == 403 and r.json()["detail"] == "current: wrong password"
    r = live.client.post(url, json={"current": ADMIN_PASSWORD, "new": "short"}, headers=WRITE)
    assert r.status_code == 422 and r.json()["detail"] == "new: must be at least 8 characters"
    r = live.client.post(url, json={"current": ADMIN_PASSWORD, "new": "new-password-1"},
                         headers=WRITE)  # fmt: skip
    assert r.status_code == 200 and r.json() == {"revoked": 1}
    assert live.client.get("/api/v1/me").status_code == 200  # this device stays signed in
    this = live.client.cookies.get("kefu_session")
    live.client.cookies.clear()
    live.client.cookies.set("kefu_session", other)
    assert live.client.get("/api/v1/me").status_code == 401  # the other one is out
    live.client.cookies.clear()
    assert web_sign_in(live).status_code == 401
    assert web_sign_in(live, password="new-password-1").status_code == 200
    assert this


def test_cli_reset_password_unlocks_a_locked_admin(live: Live, db_url: str) -> None:
    make_admin(live)
    for _ in range(MAX_FAILURES):
        web_sign_in(live, password="wrong password")
    assert web_sign_in(live).status_code == 423
    env = {"KEFU_NEW_PASSWORD": "fresh-pass-1"}
    args = ["account", "reset-password", "--db", db_url, "--login"]
    r = CliRunner().invoke(cli_app, [*args, ADMIN_LOGIN], env=env)
    assert r.exit_code == 0, r.output
    assert web_sign_in(live, password="fresh-pass-1").status_code == 200
    bad = CliRunner().invoke(cli_app, [*args, "no@one.cn"], env=env)
    assert bad.exit_code == 2 and "login: no account signs in with no@one.cn" in bad.output


def test_a_hash_with_older_parameters_is_upgraded_at_sign_in(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    from argon2 import PasswordHasher

    from kefu.accounts import passwords

    make_admin(live)  # hashed with this directory's light parameters (m=1024)
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(memory_cost=2048))
    assert web_sign_in(live).status_code == 200
    with live.service.sessions() as s:
        assert "m=2048," in s.scalars(select(Account.password_hash)).one()
