"""Authentication dependencies: token → Principal (store, agent or buyer, role).

Staff send `Authorization: Bearer kefu_…`; buyer widgets send their signed `b1.…` token
the same way. The web app, signed in with a password, sends the `kefu_session` cookie
instead (HttpOnly, SameSite=Strict; see kefu/accounts/passwords.py). WebSockets cannot set
headers from a browser, so they pass `?token=` (or send the cookie). Every route under
`/api/v1/stores/{store}` checks that the token belongs to `store` and answers 404
otherwise — a token of store A learns nothing about store B, not even that it exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends, HTTPException, Request, WebSocket
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kefu.accounts.tokens import Principal, resolve

bearer = HTTPBearer(
    auto_error=False,
    description="A staff token (`kefu_…`, from `kefu token create`) or a buyer token (`b1.…`).",
)

UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, unknown or revoked token", "content": {
        "application/json": {"example": {"detail": "missing or invalid token"}}}},
}  # fmt: skip
FORBIDDEN: dict[int | str, dict[str, Any]] = {
    403: {"description": "The token's role may not do this", "content": {
        "application/json": {"example": {"detail": "needs role supervisor or above"}}}},
}  # fmt: skip
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such store, conversation or item for this token", "content": {
        "application/json": {"example": {"detail": "not found"}}}},
}  # fmt: skip


def _lookup(service: Any, token: str) -> Principal | None:
    with service.sessions() as s:
        return resolve(s, token)


SESSION_COOKIE = "kefu_session"
CSRF_HEADER = "x-requested-with"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _same_site_write(request: Request) -> bool:
    """True for a write the web app itself sends (its header, or the browser's own Origin)."""
    if request.headers.get(CSRF_HEADER):
        return True
    origin = request.headers.get("origin", "")
    if not origin or origin == "null":
        return False
    from urllib.parse import urlsplit

    host = request.headers.get("x-forwarded-host") or request.headers.get("host", "")
    return urlsplit(origin).netloc == host


def principal(
    request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> Principal:
    """The caller, from the bearer token or else the web app's session cookie; 401 when
    missing or invalid. A cookie-signed write must come from this site: an `X-Requested-With`
    header (no other site's form can add one) or an `Origin` naming this host — with
    SameSite=Strict, a second guard against CSRF."""
    token = creds.credentials if creds is not None else ""
    if not token:
        token = request.cookies.get(SESSION_COOKIE, "")
        if token and request.method not in SAFE_METHODS and not _same_site_write(request):
            raise HTTPException(403, "a request signed by the session cookie needs the "
                                     "X-Requested-With header")  # fmt: skip
    if not token:
        raise HTTPException(401, "missing or invalid token", {"WWW-Authenticate": "Bearer"})
    p = _lookup(request.app.state.service, token)
    if p is None:
        raise HTTPException(401, "missing or invalid token", {"WWW-Authenticate": "Bearer"})
    return p


def ws_principal(websocket: WebSocket) -> Principal | None:
    """The caller of a WebSocket, from `?token=` (or the Authorization header)."""
    token = websocket.query_params.get("token")
    if not token:
        auth = websocket.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
    if not token:  # the web app signed in with a password: its SameSite=Strict cookie
        token = websocket.cookies.get(SESSION_COOKIE, "")
    if not token:
        return None
    return _lookup(websocket.app.state.service, token)


def staff(role: str = "agent") -> Callable[..., Principal]:
    """A dependency: a staff token of `store` (the path parameter) with at least `role`."""

    def dep(store: str, p: Principal = Depends(principal)) -> Principal:
        if p.is_buyer or p.store != store:
            raise HTTPException(404, "not found")  # other store: reveal nothing
        if not p.at_least(role):
            raise HTTPException(403, f"needs role {role} or above")
        return p

    return dep


def buyer(p: Principal = Depends(principal)) -> Principal:
    """A dependency: a buyer widget token; 403 for staff tokens."""
    if not p.is_buyer:
        raise HTTPException(403, "needs a buyer token")
    return p
