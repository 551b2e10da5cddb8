"""Password sign-in, invitations and the admin's Agents page (docs/accounts.md).

Sign-in answers with an HttpOnly, SameSite=Strict session cookie (Secure except on plain
HTTP to a loopback address, where browsers would drop it); bearer tokens keep working for
the API and the CLI. Every change to an agent that routing depends on (name, groups,
capacity, role, enabled) is ingested as an `agent` / `agent.status` event, and every change
is written to the account audit with the fields before and after.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from kefu.accounts import manage
from kefu.accounts.models import Account, ApiToken, Invitation
from kefu.accounts.passwords import (
    COOKIE,
    MAX_FAILURES,
    MAX_PASSWORD,
    SESSION_MS,
    SignInError,
    account_by_login,
    check_password,
    end_session,
    login_problem,
    normalize_login,
    password_problem,
    set_password,
    sign_in,
)
from kefu.accounts.tokens import Principal, hash_token, revoke
from kefu.api.deps import FORBIDDEN, NOT_FOUND, UNAUTHORIZED, principal, staff
from kefu.storage.repo import wall_ms

router = APIRouter(tags=["accounts"])
store_router = APIRouter(prefix="/api/v1/stores/{store}", tags=["accounts"])
routers = (router, store_router)

AUTH = {**UNAUTHORIZED, **FORBIDDEN, **NOT_FOUND}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "Conflicts with an existing account or agent", "content": {
        "application/json": {"example": {"detail": "login: already used by another account"}}}},
}  # fmt: skip
INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "A field is refused: `field: reason`", "content": {
        "application/json": {"example": {"detail": "password: must be at least 8 characters"}}}},
}  # fmt: skip
GONE: dict[int | str, dict[str, Any]] = {
    410: {"description": "The invitation was used, revoked or has expired", "content": {
        "application/json": {"example": {"detail": "invitation already used"}}}},
}  # fmt: skip

AgentId = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
]
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL
Group = Annotated[str, Field(min_length=1, max_length=64, pattern=NO_NUL)]
Role = Literal["agent", "supervisor", "admin"]
AgentPath = Annotated[str, PathParam(min_length=1, max_length=256, pattern=r"^[^\x00]+$")]


# -- models ----------------------------------------------------------------------------------


class LoginIn(BaseModel):
    """E-mail or phone and password."""

    login: str = Field(min_length=1, max_length=256, description="E-mail address or phone")
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)


class SignedInOut(BaseModel):
    """A good sign-in: the session cookie is set; this says who and until when."""

    store: str
    agent: str
    role: str
    expires_ms: int


class RevokedOut(BaseModel):
    """How many sessions were ended."""

    revoked: int


class InvitationView(BaseModel):
    """What the invitation page shows before the invitee sets a password."""

    store: str
    store_name: str
    agent: str
    name: str
    role: str
    expires_ms: int


class AcceptIn(BaseModel):
    """The invitee's sign-in and nickname."""

    login: str = Field(min_length=1, max_length=256, description="E-mail address or phone")
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)
    name: str | None = Field(
        None, max_length=64, pattern=NO_NUL, description="Nickname shown to buyers"
    )


class AccountOut(BaseModel):
    """A created account."""

    store: str
    agent: str
    role: str
    login: str


class AgentOut(BaseModel):
    """One agent: the engine's view (name, groups, capacity, status) and the account's."""

    agent: str
    name: str
    role: str
    groups: list[str]
    capacity: int | None
    status: str
    open: int
    enabled: bool
    login: str | None
    has_account: bool
    locked_until_ms: int | None


class AgentPage(BaseModel):
    """A page of agents by id; pass `next_after` as `after` for the next (null: last)."""

    items: list[AgentOut]
    next_after: str | None = None


class AgentCreate(BaseModel):
    """A new agent with a password set by the admin (or use an invitation)."""

    agent: AgentId
    name: str = Field("", max_length=64, pattern=NO_NUL)
    login: str = Field(min_length=1, max_length=256)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)
    role: Role = "agent"
    groups: list[Group] = Field(default_factory=list, max_length=20)
    capacity: int | None = Field(None, ge=0, le=1000)


class AgentPatch(BaseModel):
    """Fields to change; absent (or null) fields stay as they are."""

    name: str | None = Field(None, max_length=64, pattern=NO_NUL)
    groups: list[Group] | None = Field(None, max_length=20)
    capacity: int | None = Field(None, ge=0, le=1000)
    role: Role | None = None
    enabled: bool | None = None


class ResetIn(BaseModel):
    """The new password; leave it out to get a random temporary one."""

    password: str | None = Field(None, min_length=1, max_length=MAX_PASSWORD)


class ResetOut(BaseModel):
    """A reset: the account is unlocked and its sessions ended."""

    agent: str
    password: str | None = Field(None, description="The temporary password, shown once")
    revoked: int


class InviteIn(BaseModel):
    """Who to invite: the agent id, role and routing fields the account starts with."""

    agent: AgentId
    name: str = Field("", max_length=64, pattern=NO_NUL)
    role: Role = "agent"
    groups: list[Group] = Field(default_factory=list, max_length=20)
    capacity: int | None = Field(None, ge=0, le=1000)
    expires_hours: int = Field(72, ge=1, le=720, description="The link works this long")


class InvitationOut(BaseModel):
    """An invitation (the code only at creation)."""

    id: int
    agent: str
    name: str
    role: str
    groups: list[str]
    capacity: int | None
    created_by: str
    created_ms: int
    expires_ms: int
    used_ms: int | None
    state: str = Field(description="pending, used, revoked or expired")
    code: str | None = Field(None, description="The single-use code, shown once")
    url: str | None = Field(None, description="The link to send, shown once")


class InvitationPage(BaseModel):
    """Invitations, newest first; pass `next_before` as `before` for the next page."""

    items: list[InvitationOut]
    next_before: int | None = None


class AuditOut(BaseModel):
    """One change: who, to whom, what, when, before and after."""

    id: int
    actor: str
    agent: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    ts_ms: int


class AuditPage(BaseModel):
    """Audit entries, newest first; pass `next_before` as `before` for the next page."""

    items: list[AuditOut]
    next_before: int | None = None


# -- helpers ---------------------------------------------------------------------------------


def _svc(request: Request) -> Any:
    return request.app.state.service


async def _emit(svc: Any, events: list[dict[str, Any]]) -> None:
    """Ingest events stamped with the server's time; 422 with the reason if refused."""
    for e in events:
        e.setdefault("ts", svc.clock.now())
        e.setdefault("id", f"acct-{uuid.uuid4().hex}")
    result = await asyncio.to_thread(svc.ingest, events)
    if result.rejected:
        r = result.rejected[0]
        raise HTTPException(422, f"{r.field}: {r.reason}")


def _secure(request: Request) -> bool:
    """Secure cookies, except plain HTTP on loopback (local use) or $KEFU_INSECURE_COOKIE=1."""
    if os.environ.get("KEFU_INSECURE_COOKIE") == "1":
        return False
    if request.url.scheme == "https":
        return True
    return request.url.hostname not in ("localhost", "127.0.0.1", "::1")


def _flush_unique(s: Any) -> None:
    """Flush a new account; a login or agent taken meanwhile (a race) is a 409, not a 500."""
    from sqlalchemy.exc import IntegrityError

    try:
        s.flush()
    except IntegrityError:
        raise HTTPException(409, "login: already used by another account") from None


def _check(field: str, problem: str | None) -> None:
    if problem is not None:
        raise HTTPException(422, f"{field}: {problem}")


def _agent_event(store: str, agent: str, name: str, role: str, groups: list[str],
                 capacity: int | None) -> dict[str, Any]:  # fmt: skip
    ev: dict[str, Any] = {"type": "agent", "store": store, "agent": agent, "name": name,
                          "role": manage.engine_role(role), "groups": list(groups)}  # fmt: skip
    if capacity is not None:
        ev["capacity"] = capacity
    return ev


_FIELDS = ("name", "role", "groups", "capacity", "enabled", "login")


def _snap(item: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if item is None else {k: item.get(k) for k in _FIELDS}


# -- sign-in ---------------------------------------------------------------------------------


@router.post(
    "/api/v1/auth/login",
    summary="Sign in with e-mail/phone and password (sets the session cookie)",
    response_model=SignedInOut,
    responses={
        401: {"description": "Wrong e-mail/phone or password (`remaining` tries before lock)"},
        403: {"description": "The account is disabled"},
        423: {"description": "Locked after 5 failed sign-ins (15 min)"},
    },
)
def login(body: LoginIn, request: Request, response: Response) -> Any:
    """Check the password (argon2id); 5 failures in a row lock the account for 15 minutes.
    The session cookie is HttpOnly and SameSite=Strict and lasts 7 days."""
    svc = _svc(request)
    if "\x00" in body.login:  # PostgreSQL text cannot hold NUL: no account has such a login
        return JSONResponse({"detail": "wrong e-mail/phone or password"}, status_code=401)
    error: SignInError | None = None
    with svc.sessions.begin() as s:
        try:
            done = sign_in(s, body.login, body.password)
        except SignInError as e:
            error = e
            if e.locked_until_ms is not None:
                account = account_by_login(s, body.login)
                if account is not None and account.failed >= MAX_FAILURES:
                    manage.audit(s, account.store, "system", account.agent, "account.locked",
                                 None, {"locked_until_ms": e.locked_until_ms})  # fmt: skip
                    account.failed = 0  # audited once per lock; the lock itself holds
    if error is not None:
        payload: dict[str, Any] = {"detail": error.reason}
        if error.locked_until_ms is not None:
            payload["locked_until_ms"] = error.locked_until_ms
        if error.remaining is not None:
            payload["remaining"] = error.remaining
        return JSONResponse(payload, status_code=error.status)
    response.set_cookie(COOKIE, done.token, max_age=SESSION_MS // 1000, httponly=True,
                        samesite="strict", secure=_secure(request), path="/")  # fmt: skip
    return SignedInOut(store=done.store, agent=done.agent, role=done.role,
                       expires_ms=done.expires_ms)  # fmt: skip


@router.post("/api/v1/auth/logout", summary="Sign out (ends this session, clears the cookie)",
             status_code=204)  # fmt: skip
def logout(request: Request) -> Response:
    """Ends the cookie's session if any; always succeeds (signing out twice is fine)."""
    token = request.cookies.get(COOKIE, "")
    if token:
        with _svc(request).sessions.begin() as s:
            end_session(s, token)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict",
                           secure=_secure(request))  # fmt: skip
    return response


def own_staff(p: Principal = Depends(principal)) -> Principal:
    """A dependency: any staff sign-in (token or session) of any store; buyers get 403."""
    if p.is_buyer or p.agent is None:
        raise HTTPException(403, "needs a staff sign-in")
    return p


class PasswordChangeIn(BaseModel):
    """The current password and the new one."""

    current: str = Field(min_length=1, max_length=MAX_PASSWORD)
    new: str = Field(min_length=1, max_length=MAX_PASSWORD)


@router.post("/api/v1/auth/password", summary="Change my own password",
             response_model=RevokedOut, responses={**UNAUTHORIZED, **FORBIDDEN, **CONFLICT,
                                                   **INVALID})  # fmt: skip
def change_password(
    body: PasswordChangeIn, request: Request, p: Principal = Depends(own_staff)
) -> Any:
    """Checks the current password, sets the new one and ends the account's other web
    sessions (this one stays); `revoked` says how many. 403 when the current one is wrong."""
    assert p.agent is not None
    now = wall_ms()
    this = request.cookies.get(COOKIE, "")
    with _svc(request).sessions.begin() as s:
        account = s.scalars(
            select(Account).where(Account.store == p.store, Account.agent == p.agent)
        ).first()
        if account is None:
            raise HTTPException(409, "agent: this sign-in has no password account")
        if not check_password(account, body.current):
            raise HTTPException(403, "current: wrong password")
        _check("new", password_problem(body.new, account.login))
        set_password(account, body.new, now)
        keep = hash_token(this) if this else ""  # the session that asked stays
        others = s.scalars(
            select(ApiToken).where(
                ApiToken.store == p.store,
                ApiToken.agent == p.agent,
                ApiToken.kind == "session",
                ApiToken.revoked_ms.is_(None),
                ApiToken.token_hash != keep,
            )
        ).all()
        for row in others:
            row.revoked_ms = now
        n = len(others)
        manage.audit(s, p.store, p.agent, p.agent, "password.change", None,
                     {"sessions_ended": n}, now)  # fmt: skip
    return RevokedOut(revoked=n)


@router.post("/api/v1/auth/logout-all", summary="Sign out everywhere (every web session)",
             response_model=RevokedOut, responses={**UNAUTHORIZED, **FORBIDDEN})  # fmt: skip
def logout_all(request: Request, p: Principal = Depends(own_staff)) -> Any:
    """Ends every web session of the caller on every device; API tokens stay (revoke those
    with the tokens API or `kefu token`)."""
    assert p.agent is not None
    with _svc(request).sessions.begin() as s:
        n = revoke(s, p.store, p.agent, kind="session")
        manage.audit(s, p.store, p.agent, p.agent, "sessions.revoke", None, {"revoked": n})
    response = JSONResponse({"revoked": n})
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict",
                           secure=_secure(request))  # fmt: skip
    return response


# -- invitations (public side) ---------------------------------------------------------------


def _pending(s: Any, code: str, now: int) -> Invitation:
    row = manage.invitation_by_code(s, code)
    if row is None:
        raise HTTPException(404, "unknown invitation: check the link")
    state = manage.invitation_state(row, now)
    if state != "pending":
        reason = {"used": "invitation already used: sign in instead",
                  "revoked": "invitation revoked by an admin",
                  "expired": "invitation expired: ask an admin for a new one"}[state]  # fmt: skip
        raise HTTPException(410, reason)
    return row


Code = Annotated[str, PathParam(min_length=1, max_length=128)]


@router.get("/api/v1/invitations/{code}", summary="Look at an invitation (no sign-in)",
            response_model=InvitationView, responses={404: {"description": "Unknown code"},
                                                      **GONE})  # fmt: skip
def show_invitation(code: Code, request: Request) -> Any:
    """The store, agent id, nickname and role an invitation carries, while it is pending."""
    from kefu.conversations.service import store_name

    svc = _svc(request)
    with svc.sessions() as s:
        row = _pending(s, code, wall_ms())
        view = InvitationView(store=row.store, store_name="", agent=row.agent, name=row.name,
                              role=row.role, expires_ms=row.expires_ms)  # fmt: skip
    view.store_name = store_name(svc, view.store)
    return view


@router.post("/api/v1/invitations/{code}/accept", status_code=201,
             summary="Accept an invitation: set e-mail/phone, nickname and password",
             response_model=AccountOut,
             responses={404: {"description": "Unknown code"}, **GONE, **CONFLICT,
                        **INVALID})  # fmt: skip
async def accept_invitation(code: Code, body: AcceptIn, request: Request) -> Any:
    """Creates the account (single use: a second accept is a 410) and declares the agent to
    the engine with the invitation's role, groups and capacity; then sign in."""
    _check("login", login_problem(body.login))
    _check("password", password_problem(body.password, body.login))
    svc = _svc(request)
    now = wall_ms()
    login_norm = normalize_login(body.login)
    with svc.sessions.begin() as s:
        row = _pending(s, code, now)
        if account_by_login(s, login_norm) is not None:
            raise HTTPException(409, "login: already used by another account")
        if s.scalars(select(Account).where(Account.store == row.store,
                                           Account.agent == row.agent)).first():  # fmt: skip
            raise HTTPException(409, f"agent: {row.agent} already has an account")
        if not manage.claim_invitation(s, row, now):
            raise HTTPException(410, "invitation already used: sign in instead")
        store, agent, role = row.store, row.agent, row.role
        name = (body.name or "").strip() or row.name
        groups, capacity = list(row.groups or []), row.capacity
        account = Account(store=store, agent=agent, login=login_norm, role=role, enabled=True,
                          failed=0, created_ms=now, updated_ms=now)  # fmt: skip
        set_password(account, body.password, now)
        s.add(account)
        _flush_unique(s)
        manage.audit(s, store, agent, agent, "invitation.accept", None,
                     {"name": name, "role": role, "groups": groups, "capacity": capacity,
                      "enabled": True, "login": login_norm}, now)  # fmt: skip
    await _emit(svc, [_agent_event(store, agent, name, role, groups, capacity)])
    return AccountOut(store=store, agent=agent, role=role, login=login_norm)


# -- the Agents page (store-scoped) ----------------------------------------------------------


@store_router.get("/staff", summary="Agents with groups, capacity, role, status (supervisor)",
                  response_model=AgentPage, responses=AUTH)  # fmt: skip
def list_agents(
    store: str,
    request: Request,
    p: Principal = Depends(staff("supervisor")),
    after: str | None = Query(
        None, max_length=256, pattern=r"^[^\x00]*$", description="Agent id ending the last page"
    ),
    limit: int = Query(100, ge=1, le=500),
) -> Any:
    """Every agent the engine or the accounts know, by id: nickname, groups, capacity,
    role, status, open conversations, enabled, sign-in and lock-out."""
    items = manage.list_agents(_svc(request), store)
    if after is not None:
        items = [i for i in items if i["agent"] > after]
    page = items[:limit]
    nxt = page[-1]["agent"] if len(items) > limit else None
    return AgentPage(items=[AgentOut(**i) for i in page], next_after=nxt)


@store_router.post("/staff", summary="Create an agent with a password (admin)", status_code=201,
                   response_model=AgentOut, responses={**AUTH, **CONFLICT, **INVALID})  # fmt: skip
async def create_agent(
    store: str, body: AgentCreate, request: Request, p: Principal = Depends(staff("admin"))
) -> Any:
    """An account the admin sets the first password of; the agent is declared to the engine
    (an `agent` event) so routing can use it as soon as it goes online."""
    _check("login", login_problem(body.login))
    _check("password", password_problem(body.password, body.login))
    svc = _svc(request)
    now = wall_ms()
    login_norm = normalize_login(body.login)
    with svc.sessions.begin() as s:
        if account_by_login(s, login_norm) is not None:
            raise HTTPException(409, "login: already used by another account")
        if s.scalars(select(Account).where(Account.store == store,
                                           Account.agent == body.agent)).first():  # fmt: skip
            raise HTTPException(409, f"agent: {body.agent} already has an account")
        account = Account(store=store, agent=body.agent, login=login_norm, role=body.role,
                          enabled=True, failed=0, created_ms=now, updated_ms=now)  # fmt: skip
        set_password(account, body.password, now)
        s.add(account)
        _flush_unique(s)
        manage.set_token_roles(s, store, body.agent, body.role)
        manage.audit(s, store, p.agent or "", body.agent, "agent.create", None,
                     {"name": body.name, "role": body.role, "groups": body.groups,
                      "capacity": body.capacity, "enabled": True, "login": login_norm},
                     now)  # fmt: skip
    await _emit(svc, [_agent_event(store, body.agent, body.name, body.role, body.groups,
                                   body.capacity)])  # fmt: skip
    return manage.find_agent(svc, store, body.agent)


@store_router.patch("/staff/{agent}", summary="Change an agent (admin)", response_model=AgentOut,
                    responses={**AUTH, **CONFLICT, **INVALID})  # fmt: skip
async def patch_agent(
    store: str,
    agent: AgentPath,
    body: AgentPatch,
    request: Request,
    p: Principal = Depends(staff("admin")),
) -> Any:
    """Nickname, groups and capacity go to the engine as an `agent` event; disabling ends
    the agent's sessions and tokens and sets it offline (`agent.status`), so no new chat is
    routed to it. Role and enabled need a sign-in account. Audited with before and after."""
    svc = _svc(request)
    before = manage.find_agent(svc, store, agent)
    if before is None:
        raise HTTPException(404, "not found")
    now = wall_ms()
    changes = {k: v for k, v in body.model_dump().items() if v is not None}
    if not changes:
        raise HTTPException(422, "body: nothing to change (give name, groups, capacity, role "
                                 "or enabled)")  # fmt: skip
    events: list[dict[str, Any]] = []
    new_role = changes.get("role", before["role"])
    with svc.sessions.begin() as s:
        account = s.scalars(
            select(Account).where(Account.store == store, Account.agent == agent)
        ).first()
        if ("role" in changes or "enabled" in changes) and account is None:
            raise HTTPException(409, f"agent: {agent} has no sign-in account; invite it first")
        losing_admin = before["role"] == "admin" and (
            new_role != "admin" or changes.get("enabled") is False
        )
        if losing_admin and manage.other_admins(s, store, agent, now) == 0:
            raise HTTPException(409, "role: the store must keep at least one enabled admin")
        if account is not None:
            if "role" in changes:
                account.role = changes["role"]
                manage.set_token_roles(s, store, agent, changes["role"])
            if "enabled" in changes:
                account.enabled = changes["enabled"]
            account.updated_ms = now
        if changes.get("enabled") is False:
            revoke(s, store, agent)
            events.append({"type": "agent.status", "store": store, "agent": agent,
                           "status": "offline"})  # fmt: skip
        if {"name", "groups", "capacity", "role"} & changes.keys():
            events.insert(0, _agent_event(
                store, agent, changes.get("name", before["name"]), new_role,
                changes.get("groups", before["groups"]), changes.get("capacity")))  # fmt: skip
        after = {**before, **changes}
        b, a = _snap(before), _snap(after)
        assert b is not None and a is not None
        diff = [k for k in _FIELDS if b.get(k) != a.get(k)]
        action = "agent.update"
        if diff == ["enabled"]:
            action = "agent.enable" if a["enabled"] else "agent.disable"
        manage.audit(s, store, p.agent or "", agent, action, {k: b[k] for k in diff},
                     {k: a[k] for k in diff}, now)  # fmt: skip
    if events:
        await _emit(svc, events)
    return manage.find_agent(svc, store, agent)


@store_router.post("/staff/{agent}/password", summary="Reset an agent's password (admin)",
                   response_model=ResetOut, responses={**AUTH, **CONFLICT, **INVALID})  # fmt: skip
def reset_password(
    store: str,
    agent: AgentPath,
    body: ResetIn,
    request: Request,
    p: Principal = Depends(staff("admin")),
) -> Any:
    """Sets the given password, or a random temporary one returned once; unlocks the
    account and ends its web sessions (signed-in devices must sign in again)."""
    svc = _svc(request)
    now = wall_ms()
    generated = None
    with svc.sessions.begin() as s:
        account = s.scalars(
            select(Account).where(Account.store == store, Account.agent == agent)
        ).first()
        if account is None:
            if manage.find_agent(svc, store, agent) is None:
                raise HTTPException(404, "not found")
            raise HTTPException(409, f"agent: {agent} has no sign-in account; invite it first")
        password = body.password
        if password is None:
            password = generated = manage.temporary_password()
        _check("password", password_problem(password, account.login))
        was_locked = (account.locked_until_ms or 0) > now
        set_password(account, password, now)
        n = revoke(s, store, agent, kind="session")
        manage.audit(s, store, p.agent or "", agent, "password.reset",
                     {"locked": was_locked}, {"locked": False, "sessions_ended": n},
                     now)  # fmt: skip
    return ResetOut(agent=agent, password=generated, revoked=n)


@store_router.post("/invitations", summary="Invite an agent: a single-use link (admin)",
                   status_code=201, response_model=InvitationOut,
                   responses={**AUTH, **CONFLICT, **INVALID})  # fmt: skip
def invite(
    store: str, body: InviteIn, request: Request, p: Principal = Depends(staff("admin"))
) -> Any:
    """A link carrying the store, agent id, role, groups and capacity; it works once, until
    `expires_hours` pass. The code is shown only now (stored hashed)."""
    svc = _svc(request)
    now = wall_ms()
    with svc.sessions.begin() as s:
        if s.scalars(select(Account).where(Account.store == store,
                                           Account.agent == body.agent)).first():  # fmt: skip
            raise HTTPException(409, f"agent: {body.agent} already has an account")
        code, row = manage.new_invitation(
            s, store, body.agent, body.role, body.name, body.groups, body.capacity,
            p.agent or "", body.expires_hours * 3600 * 1000, now)  # fmt: skip
        out = manage.invitation_dict(row, now)
        manage.audit(s, store, p.agent or "", body.agent, "invitation.create", None,
                     {"name": body.name, "role": body.role, "groups": body.groups,
                      "capacity": body.capacity, "expires_ms": row.expires_ms}, now)  # fmt: skip
    base = str(request.base_url).rstrip("/")
    return InvitationOut(**out, code=code, url=f"{base}/app/invite?code={code}")


@store_router.get("/invitations", summary="Invitations, newest first (admin)",
                  response_model=InvitationPage, responses=AUTH)  # fmt: skip
def list_invitations(
    store: str,
    request: Request,
    p: Principal = Depends(staff("admin")),
    before: int | None = Query(None, ge=1, le=2**63 - 1, description="`next_before` of a page"),
    limit: int = Query(50, ge=1, le=200),
) -> Any:
    """Pending, used, revoked and expired invitations (never their codes)."""
    now = wall_ms()
    q = select(Invitation).where(Invitation.store == store)
    if before is not None:
        q = q.where(Invitation.seq < before)
    with _svc(request).sessions() as s:
        rows = s.scalars(q.order_by(Invitation.seq.desc()).limit(limit + 1)).all()
        items = [InvitationOut(**manage.invitation_dict(r, now)) for r in rows[:limit]]
    nxt = items[-1].id if len(rows) > limit else None
    return InvitationPage(items=items, next_before=nxt)


@store_router.delete("/invitations/{invitation}", summary="Revoke an invitation (admin)",
                     status_code=204, responses={**AUTH, **CONFLICT})  # fmt: skip
def revoke_invitation(
    store: str,
    invitation: Annotated[int, PathParam(ge=1, le=2**63 - 1)],
    request: Request,
    p: Principal = Depends(staff("admin")),
) -> Response:
    """The link stops working at once; a used invitation cannot be revoked (409)."""
    now = wall_ms()
    with _svc(request).sessions.begin() as s:
        row = s.get(Invitation, invitation)
        if row is None or row.store != store:
            raise HTTPException(404, "not found")
        state = manage.invitation_state(row, now)
        if state == "used":
            raise HTTPException(409, "invitation already used: disable the agent instead")
        if state == "pending":
            row.revoked_ms = now
            manage.audit(s, store, p.agent or "", row.agent, "invitation.revoke",
                         {"state": state}, {"state": "revoked"}, now)  # fmt: skip
    return Response(status_code=204)


@store_router.get("/audit", summary="Changes to agents and accounts, newest first (admin)",
                  response_model=AuditPage, responses=AUTH)  # fmt: skip
def list_audit(
    store: str,
    request: Request,
    p: Principal = Depends(staff("admin")),
    agent: str | None = Query(
        None, max_length=256, pattern=r"^[^\x00]*$", description="Only changes to this agent"
    ),
    before: int | None = Query(None, ge=1, le=2**63 - 1, description="`next_before` of a page"),
    limit: int = Query(50, ge=1, le=200),
) -> Any:
    """Who changed what and when, with the fields before and after."""
    with _svc(request).sessions() as s:
        rows = manage.audit_page(s, store, agent, before, limit + 1)
        items = [AuditOut(id=r.seq, actor=r.actor, agent=r.agent, action=r.action,
                          before=r.before, after=r.after, ts_ms=r.ts_ms)
                 for r in rows[:limit]]  # fmt: skip
    nxt = items[-1].id if len(rows) > limit else None
    return AuditPage(items=items, next_before=nxt)
