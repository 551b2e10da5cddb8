"""API tokens for staff and signed widget tokens for buyers.

Staff tokens are random (`kefu_` + 32 bytes, URL-safe), shown once at creation and stored
only as their SHA-256: a database leak does not leak usable tokens, and lookup stays one
indexed equality. A token carries (store, agent, role); every endpoint resolves it and scopes
its queries to that store.

Buyer tokens need no table: `b1.<store+buyer, base64url>.<HMAC-SHA256>` signed with the
server secret ($KEFU_SECRET, else a random secret generated once in `./var/secret`). A buyer
token opens only that buyer's own conversations in that store.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kefu.accounts.models import ApiToken
from kefu.storage import models
from kefu.storage.repo import insert_for, wall_ms

ROLES = ("agent", "supervisor", "admin")
RANK = {"agent": 0, "supervisor": 1, "admin": 2}
PREFIX = "kefu_"
BUYER_PREFIX = "b1."
SECRET_FILE = Path("var/secret")


@dataclass(frozen=True)
class Principal:
    """Who calls: a staff member (agent/supervisor/admin) or a buyer, always of one store."""

    store: str
    role: str  # agent, supervisor, admin, or buyer
    agent: str | None = None
    buyer: str | None = None

    @property
    def is_buyer(self) -> bool:
        """True for a buyer widget token."""
        return self.role == "buyer"

    def at_least(self, role: str) -> bool:
        """Staff role at least `role` (admin > supervisor > agent); buyers never."""
        return not self.is_buyer and RANK[self.role] >= RANK[role]


def hash_token(token: str) -> str:
    """SHA-256 hex of a token: what the table keeps."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session: Session, store: str, agent: str, role: str, label: str = "") -> str:
    """Create a staff token (and the store row if new); returns the token, shown only once."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not store or not agent:
        raise ValueError("store and agent must not be empty")
    token = PREFIX + secrets.token_urlsafe(32)
    now = wall_ms()
    stmt = insert_for(session, models.Store.__table__).on_conflict_do_nothing(index_elements=["id"])
    session.execute(stmt, [{"id": store, "name": store, "created_ms": now}])
    session.add(
        ApiToken(
            store=store,
            agent=agent,
            role=role,
            token_hash=hash_token(token),
            label=label,
            created_ms=now,
        )
    )
    session.flush()
    return token


def resolve(session: Session, token: str) -> Principal | None:
    """The principal of a staff token or a buyer token; None when unknown, revoked or forged."""
    if token.startswith(BUYER_PREFIX):
        found = verify_buyer_token(token)
        return None if found is None else Principal(store=found[0], role="buyer", buyer=found[1])
    if not token.startswith(PREFIX):
        return None
    now = wall_ms()
    row = session.execute(
        select(ApiToken.store, ApiToken.agent, ApiToken.role).where(
            ApiToken.token_hash == hash_token(token),
            ApiToken.revoked_ms.is_(None),
            or_(ApiToken.expires_ms.is_(None), ApiToken.expires_ms > now),
        )
    ).first()
    return None if row is None else Principal(store=row[0], role=row[2], agent=row[1])


def revoke(session: Session, store: str, agent: str, kind: str | None = None) -> int:
    """Revoke every live token of an agent (only of `kind` when given); returns how many."""
    q = select(ApiToken).where(
        ApiToken.store == store, ApiToken.agent == agent, ApiToken.revoked_ms.is_(None)
    )
    if kind is not None:
        q = q.where(ApiToken.kind == kind)
    rows = session.scalars(q).all()
    now = wall_ms()
    for r in rows:
        r.revoked_ms = now
    return len(rows)


# -- buyer tokens ----------------------------------------------------------------------------

_SECRET: bytes | None = None


def server_secret() -> bytes:
    """$KEFU_SECRET, else `./var/secret` (created with 32 random bytes on first use)."""
    global _SECRET
    env = os.environ.get("KEFU_SECRET")
    if env:
        return env.encode("utf-8")
    if _SECRET is None:
        if SECRET_FILE.exists():
            _SECRET = SECRET_FILE.read_bytes().strip()
        else:
            SECRET_FILE.parent.mkdir(parents=True, exist_ok=True)
            value = secrets.token_hex(32).encode("ascii")
            fd = os.open(SECRET_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(value)
            _SECRET = value
    return _SECRET


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(body: str) -> str:
    return hmac.new(server_secret(), body.encode("ascii"), hashlib.sha256).hexdigest()


def buyer_token(store: str, buyer: str) -> str:
    """A widget token for `buyer` of `store` (HMAC-signed; no expiry, rotate the secret)."""
    body = _b64(json.dumps([store, buyer], ensure_ascii=False).encode("utf-8"))
    return f"{BUYER_PREFIX}{body}.{_sign(body)}"


def verify_buyer_token(token: str) -> tuple[str, str] | None:
    """(store, buyer) of a genuine buyer token, else None (constant-time comparison)."""
    try:
        _, body, sig = token.split(".")
    except ValueError:
        return None
    if not hmac.compare_digest(sig, _sign(body)):
        return None
    try:
        store, buyer = json.loads(_unb64(body))
    except (ValueError, TypeError):
        return None
    if not isinstance(store, str) or not isinstance(buyer, str):
        return None
    return store, buyer
