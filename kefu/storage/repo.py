"""The engine's storage operations. None commits: the caller owns the one transaction.

Inserts that must be idempotent (events by `id`, actions by idempotency key) use
`INSERT … ON CONFLICT DO NOTHING RETURNING` on both SQLite and PostgreSQL, so two processes
racing on the same row cannot both win.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import msgspec
from sqlalchemy import Connection, String, bindparam, cast, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from kefu.storage import models


class _Texts(list[Any]):
    """A list of strings sent to PostgreSQL as a binary array.

    psycopg's text format escapes every quote of every JSON payload with a regex (about 40 ms
    per thousand events); the binary format copies the bytes (about 1 ms).
    """


try:
    import psycopg
    from psycopg.types.array import ListBinaryDumper

    psycopg.adapters.register_dumper(_Texts, ListBinaryDumper)
except ImportError:  # pragma: no cover - psycopg is a dependency; SQLite works without it
    pass

# Keys per IN (...) list: far below SQLite's bound-variable limit, large enough to be cheap.
_CHUNK = 500
# Rows per PostgreSQL unnest INSERT: bounds the size of one statement's array parameters.
_PG_PAGE = 5_000


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
    after_seq: int | None = None


class TimerRow(msgspec.Struct, kw_only=True):
    """A pending timer as stored."""

    store: str
    key: str
    due_ms: int
    kind: str
    payload: str


def wall_ms() -> int:
    """Wall-clock epoch milliseconds (storage bookkeeping only, never rule time)."""
    return time.time_ns() // 1_000_000


def insert_for(session: Session, table: Any) -> Any:
    """The dialect's INSERT supporting ON CONFLICT."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


def _insert(
    session: Session,
    table: Any,
    values: list[dict[str, Any]],
    conflict: Sequence[str] | None,
    returning: Sequence[str],
) -> list[Any]:
    """INSERT `values` in their order (skipping conflicts on `conflict`); RETURNING rows.

    PostgreSQL gets one `INSERT … SELECT FROM unnest(arrays) WITH ORDINALITY ORDER BY ord`
    per page: one array parameter per column instead of thousands of scalars (~40 k events/s
    here against ~15 k for multi-row VALUES), and the ORDER BY makes the sequence follow the
    batch order. SQLite gets an executemany (rows go in one by one, in order).
    """
    if not values:
        return []
    cols = list(values[0])
    ret = [table.c[c] for c in returning]
    if session.get_bind().dialect.name == "postgresql":
        # Untyped binds: SQLAlchemy's ARRAY processing would copy the lists and lose _Texts.
        arrays = [cast(bindparam(f"a_{c}", type_=NullType()), ARRAY(table.c[c].type)) for c in cols]
        u = func.unnest(*arrays).table_valued(*cols, with_ordinality="ord")
        u = u.render_derived(name="u")
        pg = postgresql.insert(table).from_select(
            cols, select(*(u.c[c] for c in cols)).order_by(u.c.ord)
        )
        if conflict:
            pg = pg.on_conflict_do_nothing(index_elements=list(conflict))
        stmt: Any = pg.returning(*ret)
        out: list[Any] = []
        for page in _chunks(values, _PG_PAGE):
            params = {
                f"a_{c}": (_Texts if _is_text(table.c[c]) else list)(v[c] for v in page)
                for c in cols
            }
            out.extend(session.execute(stmt, params).all())
        return out
    lite = sqlite.insert(table)
    if conflict:
        lite = lite.on_conflict_do_nothing(index_elements=list(conflict))
    return list(session.execute(lite.returning(*ret), values).all())


def _is_text(col: Any) -> bool:
    return isinstance(col.type, String)


def append_events(session: Session, rows: Sequence[EventRow]) -> list[int | None]:
    """Append to the log; the new seq per row, None where (store, id) already exists.

    Seqs grow in the order of `rows`: replay after a restart applies the log in seq order,
    which must be the order the engine saw, hence one statement per run of rows with / without
    an id. (PostgreSQL's sequence spends a number on a refused duplicate: expect gaps.) A
    repeat of an id inside the batch is a duplicate too. Under concurrent appends of the same
    id, PostgreSQL makes the second transaction wait for the first and then skip the row;
    SQLite serializes writers. Either way exactly one append wins.
    """
    out: list[int | None] = [None] * len(rows)
    received = wall_ms()
    table = models.Event.__table__
    seen: set[tuple[str, str]] = set()
    runs: list[tuple[bool, list[int]]] = []
    for i, r in enumerate(rows):
        keyed = r.event_id is not None
        if r.event_id is not None:
            if (r.store, r.event_id) in seen:
                continue
            seen.add((r.store, r.event_id))
        if runs and runs[-1][0] == keyed:
            runs[-1][1].append(i)
        else:
            runs.append((keyed, [i]))
    for keyed, idx in runs:
        values = [_event_values(rows[i], received) for i in idx]
        if keyed:
            at = {(rows[i].store, rows[i].event_id): i for i in idx}
            new = _insert(
                session, table, values, ["store", "event_id"], ["store", "event_id", "seq"]
            )
            for store, event_id, seq in new:
                out[at[(store, event_id)]] = seq
        else:
            # Seqs are handed out in row order, so sorted seqs line up with the rows.
            seqs = sorted(seq for (seq,) in _insert(session, table, values, None, ["seq"]))
            for i, seq in zip(idx, seqs, strict=True):
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


def logged_events(
    db: Any,
    store: str,
    types: Iterable[str] | None = None,
    other_stores: bool = False,
    page: int = 20_000,
    after: int = 0,
    with_seq: bool = False,
) -> Iterator[Any]:
    """Decoded accepted events of `store` (or, with `other_stores`, of every other store),
    only `types` if given, only those logged after seq `after`, in log order, read in pages;
    with `with_seq`, (seq, event) pairs. `db` is an Engine, a Connection or a Session. A
    stored payload that no longer decodes is skipped, as the service's restore skips it."""
    from sqlalchemy import Engine

    from kefu.engine.readers import decode_line

    e = models.Event
    where = [e.store != store if other_stores else e.store == store]
    if types is not None:
        where.append(e.type.in_(list(types)))

    def pages(conn: Any) -> Iterator[Any]:
        nonlocal after
        while True:
            rows = conn.execute(
                select(e.seq, e.payload).where(*where, e.seq > after).order_by(e.seq).limit(page)
            ).all()
            if not rows:
                return
            after = rows[-1][0]
            for seq, payload in rows:
                try:
                    event = decode_line(payload.encode("utf-8"))
                except (msgspec.DecodeError, msgspec.ValidationError, ValueError):
                    continue
                yield (seq, event) if with_seq else event

    if isinstance(db, Engine):
        with db.connect() as conn:
            yield from pages(conn)
    else:
        yield from pages(db)


def events_after(
    session: Session | Connection, store: str, seq: int, limit: int
) -> list[tuple[int, str]]:
    """(seq, payload) of the store's events after `seq`, in log order (a Session or a
    Connection)."""
    e = models.Event
    q = select(e.seq, e.payload).where(e.store == store, e.seq > seq).order_by(e.seq).limit(limit)
    return [(s, p) for s, p in session.execute(q)]


def set_event_conversations(session: Session, pairs: Sequence[tuple[int, str]]) -> None:
    """Note the conversation the engine put each logged event in ((seq, conversation) pairs)."""
    if not pairs:
        return
    t = models.Event.__table__
    stmt = (
        update(models.Event.__table__)  # type: ignore[arg-type]  # a Table, typed FromClause
        .where(t.c.seq == bindparam("s"))
        .values(conversation=bindparam("c"))
    )
    session.execute(stmt, [{"s": seq, "c": conv} for seq, conv in pairs])


def put_actions(session: Session, rows: Sequence[ActionRow]) -> list[bool]:
    """Add actions to the outbox in order; True where new, False where the key already was."""
    if not rows:
        return []
    created = wall_ms()
    first: dict[tuple[str, str], int] = {}
    for i, r in enumerate(rows):
        first.setdefault((r.store, r.key), i)
    table = models.Action.__table__
    values = [
        {"store": rows[i].store, "key": rows[i].key, "ts_ms": rows[i].ts_ms,
         "type": rows[i].type, "payload": rows[i].payload, "created_ms": created,
         "after_seq": rows[i].after_seq}
        for i in first.values()
    ]  # fmt: skip
    inserted = {(s, k) for s, k in _insert(session, table, values, ["store", "key"],
                                           ["store", "key"])}  # fmt: skip
    return [
        (r.store, r.key) in inserted and first[(r.store, r.key)] == i for i, r in enumerate(rows)
    ]


def undelivered_actions(
    session: Session, limit: int, store: str | None = None
) -> list[models.Action]:
    """Claim up to `limit` undelivered actions, oldest first, until the transaction ends.

    On PostgreSQL the rows are locked `FOR UPDATE SKIP LOCKED`: a second deliverer passes
    over them and takes the next ones, so no action goes out twice. Deliver, then
    `mark_delivered` in the same transaction. SQLite runs one deliverer (one process).
    """
    a = models.Action
    q = select(a).where(a.delivered_ms.is_(None)).order_by(a.seq).limit(limit)
    if store is not None:
        q = q.where(a.store == store)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    return list(session.scalars(q))


def mark_delivered(session: Session, seqs: Sequence[int], now_ms: int | None = None) -> None:
    """Record delivery of the claimed actions at `now_ms` (default: the wall clock)."""
    a = models.Action
    at = wall_ms() if now_ms is None else now_ms
    for chunk in _chunks(seqs):
        session.execute(update(a).where(a.seq.in_(chunk)).values(delivered_ms=at))


def save_timers(
    session: Session, store: str, upserts: Sequence[TimerRow], deletes: Sequence[str]
) -> None:
    """Write the store's new or moved timers and drop the fired or cancelled ones."""
    t = models.Timer
    for chunk in _chunks(deletes):
        session.execute(delete(t).where(t.store == store, t.key.in_(chunk)))
    if upserts:
        table = t.__table__
        stmt = insert_for(session, table)
        stmt = stmt.on_conflict_do_update(
            index_elements=["store", "key"],
            set_={"due_ms": stmt.excluded.due_ms, "kind": stmt.excluded.kind,
                  "payload": stmt.excluded.payload},
        )  # fmt: skip
        session.execute(stmt, [
            {"store": store, "key": r.key, "due_ms": r.due_ms, "kind": r.kind,
             "payload": r.payload}
            for r in upserts
        ])  # fmt: skip


def _timer_rows(session: Session, q: Any) -> list[TimerRow]:
    return [
        TimerRow(store=r.store, key=r.key, due_ms=r.due_ms, kind=r.kind, payload=r.payload)
        for r in session.execute(q)
    ]


def load_timers(session: Session, store: str) -> list[TimerRow]:
    """Every pending timer of the store, earliest first."""
    t = models.Timer.__table__
    return _timer_rows(session, select(t).where(t.c.store == store).order_by(t.c.due_ms, t.c.key))


def due_timers(session: Session, now_ms: int, limit: int) -> list[TimerRow]:
    """Timers of any store due at or before `now_ms`, earliest first."""
    t = models.Timer.__table__
    q = select(t).where(t.c.due_ms <= now_ms).order_by(t.c.due_ms, t.c.store, t.c.key)
    return _timer_rows(session, q.limit(limit))


def save_snapshot(session: Session, store: str, state: bytes, last_event_seq: int) -> None:
    """Replace the store's engine snapshot."""
    table = models.EngineSnapshot.__table__
    stmt = insert_for(session, table).values(
        store=store, state=state, last_event_seq=last_event_seq, updated_ms=wall_ms()
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
