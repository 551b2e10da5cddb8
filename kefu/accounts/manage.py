"""Agent management: the merged view of engine agents and accounts, invitations, the audit.

The engine owns an agent's name, groups, capacity and status (changed only by `agent` and
`agent.status` events, so routing follows at once); the `accounts` row owns the sign-in, the
account's role and whether it is enabled. An admin's change is therefore two things: the
events the engine needs and the account row, and one `account_audit` entry with the fields
before and after.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kefu.accounts.models import Account, ApiToken, AuditEntry, Invitation
from kefu.accounts.tokens import hash_token
from kefu.storage.repo import wall_ms

INVITE_PREFIX = "inv_"


def engine_role(role: str) -> str:
    """The engine's role of an account role: admins and supervisors supervise."""
    return "agent" if role == "agent" else "supervisor"


def engine_agents(service: Any, store: str) -> dict[str, dict[str, Any]]:
    """What the engine knows of each agent of a store: name, groups, capacity, status, load."""
    with service.state_of(store) as st:
        agents = dict(st.agents) if st is not None else {}
        return {
            a.agent: {
                "name": a.name,
                "engine_role": a.role,
                "groups": list(a.groups),
                "capacity": a.capacity,
                "status": a.status,
                "open": a.open,
            }
            for a in agents.values()
        }


def accounts_of(session: Session, store: str) -> dict[str, Account]:
    """The store's password accounts by agent id."""
    rows = session.scalars(select(Account).where(Account.store == store)).all()
    return {a.agent: a for a in rows}


def token_roles(session: Session, store: str, now: int) -> dict[str, str]:
    """The role of each agent's live API tokens (agents made by `kefu token create`)."""
    rows = session.execute(
        select(ApiToken.agent, ApiToken.role).where(
            ApiToken.store == store,
            ApiToken.revoked_ms.is_(None),
            (ApiToken.expires_ms.is_(None)) | (ApiToken.expires_ms > now),
        )
    ).all()
    return {agent: role for agent, role in rows}


def agent_item(
    agent: str,
    eng: dict[str, Any] | None,
    account: Account | None,
    token_role: str | None,
    now: int,
) -> dict[str, Any]:
    """One row of the Agents page."""
    eng = eng or {}
    locked = account is not None and (account.locked_until_ms or 0) > now
    role = account.role if account is not None else token_role
    if role is None:
        role = "agent" if eng.get("engine_role", "agent") == "agent" else "supervisor"
    return {
        "agent": agent,
        "name": eng.get("name") or "",
        "role": role,
        "groups": eng.get("groups") or [],
        "capacity": eng.get("capacity"),
        "status": eng.get("status") or "offline",
        "open": eng.get("open") or 0,
        "enabled": account.enabled if account is not None else True,
        "login": account.login if account is not None else None,
        "has_account": account is not None,
        "locked_until_ms": account.locked_until_ms if locked and account is not None else None,
    }


def list_agents(service: Any, store: str) -> list[dict[str, Any]]:
    """Every agent of the store the engine or the accounts know, by agent id."""
    now = wall_ms()
    engine = engine_agents(service, store)
    with service.sessions() as s:
        accounts = accounts_of(s, store)
        roles = token_roles(s, store, now)
    ids = sorted(set(engine) | set(accounts))
    return [agent_item(a, engine.get(a), accounts.get(a), roles.get(a), now) for a in ids]


def find_agent(service: Any, store: str, agent: str) -> dict[str, Any] | None:
    """One agent's row, or None when neither the engine nor the accounts know it."""
    now = wall_ms()
    eng = engine_agents(service, store).get(agent)
    with service.sessions() as s:
        account = s.scalars(
            select(Account).where(Account.store == store, Account.agent == agent)
        ).first()
        role = token_roles(s, store, now).get(agent)
    if eng is None and account is None:
        return None
    return agent_item(agent, eng, account, role, now)


def audit(
    session: Session,
    store: str,
    actor: str,
    agent: str,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    now: int | None = None,
) -> None:
    """Record one change: who (`actor`), to whom, what, before and after."""
    session.add(
        AuditEntry(
            store=store,
            actor=actor,
            agent=agent,
            action=action,
            before=before,
            after=after,
            ts_ms=wall_ms() if now is None else now,
        )
    )


def audit_page(
    session: Session, store: str, agent: str | None, before_seq: int | None, limit: int
) -> list[AuditEntry]:
    """The newest audit entries first, below `before_seq` when paging."""
    q = select(AuditEntry).where(AuditEntry.store == store)
    if agent:
        q = q.where(AuditEntry.agent == agent)
    if before_seq is not None:
        q = q.where(AuditEntry.seq < before_seq)
    return list(session.scalars(q.order_by(AuditEntry.seq.desc()).limit(limit)).all())


def set_token_roles(session: Session, store: str, agent: str, role: str) -> None:
    """A role change applies to the agent's live tokens and sessions at once."""
    session.execute(
        update(ApiToken)
        .where(ApiToken.store == store, ApiToken.agent == agent, ApiToken.revoked_ms.is_(None))
        .values(role=role)
    )


def other_admins(session: Session, store: str, agent: str, now: int) -> int:
    """Enabled admin accounts and live admin API tokens of the store other than `agent`."""
    accounts = session.scalar(
        select(func.count()).where(
            Account.store == store,
            Account.agent != agent,
            Account.role == "admin",
            Account.enabled.is_(True),
        )
    )
    tokens = session.scalar(
        select(func.count()).where(
            ApiToken.store == store,
            ApiToken.agent != agent,
            ApiToken.role == "admin",
            ApiToken.kind == "api",
            ApiToken.revoked_ms.is_(None),
        )
    )
    return int(accounts or 0) + int(tokens or 0)


# -- invitations ------------------------------------------------------------------------------


def new_invitation(
    session: Session,
    store: str,
    agent: str,
    role: str,
    name: str,
    groups: list[str],
    capacity: int | None,
    created_by: str,
    ttl_ms: int,
    now: int | None = None,
) -> tuple[str, Invitation]:
    """A single-use invitation; returns its code (shown once, stored hashed) and the row."""
    now = wall_ms() if now is None else now
    code = INVITE_PREFIX + secrets.token_urlsafe(24)
    row = Invitation(
        store=store,
        agent=agent,
        role=role,
        name=name,
        groups=list(groups),
        capacity=capacity,
        code_hash=hash_token(code),
        created_by=created_by,
        created_ms=now,
        expires_ms=now + ttl_ms,
    )
    session.add(row)
    session.flush()
    return code, row


def invitation_state(row: Invitation, now: int) -> str:
    """pending, used, revoked or expired."""
    if row.used_ms is not None:
        return "used"
    if row.revoked_ms is not None:
        return "revoked"
    if row.expires_ms <= now:
        return "expired"
    return "pending"


def invitation_by_code(session: Session, code: str) -> Invitation | None:
    """The invitation of a code, whatever its state."""
    if not code.startswith(INVITE_PREFIX):
        return None
    return session.scalars(
        select(Invitation).where(Invitation.code_hash == hash_token(code))
    ).first()


def claim_invitation(session: Session, row: Invitation, now: int) -> bool:
    """Mark the invitation used if still pending; False when another request got it first."""
    res = session.execute(
        update(Invitation)
        .where(
            Invitation.seq == row.seq,
            Invitation.used_ms.is_(None),
            Invitation.revoked_ms.is_(None),
            Invitation.expires_ms > now,
        )
        .values(used_ms=now)
    )
    return bool(getattr(res, "rowcount", 0) == 1)


def invitation_dict(row: Invitation, now: int) -> dict[str, Any]:
    """An invitation as the API shows it (never the code)."""
    return {
        "id": row.seq,
        "agent": row.agent,
        "name": row.name,
        "role": row.role,
        "groups": list(row.groups or []),
        "capacity": row.capacity,
        "created_by": row.created_by,
        "created_ms": row.created_ms,
        "expires_ms": row.expires_ms,
        "used_ms": row.used_ms,
        "state": invitation_state(row, now),
    }


def temporary_password() -> str:
    """A random 14-character password an admin hands over after a reset."""
    return secrets.token_urlsafe(10)


def create_admin(session: Session, store: str, agent: str, login: str, password: str) -> Account:
    """The first admin of a (possibly new) store, for `kefu account create-admin`.

    Raises ValueError with `field: reason` for a bad login or password, or one in use.
    """
    from kefu.accounts.passwords import (
        account_by_login,
        login_problem,
        normalize_login,
        password_problem,
        set_password,
    )
    from kefu.storage import models
    from kefu.storage.repo import insert_for

    for field, problem in (("login", login_problem(login)),
                           ("password", password_problem(password, login))):  # fmt: skip
        if problem:
            raise ValueError(f"{field}: {problem}")
    if not store or not agent:
        raise ValueError("store and agent must not be empty")
    if account_by_login(session, login) is not None:
        raise ValueError("login: already used by another account")
    if session.scalars(
        select(Account).where(Account.store == store, Account.agent == agent)
    ).first():
        raise ValueError(f"agent: {agent} already has an account")
    now = wall_ms()
    stmt = insert_for(session, models.Store.__table__).on_conflict_do_nothing(index_elements=["id"])
    session.execute(stmt, [{"id": store, "name": store, "created_ms": now}])
    account = Account(store=store, agent=agent, login=normalize_login(login), role="admin",
                      enabled=True, failed=0, created_ms=now, updated_ms=now)  # fmt: skip
    set_password(account, password, now)
    session.add(account)
    set_token_roles(session, store, agent, "admin")
    audit(session, store, "cli", agent, "agent.create", None,
          {"role": "admin", "enabled": True, "login": account.login}, now)  # fmt: skip
    session.flush()
    return account
