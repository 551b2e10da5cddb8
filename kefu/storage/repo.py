"""The engine's storage operations. None commits: the caller owns the one transaction.

Inserts that must be idempotent (events by `id`, actions by idempotency key) use
`INSERT … ON CONFLICT DO NOTHING RETURNING` on both SQLite and PostgreSQL, so two processes
racing on the same row cannot both win.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from kefu.storage import models


class EventRow(msgspec.Struct, kw_only=True):
    """An event to append to a store's log."""

    store: str
    event_id: str | None
    ts_ms: int
    type: str
    payload: str


class ActionRow(msgspec.Struct, kw_only=True):
    """An action for the outbox."""

    store: str
    key: str
    ts_ms: int
    type: str
    payload: str


class TimerRow(msgspec.Struct, kw_only=True):
    """A pending timer as stored."""

    store: str
    key: str
    due_ms: int
    kind: str
    payload: str


def now_ms() -> int:
    """Wall-clock epoch milliseconds (storage bookkeeping only, never rule time)."""
    return time.time_ns() // 1_000_000


def insert_for(session: Session, table: Any) -> Any:
    """The dialect's INSERT supporting ON CONFLICT."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def append_events(session: Session, rows: Sequence[EventRow]) -> list[int | None]:
    """Append to the log; the new seq per row, None where (store, id) already exists."""
    out: list[int | None] = [None] * len(rows)
    received = now_ms()
    keyed: dict[tuple[str, str], int] = {}
    plain: list[int] = []
    for i, r in enumerate(rows):
        if r.event_id is None:
            plain.append(i)
        elif (r.store, r.event_id) not in keyed:
            keyed[(r.store, r.event_id)] = i  # a repeat inside the batch is a duplicate
    table = models.Event.__table__
    if keyed:
        values = [_event_values(rows[i], received) for i in keyed.values()]
        stmt = (
            insert_for(session, table)
            .on_conflict_do_nothing(index_elements=["store", "event_id"])
            .returning(table.c.store, table.c.event_id, table.c.seq)
        )
        for store, event_id, seq in session.execute(stmt, values):
            out[keyed[(store, event_id)]] = seq
    if plain:
        stmt = insert_for(session, table).returning(table.c.seq, sort_by_parameter_order=True)
        values = [_event_values(rows[i], received) for i in plain]
        for i, (seq,) in zip(plain, session.execute(stmt, values), strict=True):
            out[i] = seq
    return out


def _event_values(r: EventRow, received: int) -> dict[str, Any]:
    return {
        "store": r.store,
        "event_id": r.event_id,
        "ts_ms": r.ts_ms,
        "type": r.type,
        "payload": r.payload,
        "received_ms": received,
    }


def events_after(session: Session, store: str, seq: int, limit: int) -> list[tuple[int, str]]:
    """(seq, payload) of the store's events after `seq`, in log order."""
    e = models.Event
    q = select(e.seq, e.payload).where(e.store == store, e.seq > seq).order_by(e.seq).limit(limit)
    return [(s, p) for s, p in session.execute(q)]


def put_actions(session: Session, rows: Sequence[ActionRow]) -> list[bool]:
    """Add actions to the outbox; True where new, False where the key was already there."""
    if not rows:
        return []
    created = now_ms()
    first: dict[tuple[str, str], int] = {}
    for i, r in enumerate(rows):
        first.setdefault((r.store, r.key), i)
    table = models.Action.__table__
    values = [
        {"store": rows[i].store, "key": rows[i].key, "ts_ms": rows[i].ts_ms,
         "type": rows[i].type, "payload": rows[i].payload, "created_ms": created}
        for i in first.values()
    ]  # fmt: skip
    stmt = (
        insert_for(session, table)
        .on_conflict_do_nothing(index_elements=["store", "key"])
        .returning(table.c.store, table.c.key)
    )
    inserted = {(s, k) for s, k in session.execute(stmt, values)}
    return [
        (r.store, r.key) in inserted and first[(r.store, r.key)] == i for i, r in enumerate(rows)
    ]


def undelivered_actions(
    session: Session, limit: int, store: str | None = None
) -> list[models.Action]:
    """Claim undelivered actions in seq order (SKIP LOCKED on PostgreSQL: one claimant each)."""
    a = models.Action
    q = select(a).where(a.delivered_ms.is_(None)).order_by(a.seq).limit(limit)
    if store is not None:
        q = q.where(a.store == store)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    return list(session.scalars(q))


def mark_delivered(session: Session, seqs: Sequence[int], now: int | None = None) -> None:
    """Record delivery of the claimed actions."""
    if seqs:
        a = models.Action
        session.execute(update(a).where(a.seq.in_(list(seqs))).values(delivered_ms=now or now_ms()))


def save_timers(
    session: Session, store: str, upserts: Sequence[TimerRow], deletes: Sequence[str]
) -> None:
    """Write the store's changed timers and drop the fired or cancelled ones."""
    t = models.Timer
    if deletes:
        session.execute(delete(t).where(t.store == store, t.key.in_(list(deletes))))
    if upserts:
        table = t.__table__
        stmt = insert_for(session, table)
        stmt = stmt.on_conflict_do_update(
            index_elements=["store", "key"],
            set_={"due_ms": stmt.excluded.due_ms, "kind": stmt.excluded.kind,
                  "payload": stmt.excluded.payload},
        )  # fmt: skip
        session.execute(stmt, [
            {"store": r.store, "key": r.key, "due_ms": r.due_ms, "kind": r.kind,
             "payload": r.payload}
            for r in upserts
        ])  # fmt: skip


def load_timers(session: Session, store: str) -> list[TimerRow]:
    """Every pending timer of the store."""
    t = models.Timer
    q = select(t).where(t.store == store).order_by(t.due_ms, t.key)
    return [
        TimerRow(store=r.store, key=r.key, due_ms=r.due_ms, kind=r.kind, payload=r.payload)
        for r in session.scalars(q)
    ]


def due_timers(session: Session, now: int, limit: int) -> list[TimerRow]:
    """Timers of any store due at or before `now`, earliest first."""
    t = models.Timer
    q = select(t).where(t.due_ms <= now).order_by(t.due_ms, t.store, t.key).limit(limit)
    return [
        TimerRow(store=r.store, key=r.key, due_ms=r.due_ms, kind=r.kind, payload=r.payload)
        for r in session.scalars(q)
    ]


def save_snapshot(session: Session, store: str, state: bytes, last_event_seq: int) -> None:
    """Replace the store's engine snapshot."""
    table = models.EngineSnapshot.__table__
    stmt = insert_for(session, table).values(
        store=store, state=state, last_event_seq=last_event_seq, updated_ms=now_ms()
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["store"],
        set_={"state": stmt.excluded.state, "last_event_seq": stmt.excluded.last_event_seq,
              "updated_ms": stmt.excluded.updated_ms},
    )  # fmt: skip
    session.execute(stmt)


def load_snapshot(session: Session, store: str) -> tuple[bytes, int] | None:
    """(state, last_event_seq) of the store's snapshot, if any."""
    s = models.EngineSnapshot
    row = session.execute(select(s.state, s.last_event_seq).where(s.store == store)).first()
    return (bytes(row[0]), int(row[1])) if row else None
