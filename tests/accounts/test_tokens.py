"""Tokens: stored hashed, resolved to (store, agent, role), revocable; buyer tokens signed."""

from __future__ import annotations

import pytest
import typer
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from kefu.accounts.models import ApiToken
from kefu.accounts.tokens import (
    buyer_token,
    create_token,
    hash_token,
    resolve,
    revoke,
    verify_buyer_token,
)
from kefu.cli import token_cmd
from kefu.storage.db import session_factory


def test_token_stored_hashed_and_resolved(db_engine: Engine) -> None:
    with session_factory(db_engine).begin() as s:
        token = create_token(s, "shop1", "a1", "supervisor")
    with session_factory(db_engine)() as s:
        stored = s.scalars(select(ApiToken.token_hash)).all()
        assert stored == [hash_token(token)] and token not in stored[0]
        p = resolve(s, token)
        assert p is not None and (p.store, p.agent, p.role) == ("shop1", "a1", "supervisor")
        assert resolve(s, token + "x") is None
    with session_factory(db_engine).begin() as s:
        assert revoke(s, "shop1", "a1") == 1
    with session_factory(db_engine)() as s:
        assert resolve(s, token) is None
    with pytest.raises(ValueError), session_factory(db_engine).begin() as s:
        create_token(s, "shop1", "a1", "owner")


def test_buyer_token_signed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEFU_SECRET", "s1")
    t = buyer_token("shop1", "买家~1")
    assert verify_buyer_token(t) == ("shop1", "买家~1")
    monkeypatch.setenv("KEFU_SECRET", "s2")
    assert verify_buyer_token(t) is None


def test_token_create_cli(db_url: str, db_engine: Engine) -> None:
    app = typer.Typer()
    token_cmd.register(app)
    r = CliRunner().invoke(app, ["token", "create", "--store", "S", "--agent", "a1",
                                 "--role", "admin", "--db", db_url])  # fmt: skip
    assert r.exit_code == 0, r.output
    token = r.stdout.strip().splitlines()[-1]
    with session_factory(db_engine)() as s:
        p = resolve(s, token)
    assert p is not None and (p.store, p.agent, p.role) == ("S", "a1", "admin")
    bad = CliRunner().invoke(app, ["token", "create", "--store", "S", "--agent", "a1",
                                   "--role", "root", "--db", db_url])  # fmt: skip
    assert bad.exit_code == 2
