"""Webhook delivery in the database: fill the queue from the outbox, claim, sign, record.

The database is the queue. `fill` moves outbox actions (`actions.delivered_ms` null) into one
`webhook_deliveries` row per subscribed endpoint and stamps the action as handed over, in one
transaction. `claim` leases due rows: on PostgreSQL the candidates are locked `FOR UPDATE
SKIP LOCKED` so concurrent workers of several processes take disjoint rows, and on both
databases the lease is a compare-and-set (`WHERE` still due), so no two workers hold a row at
once. A lease expires: the rows of a killed process become due again (at-least-once; receivers
dedup on `X-Kefu-Idempotency-Key`). `finish` logs the attempt and moves the row to delivered,
back to pending with an exponential back-off with jitter, or to dead after `max_attempts`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from kefu.storage import models, repo
from kefu.webhooks.models import (
    ChannelBuyer,
    ChannelCursor,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

SIGNATURE_HEADER = "X-Kefu-Signature"
TIMESTAMP_HEADER = "X-Kefu-Timestamp"
KEY_HEADER = "X-Kefu-Idempotency-Key"
# Events whose `channel` says which channel a buyer writes from.
CHANNEL_EVENTS = ("message", "buyer")


@dataclass(frozen=True)
class Config:
    """Tunables of the delivery worker (environment `KEFU_WEBHOOK_*`, see docs/webhooks.md)."""

    poll_s: float = 1.0
    batch: int = 32
    fill_batch: int = 2000
    timeout_s: float = 10.0
    max_attempts: int = 8
    backoff_base_ms: int = 2_000
    backoff_cap_ms: int = 3_600_000
    lease_ms: int = 60_000
    concurrency: int = 16
    retention_days: float = 30.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Config:
        """Defaults overridden by `KEFU_WEBHOOK_POLL_S`, `…_TIMEOUT_S`, `…_MAX_ATTEMPTS`,
        `…_BACKOFF_BASE_MS`, `…_BACKOFF_CAP_MS`, `…_LEASE_MS`, `…_BATCH`, `…_CONCURRENCY`,
        `…_RETENTION_DAYS`."""
        e = os.environ if env is None else env
        kw: dict[str, Any] = {}
        for name, kind in (("poll_s", float), ("batch", int), ("fill_batch", int),
                           ("timeout_s", float), ("max_attempts", int),
                           ("backoff_base_ms", int), ("backoff_cap_ms", int),
                           ("lease_ms", int), ("concurrency", int),
                           ("retention_days", float)):  # fmt: skip
            raw = e.get(f"KEFU_WEBHOOK_{name.upper()}")
            if raw:
                kw[name] = kind(raw)
        return cls(**kw)

    @property
    def lease(self) -> int:
        """Lease of a claim: at least twice what a batch of time-outs can take (the batch is
        sent `concurrency` at a time and recorded when the last answer is in)."""
        waves = -(-self.batch // max(self.concurrency, 1))
        return max(self.lease_ms, (waves + 1) * int(self.timeout_s * 1000) * 2)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """`v1=` + hex HMAC-SHA256 of `"{timestamp}." + body` under the endpoint's secret."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now_s: int | None = None,
    tolerance_s: int = 300,
) -> bool:
    """A receiver's check: the signature matches and the timestamp is within `tolerance_s`
    (a replayed old request fails). Constant-time comparison."""
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    ts = int(timestamp)
    now = int(time.time()) if now_s is None else now_s
    if abs(now - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)


def backoff_ms(
    failures: int, base_ms: int, cap_ms: int, rand: Callable[[], float] = random.random
) -> int:
    """Delay after the `failures`-th failed attempt: equal jitter over an exponential ceiling.

    The ceiling is `base · 2^(failures-1)` capped at `cap`; the delay lies in
    [ceiling/2, ceiling], so retries spread out (no thundering herd) yet never come sooner
    than half the schedule.
    """
    ceiling = min(cap_ms, base_ms * 2 ** min(max(failures - 1, 0), 40))
    half = ceiling // 2
    return half + int(rand() * (ceiling - half))


def new_secret() -> str:
    """A random signing secret (`whsec_` + 32 url-safe bytes)."""
    import secrets

    return "whsec_" + secrets.token_urlsafe(32)


# -- fill: outbox → deliveries ---------------------------------------------------------------


def _scan_channels(s: Session, store: str, upto: int) -> None:
    """Record the channel of each buyer from the store's events up to seq `upto`.

    Events of one store are appended under the store's lock, so every seq up to an action's
    `after_seq` is committed when the action is: a cursor per store misses none.
    """
    cur = s.get(ChannelCursor, store)
    start = cur.event_seq if cur is not None else 0
    if upto <= start:
        return
    e = models.Event
    q = (
        select(e.seq, e.payload)
        .where(e.store == store, e.seq > start, e.seq <= upto, e.type.in_(CHANNEL_EVENTS))
        .where(e.payload.contains('"channel"'))
        .order_by(e.seq)
    )
    latest: dict[str, tuple[str, int]] = {}
    for seq, payload in s.execute(q):
        try:
            doc = json.loads(payload)
        except ValueError:
            continue
        buyer, channel = doc.get("buyer"), doc.get("channel")
        if isinstance(buyer, str) and isinstance(channel, str) and channel:
            latest[buyer] = (channel[:64], seq)
    if latest:
        stmt = repo.insert_for(s, ChannelBuyer.__table__)
        stmt = stmt.on_conflict_do_update(
            index_elements=["store", "buyer"],
            set_={"channel": stmt.excluded.channel, "event_seq": stmt.excluded.event_seq},
            where=stmt.excluded.event_seq > ChannelBuyer.__table__.c.event_seq,
        )
        s.execute(stmt, [{"store": store, "buyer": b, "channel": c, "event_seq": q_}
                         for b, (c, q_) in sorted(latest.items())])  # fmt: skip
    stmt = repo.insert_for(s, ChannelCursor.__table__)
    stmt = stmt.on_conflict_do_update(
        index_elements=["store"],
        set_={"event_seq": stmt.excluded.event_seq},
        where=stmt.excluded.event_seq > ChannelCursor.__table__.c.event_seq,
    )
    s.execute(stmt, [{"store": store, "event_seq": upto}])


def buyer_channels(s: Session, store: str, buyers: Sequence[str]) -> dict[str, str]:
    """The recorded channel of each of `buyers` that has one."""
    if not buyers:
        return {}
    c = ChannelBuyer
    rows = s.execute(select(c.buyer, c.channel).where(c.store == store, c.buyer.in_(buyers)))
    return {b: ch for b, ch in rows}


def fill(sessions: sessionmaker[Session], limit: int = 500, now_ms: int | None = None) -> int:
    """Hand up to `limit` outbox actions to the endpoints subscribed to them; how many.

    An action is stamped `delivered_ms` (handed over) whether or not an endpoint wants it, so
    the outbox index only holds what is still to fan out. Deliveries are unique per (endpoint,
    action): filling twice cannot send twice. An endpoint receives the actions made from its
    creation on (no history); while no store has an enabled endpoint the outbox is left alone
    (no write competes with the engine).
    """
    now = repo.wall_ms() if now_ms is None else now_ms
    ep = WebhookEndpoint
    with sessions.begin() as s:
        if s.scalar(select(ep.id).where(ep.enabled.is_(True)).limit(1)) is None:
            return 0
        claimed = repo.undelivered_actions(s, limit)
        if not claimed:
            return 0
        stores = sorted({a.store for a in claimed})
        endpoints: dict[str, list[WebhookEndpoint]] = defaultdict(list)
        for row in s.scalars(select(ep).where(ep.store.in_(stores), ep.enabled.is_(True))):
            endpoints[row.store].append(row)
        values: list[dict[str, Any]] = []
        for store in stores:
            if not endpoints.get(store):
                continue
            mine = [a for a in claimed if a.store == store]
            upto = max((a.after_seq or 0) for a in mine)
            _scan_channels(s, store, upto)
            buyer_of = {a.seq: _buyer(a.payload) for a in mine}
            channels = buyer_channels(s, store, sorted({b for b in buyer_of.values() if b}))
            for a in mine:
                buyer = buyer_of[a.seq]
                channel = channels.get(buyer) if buyer else None
                for e in endpoints[store]:
                    if a.created_ms < e.created_ms or (e.types and a.type not in e.types):
                        continue
                    if e.channels and channel not in e.channels:
                        continue
                    values.append({
                        "store": store, "endpoint": e.id, "action_seq": a.seq,
                        "action_key": a.key, "action_type": a.type, "channel": channel,
                        "state": "pending", "attempts": 0, "next_attempt_ms": now,
                        "created_ms": now,
                    })  # fmt: skip
        if values:
            stmt = repo.insert_for(s, WebhookDelivery.__table__).on_conflict_do_nothing(
                index_elements=["endpoint", "action_seq"]
            )
            s.execute(stmt, values)
        repo.mark_delivered(s, [a.seq for a in claimed], now)
        return len(claimed)


def _buyer(payload: str) -> str | None:
    try:
        doc = json.loads(payload)
    except ValueError:
        return None
    buyer = doc.get("buyer") if isinstance(doc, dict) else None
    return buyer if isinstance(buyer, str) else None


# -- claim, send, finish ---------------------------------------------------------------------


@dataclass
class Claimed:
    """A leased delivery with what is needed to send it."""

    id: int
    store: str
    endpoint: int
    url: str
    secret: str
    key: str
    type: str
    channel: str | None
    attempt: int
    token: str
    body: bytes


def body_of(store: str, key: str, type_: str, channel: str | None, payload: str) -> bytes:
    """The request body: the same bytes on every attempt of one delivery."""
    try:
        action = json.loads(payload)
    except ValueError:
        action = {}
    doc = {"id": key, "store": store, "type": type_, "channel": channel, "action": action}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def _due(now: int) -> Any:
    d = WebhookDelivery
    return or_(
        and_(d.state == "pending", d.next_attempt_ms <= now),
        and_(d.state == "delivering", d.lease_until_ms < now),
    )


def claim(
    sessions: sessionmaker[Session], owner: str, cfg: Config, now_ms: int | None = None
) -> list[Claimed]:
    """Lease up to `cfg.batch` due deliveries of enabled endpoints to `owner`."""
    now = repo.wall_ms() if now_ms is None else now_ms
    d, ep, a = WebhookDelivery, WebhookEndpoint, models.Action
    token = f"{owner[:40]}:{uuid.uuid4().hex[:16]}"
    with sessions.begin() as s:
        q = (
            select(d.id)
            .join(ep, ep.id == d.endpoint)
            .where(_due(now), ep.enabled.is_(True))
            .order_by(d.next_attempt_ms, d.id)
            .limit(cfg.batch)
        )
        if s.get_bind().dialect.name == "postgresql":
            q = q.with_for_update(of=d, skip_locked=True)
        ids = list(s.scalars(q))
        if not ids:
            return []
        s.execute(
            update(d)
            .where(d.id.in_(ids), _due(now))  # compare-and-set: still due when we write
            .values(
                state="delivering",
                lease_owner=token,
                lease_until_ms=now + cfg.lease,
                attempts=d.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        rows = s.execute(
            select(d, ep.url, ep.secret, a.payload)
            .join(ep, ep.id == d.endpoint)
            .join(a, a.seq == d.action_seq)
            .where(d.lease_owner == token)
            .order_by(d.id)
        ).all()
    return [
        Claimed(id=r[0].id, store=r[0].store, endpoint=r[0].endpoint, url=r[1], secret=r[2],
                key=r[0].action_key, type=r[0].action_type, channel=r[0].channel,
                attempt=r[0].attempts, token=token,
                body=body_of(r[0].store, r[0].action_key, r[0].action_type, r[0].channel, r[3]))
        for r in rows
    ]  # fmt: skip


@dataclass
class Outcome:
    """What one HTTP attempt gave."""

    started_ms: int
    latency_ms: int
    status: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return self.status is not None and 200 <= self.status < 300


def headers(c: Claimed, timestamp: int) -> dict[str, str]:
    """The request headers of a delivery attempt."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "kefu-webhooks/1",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(c.secret, timestamp, c.body),
        KEY_HEADER: c.key,
        "X-Kefu-Store": c.store,
        "X-Kefu-Action": c.type,
        "X-Kefu-Delivery": str(c.id),
        "X-Kefu-Attempt": str(c.attempt),
    }


def finish(
    sessions: sessionmaker[Session],
    c: Claimed,
    out: Outcome,
    cfg: Config,
    now_ms: int | None = None,
    rand: Callable[[], float] = random.random,
) -> str:
    """`finish_many` of one delivery; the state it is left in."""
    return finish_many(sessions, [(c, out)], cfg, now_ms, rand)[0]


def finish_many(
    sessions: sessionmaker[Session],
    results: Sequence[tuple[Claimed, Outcome]],
    cfg: Config,
    now_ms: int | None = None,
    rand: Callable[[], float] = random.random,
) -> list[str]:
    """Log the attempts and move each delivery on, in one transaction; the states.

    One transaction per batch, not per delivery: on SQLite concurrent writers would queue on
    the database lock. Only the holder of the lease moves a row: a worker whose lease expired
    (and was taken over) still logs its attempt but leaves the row to the new holder.
    """
    now = repo.wall_ms() if now_ms is None else now_ms
    d = WebhookDelivery
    states: list[str] = []
    with sessions.begin() as s:
        for c, out in results:
            if out.ok:
                state, values = "delivered", {"delivered_ms": now}
            elif c.attempt >= cfg.max_attempts:
                state, values = "dead", {}
            else:
                delay = backoff_ms(c.attempt, cfg.backoff_base_ms, cfg.backoff_cap_ms, rand)
                state, values = "pending", {"next_attempt_ms": now + delay}
            states.append(state)
            error = out.error[:2000] if out.error else None
            s.add(WebhookAttempt(store=c.store, endpoint=c.endpoint, delivery=c.id,
                                 action_key=c.key, action_type=c.type, attempt=c.attempt,
                                 started_ms=out.started_ms, latency_ms=out.latency_ms,
                                 status_code=out.status, ok=out.ok, error=error,
                                 worker=c.token.rsplit(":", 1)[0]))  # fmt: skip
            s.execute(
                update(d)
                .where(d.id == c.id, d.lease_owner == c.token)
                .values(
                    state=state,
                    lease_owner=None,
                    lease_until_ms=None,
                    last_status=out.status,
                    last_error=error,
                    **values,
                )
                .execution_options(synchronize_session=False)
            )
    return states


def redeliver(s: Session, store: str, ids: Sequence[int], now_ms: int | None = None) -> int:
    """Queue delivered or dead deliveries again, with a fresh set of attempts; how many."""
    now = repo.wall_ms() if now_ms is None else now_ms
    d = WebhookDelivery
    if not ids:
        return 0
    res = s.execute(
        update(d)
        .where(d.store == store, d.id.in_(list(ids)), d.state.in_(("dead", "delivered")))
        .values(
            state="pending", attempts=0, next_attempt_ms=now, lease_owner=None, lease_until_ms=None
        )
        .execution_options(synchronize_session=False)
    )
    return int(res.rowcount or 0)  # type: ignore[attr-defined]


def prune(sessions: sessionmaker[Session], older_than_ms: int) -> int:
    """Drop the log's attempts and the delivered rows older than `older_than_ms`; dead ones
    stay until redelivered or their endpoint is deleted. How many rows went."""
    d, t = WebhookDelivery, WebhookAttempt
    with sessions.begin() as s:
        n = s.execute(delete(t).where(t.started_ms < older_than_ms)).rowcount or 0  # type: ignore[attr-defined]
        n += (
            s.execute(  # type: ignore[attr-defined]
                delete(d).where(d.state == "delivered", d.delivered_ms < older_than_ms)
            ).rowcount
            or 0
        )
    return int(n)


def monotonic_ms() -> int:
    """A monotonic clock for latencies."""
    return time.monotonic_ns() // 1_000_000
