"""The live engine: ingest events, run the rules, commit everything in one transaction.

One `EngineService` is the single writer for the stores of this process (design.md "Why
one writer per store"). For each batch it appends the events to the log (idempotent on
`id`), feeds the accepted ones to the engine, and commits — in ONE transaction — the events,
the projected entity rows, the actions (the outbox, unique per idempotency key), the pending
timers and a snapshot of each touched store's state. A crash before the commit loses
nothing that was acknowledged; a crash after it loses nothing at all.

Snapshots are taken every `snapshot_events` events or `snapshot_ms` of wall time (and on
`close`), not on every batch: pickling a big store's state per message would dominate. On
start each store is restored from its snapshot and the events logged after it are applied
again in log order; the engine is deterministic, so this rebuilds the same state and the
same timers, and any action it re-emits carries the same idempotency key (its content) and
is dropped by the outbox's unique constraint. Timers that fell due while the process was
down fire once on catch-up (`tick`), with their due time as the action time.
"""

from __future__ import annotations

import hashlib
import pickle
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy import Engine as SAEngine
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from kefu.engine.actions import Action
from kefu.engine.clock import Clock, WallClock
from kefu.engine.core import Capability, Engine
from kefu.engine.events import Event
from kefu.engine.readers import Rejected, decode_line, decode_logged, explain
from kefu.engine.settings import Config
from kefu.engine.state import StoreState
from kefu.runtime.registry import default_capabilities
from kefu.storage import models, repo
from kefu.storage.projection import project, project_actions

SNAPSHOT_VERSION = 1
_ENC = msgspec.json.Encoder()
_DEC = msgspec.json.Decoder(type=None)


@dataclass
class IngestResult:
    """What one ingested batch did."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)


def action_key(action: Action, occurrence: int) -> str:
    """Idempotency key: the action's content (deterministic engine) plus its occurrence."""
    digest = hashlib.blake2b(_ENC.encode(action), digest_size=12).hexdigest()
    return f"{digest}.{occurrence}"


class EngineService:
    """Single writer over the database for every store this process serves."""

    def __init__(
        self,
        db: SAEngine,
        config: Config | None = None,
        clock: Clock | None = None,
        capabilities: Sequence[Capability] | None = None,
        snapshot_events: int = 5_000,
        snapshot_ms: int = 10_000,
    ) -> None:
        self.db = db
        self.snapshot_events = snapshot_events
        self.snapshot_ms = snapshot_ms
        self._since_snapshot: dict[str, int] = defaultdict(int)
        self._snapshot_at: dict[str, int] = {}
        self.config = config or Config()
        self.clock: Clock = clock or WallClock()
        self._capabilities = (
            list(capabilities) if capabilities is not None else default_capabilities()
        )
        self.engine = Engine(self.config, self._capabilities, self.clock)
        self.engine.timer_changes = {}
        self.sessions = sessionmaker(db, expire_on_commit=False)
        self.lock = threading.RLock()
        self._last_seq: dict[str, int] = {}
        # Called after each commit with (actions, accepted events): WebSocket fan-out.
        self.on_commit: Callable[[list[Action], list[Event]], None] | None = None
        self.start()

    @property
    def capabilities(self) -> Sequence[Capability]:
        """The capabilities the engine was made with (followers replaying the log need them)."""
        return self._capabilities

    # -- reading live state ------------------------------------------------------------------
    @contextmanager
    def state_of(self, store: str) -> Iterator[StoreState | None]:
        """The live state of `store` (None: never seen), held under the writer's lock.

        The only way routes and workers read engine state: a read never sees a batch half
        applied, and nothing outside the runtime reaches into `engine.states`.
        """
        with self.lock:
            yield self.engine.states.get(store)

    def stores(self) -> list[str]:
        """The stores this process holds state for, sorted."""
        with self.lock:
            return sorted(self.engine.states)

    # -- start-up ---------------------------------------------------------------------------
    def start(self) -> None:
        """Restore every store from its snapshot, then apply the events logged after it.

        A log from before migration 0006 first gets its decision columns filled in
        (`kefu.runtime.backfill`), once, so the reports read its history too.
        """
        from kefu.runtime import backfill

        with self.lock, self.sessions.begin() as s:
            for store in backfill.stores_to_backfill(s):
                backfill.backfill(s, store, self.config, self._capabilities, action_key)
        with self.lock, self.sessions() as s:
            stores = list(s.scalars(select(models.Store.id)))
            snap_stores = list(s.scalars(select(models.EngineSnapshot.store)))
            for store in sorted(set(stores) | set(snap_stores)):
                self._restore(s, store)

    def _restore(self, s: Session, store: str) -> None:
        snap = repo.load_snapshot(s, store)
        last_seq = 0
        if snap is not None:
            blob, last_seq = snap
            state = _unpickle(blob)
            if state is None:
                last_seq = 0  # unreadable (older code): rebuild from the log
            else:
                self.engine.load_state(state)
        self._last_seq[store] = last_seq
        # Events committed after the snapshot (normally none: both share one transaction).
        while True:
            rows = repo.events_after(s, store, self._last_seq[store], 10_000)
            if not rows:
                break
            for seq, payload in rows:
                event = decode_logged(payload)
                if event is not None:
                    self.engine.feed(event)
                self._last_seq[store] = seq

    # -- ingestion --------------------------------------------------------------------------
    def ingest(self, lines: Iterable[bytes | dict[str, Any]]) -> IngestResult:
        """Validate, log, apply and commit a batch; bad items are reported, good ones kept."""
        result = IngestResult()
        decoded: list[tuple[Event, bytes]] = []
        for n, item in enumerate(lines, 1):
            raw = item if isinstance(item, bytes) else _ENC.encode(item)
            try:
                event = decode_line(raw)
            except (msgspec.DecodeError, ValueError) as err:
                f, reason = explain(err)
                result.rejected.append(Rejected(n, f, reason))
                continue
            decoded.append((event, raw.strip()))
        if not decoded:
            return result
        with self.lock:
            try:
                self._apply(decoded, result)
            except Exception:
                self._reload({e.store for e, _ in decoded})
                raise
            if self.on_commit is not None and (result.actions or result.events):
                self.on_commit(result.actions, result.events)
        return result

    def tick(self, now: int | None = None) -> list[Action]:
        """Fire every timer due by `now` (wall clock by default) and commit the result."""
        now = self.clock.now() if now is None else now
        with self.lock:
            if (due := self.engine.next_due()) is None or due > now:
                return []
            touched: set[str] = set()
            try:
                with self.sessions.begin() as s:
                    self._claim(s, self.engine.due_stores(now))
                    actions = self.engine.advance(now)
                    touched = {a.store for a in actions} | self._timer_stores()
                    project_actions(s, actions)
                    self._persist(s, actions, touched, self._after_last(actions))
            except Exception:
                self._reload(touched)
                raise
            if self.on_commit is not None and actions:
                self.on_commit(actions, [])
            return actions

    def refresh(self) -> int:
        """Apply what other server processes logged since (PostgreSQL); events applied.

        Reads need no lock: the other writers' events are committed. Called by the server's
        ticker so this process's views (conversation lists, monitor) follow the others.
        """
        if not self.shared:
            return 0
        with self.lock, self.sessions.begin() as s:
            e = models.Event
            stores = set(s.scalars(select(models.Store.id))) | set(self.engine.states)
            n = 0
            for store in sorted(stores):
                last = s.scalar(select(func.max(e.seq)).where(e.store == store)) or 0
                if last > self._last_seq.get(store, 0):
                    n += self._catch_up(s, store)
            return n

    # -- several writers ---------------------------------------------------------------------
    @property
    def shared(self) -> bool:
        """True where several server processes may write (PostgreSQL)."""
        return self.db.dialect.name == "postgresql"

    def _claim(self, s: Session, stores: Iterable[str]) -> None:
        """Lock each store for this transaction, then apply what other processes logged.

        `pg_advisory_xact_lock` serialises writers of a store across processes; after it,
        the log holds every event any of them accepted, so this process first catches up
        and then decides on the same state the others would have.
        """
        if not self.shared:
            return
        for store in sorted(set(stores)):
            s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(store)})
            self._catch_up(s, store)

    def _catch_up(self, s: Session, store: str) -> int:
        """Feed the store's events logged after ours; keep only actions nobody stored yet."""
        last = self._last_seq.get(store, 0)
        n = 0
        actions: list[Action] = []
        after: list[int] = []
        while rows := repo.events_after(s, store, last, 10_000):
            for seq, payload in rows:
                event = decode_logged(payload)
                self._last_seq[store] = seq
                if event is not None:
                    out = self.engine.feed(event)
                    actions.extend(out)
                    after.extend(self._after_last(out))
                    n += 1
                last = seq
        if n == 0:
            return 0
        # The writer stored these actions (same content keys): only timers fired for other
        # stores on the way can be new, and those are stored and projected here.
        fresh = self._store_actions(s, actions, after)
        project_actions(s, fresh)
        return n

    # -- internals --------------------------------------------------------------------------
    def _apply(self, decoded: list[tuple[Event, bytes]], result: IngestResult) -> None:
        with self.sessions.begin() as s:
            self._claim(s, {e.store for e, _ in decoded})
            rows = [
                repo.EventRow(
                    store=e.store,
                    event_id=e.id,
                    ts_ms=e.at,
                    type=str(e.__struct_config__.tag),
                    payload=raw.decode("utf-8"),
                )
                for e, raw in decoded
            ]
            seqs = repo.append_events(s, rows)
            items: dict[str, list[tuple[Event, str | None]]] = defaultdict(list)
            actions: list[Action] = []
            after: list[int] = []
            in_conversation: list[tuple[int, str]] = []
            for (event, _), seq in zip(decoded, seqs, strict=True):
                if seq is None:
                    result.duplicates += 1
                    continue
                result.accepted += 1
                result.events.append(event)
                self._last_seq[event.store] = seq
                out = self.engine.feed(event)
                actions.extend(out)
                after.extend(self._after_last(out))
                buyer = getattr(event, "buyer", None)
                conv = self.engine.states[event.store].conversation_of(buyer) if buyer else None
                conv_id = conv.id if conv is not None else None
                if conv_id is not None:
                    in_conversation.append((seq, conv_id))
                items[event.store].append((event, conv_id))
                self._since_snapshot[event.store] += 1
            repo.set_event_conversations(s, in_conversation)
            for store, store_items in items.items():
                project(s, store, store_items)
            project_actions(s, actions)
            stores = set(items) | {a.store for a in actions} | self._timer_stores()
            self._persist(s, actions, stores, after)
            result.actions = actions

    def _after_last(self, actions: Sequence[Action]) -> list[int]:
        """The event each action follows: its store's last applied event (the event being
        fed for its own actions; for a timer of another store, that store's last one)."""
        return [self._last_seq.get(a.store, 0) for a in actions]

    def _store_actions(
        self, s: Session, actions: list[Action], after: Sequence[int]
    ) -> list[Action]:
        """Add actions to the outbox by content key; returns those that were new.

        `after[i]` is the seq of the event the i-th action followed (the event that caused
        it, or the store's last event for a timer): the facts projection merges log and
        outbox on it.
        """
        seen: dict[str, int] = defaultdict(int)
        rows = []
        for a, after_seq in zip(actions, after, strict=True):
            probe = action_key(a, 0)
            n = seen[probe]
            seen[probe] += 1
            rows.append(
                repo.ActionRow(
                    store=a.store,
                    key=action_key(a, n),
                    ts_ms=a.ts,
                    type=str(a.__struct_config__.tag),
                    payload=_ENC.encode(a).decode("utf-8"),
                    after_seq=after_seq,
                )
            )
        if not rows:
            return []
        created = repo.put_actions(s, rows)
        return [a for a, new in zip(actions, created, strict=True) if new]

    def _persist(
        self,
        s: Session,
        actions: list[Action],
        stores: set[str],
        after: Sequence[int],
    ) -> None:
        self._store_actions(s, actions, after)
        for store in sorted(stores):
            st = self.engine.states.get(store)
            if st is None:
                continue
            changed = self._changes().pop(store, set())
            upserts = [
                repo.TimerRow(
                    store=store,
                    key=k,
                    due_ms=t.due,
                    kind=t.kind,
                    payload=_ENC.encode(t).decode("utf-8"),
                )
                for k in sorted(changed)
                if (t := st.timers.get(k)) is not None
            ]
            deletes = sorted(k for k in changed if k not in st.timers)
            repo.save_timers(s, store, upserts, deletes)
            self._maybe_snapshot(s, st, force=False)

    def _maybe_snapshot(self, s: Session, st: StoreState, force: bool) -> None:
        store = st.store
        now = self.clock.now()
        last = self._snapshot_at.get(store)
        if (
            force
            or last is None
            or self._since_snapshot[store] >= self.snapshot_events
            or now - last >= self.snapshot_ms
        ):
            repo.save_snapshot(s, store, _pickle(st), self._last_seq.get(store, 0))
            self._since_snapshot[store] = 0
            self._snapshot_at[store] = now

    def close(self) -> None:
        """Snapshot every store (a clean shutdown restarts without re-applying the log)."""
        with self.lock, self.sessions.begin() as s:
            for st in self.engine.states.values():
                self._maybe_snapshot(s, st, force=True)

    def _timer_stores(self) -> set[str]:
        """Stores whose pending timers changed since they were last written."""
        return {store for store, keys in self._changes().items() if keys}

    def _changes(self) -> dict[str, set[str]]:
        """The engine's timer changes (tracking switched on for the live service)."""
        if self.engine.timer_changes is None:
            self.engine.timer_changes = {}
        return self.engine.timer_changes

    def _reload(self, stores: set[str]) -> None:
        """After a failed commit, drop the engine's in-memory state and restore from the DB."""
        self.engine = Engine(self.config, self._capabilities, self.clock)
        self.engine.timer_changes = {}
        self._last_seq.clear()
        self.start()


def _lock_key(store: str) -> int:
    """A signed 64-bit advisory-lock key per store (stable across processes)."""
    return int.from_bytes(hashlib.blake2b(store.encode(), digest_size=8).digest(), "big",
                          signed=True)  # fmt: skip


def _pickle(state: StoreState) -> bytes:
    return pickle.dumps((SNAPSHOT_VERSION, state), protocol=pickle.HIGHEST_PROTOCOL)


def _unpickle(blob: bytes) -> StoreState | None:
    try:
        version, state = pickle.loads(blob)
    except Exception:
        return None
    if version != SNAPSHOT_VERSION or not isinstance(state, StoreState):
        return None
    return state
