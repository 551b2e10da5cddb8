"""Helpers for the password, invitation and agent-admin tests: an admin account and sign-in."""

from __future__ import annotations

from typing import Any

from kefu.accounts.manage import create_admin
from tests.accounts.support import Live

ADMIN_LOGIN = "boss@shop.example"
ADMIN_PASSWORD = "correct horse 1"


def make_admin(live: Live, store: str = "shop1", agent: str = "boss",
               login: str = ADMIN_LOGIN) -> None:  # fmt: skip
    """The store's first admin, as `kefu account create-admin` makes it."""
    with live.service.sessions.begin() as s:
        create_admin(s, store, agent, login, ADMIN_PASSWORD)


def sign_in(live: Live, login: str = ADMIN_LOGIN, password: str = ADMIN_PASSWORD) -> Any:
    """POST the sign-in form; the client keeps the cookie."""
    return live.client.post("/api/v1/auth/login", json={"login": login, "password": password})


WRITE = {"X-Requested-With": "kefu"}
