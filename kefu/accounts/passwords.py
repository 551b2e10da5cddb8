"""Password sign-in: argon2id hashes, lock-out after repeated failures, web sessions.

A password account (`accounts` row) belongs to one agent of one store and signs in with its
e-mail or phone (`login`, unique across the server, so the sign-in form needs no store).
Hashes are argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile); a hash made with
older parameters is upgraded at the next good sign-in.

Lock-out: `MAX_FAILURES` wrong passwords in a row lock the account for `LOCK_MS`; while it
is locked even the right password is refused (with the time it opens again), so guessing
costs at most 5 tries per 15 minutes per account. A good sign-in resets the count; an
admin's password reset unlocks at once.

A sign-in creates a session: an `api_tokens` row of kind `session` that expires after
`SESSION_MS`, sent to the browser as an HttpOnly, SameSite=Strict cookie. It resolves to the
same Principal as a bearer token, so every route and role check works unchanged.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.accounts.models import Account, ApiToken
from kefu.accounts.tokens import PREFIX, hash_token
from kefu.storage.repo import wall_ms

MAX_FAILURES = 5
LOCK_MS = 15 * 60 * 1000
SESSION_MS = 7 * 24 * 3600 * 1000
MIN_PASSWORD = 8
MAX_PASSWORD = 256
COOKIE = "kefu_session"

_hasher = PasswordHasher()
# Verified when the login is unknown, so a wrong login takes as long as a wrong password.
_DUMMY = _hasher.hash(secrets.token_hex(16))

_EMAIL = re.compile(r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{5,19}$")


class SignInError(Exception):
    """A refused sign-in: HTTP status and a reason the user can act on."""

    def __init__(self, status: int, reason: str, locked_until_ms: int | None = None,
                 remaining: int | None = None) -> None:  # fmt: skip
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.locked_until_ms = locked_until_ms
        self.remaining = remaining  # failed tries left before the lock (wrong password)


@dataclass(frozen=True)
class SignedIn:
    """A good sign-in: the session token (the cookie's value) and who it is."""

    token: str
    store: str
    agent: str
    role: str
    expires_ms: int


def hash_password(password: str) -> str:
    """The argon2id hash of a password (with its own random salt)."""
    return _hasher.hash(password)


def normalize_login(login: str) -> str:
    """An e-mail in lower case, a phone number without spaces or dashes."""
    text = login.strip()
    if "@" in text:
        return text.lower()
    return re.sub(r"[\s\-]", "", text)


def login_problem(login: str) -> str | None:
    """Why `login` is not an e-mail address or a phone number, or None when it is one."""
    text = login.strip()
    if _EMAIL.match(text) or _PHONE.match(text):
        return None
    return "must be an e-mail address (name@example.com) or a phone number (digits, optional +)"


def password_problem(password: str, login: str = "") -> str | None:
    """Why a new password is refused, or None: 8 to 256 characters, not the login itself."""
    if len(password) < MIN_PASSWORD:
        return f"must be at least {MIN_PASSWORD} characters"
    if len(password) > MAX_PASSWORD:
        return f"must be at most {MAX_PASSWORD} characters"
    if login and password.strip().lower() == normalize_login(login).lower():
        return "must not be the same as the e-mail or phone"
    return None


def set_password(account: Account, password: str, now: int | None = None) -> None:
    """Store a new hash and clear the lock-out."""
    account.password_hash = hash_password(password)
    account.failed = 0
    account.locked_until_ms = None
    account.updated_ms = wall_ms() if now is None else now


def account_by_login(session: Session, login: str) -> Account | None:
    """The account signing in with this e-mail or phone, if any."""
    return session.scalars(select(Account).where(Account.login == normalize_login(login))).first()


def _minutes(ms: int) -> int:
    return max(1, -(-ms // 60_000))


def sign_in(session: Session, login: str, password: str, now: int | None = None) -> SignedIn:
    """Check a password and open a session; raises SignInError (401 wrong, 423 locked, 403
    disabled). Failures are counted in the same transaction, so commit even on error."""
    now = wall_ms() if now is None else now
    account = account_by_login(session, login)
    if account is None or not account.password_hash:
        _verify(_DUMMY, password)
        raise SignInError(401, "wrong e-mail/phone or password")
    if account.locked_until_ms is not None and account.locked_until_ms > now:
        left = _minutes(account.locked_until_ms - now)
        raise SignInError(
            423,
            f"account locked after {MAX_FAILURES} failed sign-ins; try again in {left} min "
            "or ask an admin to reset the password",
            account.locked_until_ms,
        )
    if account.locked_until_ms is not None:  # the lock ran out: a fresh count
        account.locked_until_ms = None
        account.failed = 0
    if not _verify(account.password_hash, password):
        account.failed += 1
        account.updated_ms = now
        if account.failed >= MAX_FAILURES:
            account.locked_until_ms = now + LOCK_MS
            raise SignInError(
                423,
                f"account locked after {MAX_FAILURES} failed sign-ins; try again in "
                f"{_minutes(LOCK_MS)} min or ask an admin to reset the password",
                account.locked_until_ms,
            )
        left = MAX_FAILURES - account.failed
        raise SignInError(
            401,
            f"wrong e-mail/phone or password; {left} more failed tries lock the account",
            remaining=left,
        )
    if not account.enabled:
        raise SignInError(403, "account disabled; ask an admin of the store to enable it")
    account.failed = 0
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    token = create_session(session, account.store, account.agent, account.role, now)
    return SignedIn(token, account.store, account.agent, account.role, now + SESSION_MS)


def check_password(account: Account, password: str) -> bool:
    """True when `password` is the account's (for a change of one's own password)."""
    return bool(account.password_hash) and _verify(account.password_hash, password)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def create_session(session: Session, store: str, agent: str, role: str, now: int) -> str:
    """A new web session (an `api_tokens` row of kind `session`); returns its token."""
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            store=store,
            agent=agent,
            role=role,
            token_hash=hash_token(token),
            label="web sign-in",
            created_ms=now,
            kind="session",
            expires_ms=now + SESSION_MS,
        )
    )
    session.flush()
    return token


def end_session(session: Session, token: str) -> bool:
    """Revoke one session (sign-out); True when it was live."""
    row = session.scalars(
        select(ApiToken).where(
            ApiToken.token_hash == hash_token(token),
            ApiToken.kind == "session",
            ApiToken.revoked_ms.is_(None),
        )
    ).first()
    if row is None:
        return False
    row.revoked_ms = wall_ms()
    return True


def live_sessions(session: Session, store: str, agent: str, now: int | None = None) -> int:
    """How many unexpired, unrevoked web sessions an agent has."""
    now = wall_ms() if now is None else now
    return int(
        session.scalar(
            select(func.count()).where(
                ApiToken.store == store,
                ApiToken.agent == agent,
                ApiToken.kind == "session",
                ApiToken.revoked_ms.is_(None),
                ApiToken.expires_ms > now,
            )
        )
        or 0
    )
