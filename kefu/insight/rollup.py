"""Daily roll-ups: a store's fact rows kept in the database as its event log grows.

Why this shape:

- **Follow what was decided, do not recompute days.** A follower per store reads the store's
  event log and outbox merged in decision order (`kefu.insight.decisions`: each event with
  the conversation the live engine put it in, then the actions decided with it) into a
  `StreamFacts` builder — no second engine runs the rules again — appends the new fact rows
  to the `insight_*` tables (`kefu.insight.models`) and moves `insight_cursor` on — rows,
  cursor and the builder's pickled state in ONE transaction. Rows are facts (a message, an
  order …) and never change afterwards, so an incremental refresh writes exactly what a full
  rebuild would: both read the same committed decisions, cut into different pieces. Nothing
  is "recomputed": the metric expressions run at report time, so an order on day 3
  crediting a day-1 conversation, or a round spanning midnight, needs no dependency
  tracking.
- **Read by buyer, partitioned by day.** Every cross-row dependency of the metrics
  (attribution, validity windows, rounds, a conversation's later close, the first guide
  panel) stays inside one buyer's rows. A report for days lo…hi reads the buyers who have a
  row on one of those days (`insight_buyer_days`) and all of those buyers' rows, then runs the
  same Ibis expressions restricted to lo…hi — exactly the numbers of the full history, while
  reading only the range's buyers. Payments without a buyer and cancellations are found by
  their order.
- **Timers** are the live service's: an action a timer decided between two events is in
  the outbox after the earlier one, so the roll-ups, the monitor and `/insight` agree about a
  store at any moment (one timer rule: due timers fire before any later event, on the wall
  clock in the server, at the end of the log in a replay).
- **Settings** decided the actions when they were taken; only the store's timezone (which
  day a row belongs to) is read again here, so only a timezone change asks for a rebuild.

A refresh is cheap when there is nothing new (one cursor read and one empty page). The live
server refreshes lazily before each insight report and, when wired, from its ticker.
"""

from __future__ import annotations

import hashlib
import pickle
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import Connection, and_, delete, func, or_, select, text, union, update
from sqlalchemy import Engine as SAEngine
from sqlalchemy import Table as SATable
from sqlalchemy.exc import IntegrityError

from kefu.engine.events import Event
from kefu.engine.settings import Config
from kefu.insight.decisions import Cursor, feed, read_page
from kefu.insight.facts import HANDOFF_SCHEMA, SCHEMAS, FactsBuilder
from kefu.insight.models import BUYER_DAYS, CURSOR, FACT_COLUMNS, FACT_TABLES
from kefu.storage.models import Event as EventRow

DAY_MS = 86_400_000
STATE_VERSION = 3  # bump when the follower's pickled state or the rows it writes change
PAGE = 20_000  # events per refresh transaction
REBUILD_PAGE = 100_000  # events per transaction of a full rebuild

Progress = Callable[[int, int], None]

# Conversation marks: the conversation table as append-only rows (see `conversations_from`).
MARKS_SCHEMA = pa.schema(
    [
        ("seq", pa.int64()),
        ("cid", pa.int64()),
        ("store", pa.string()),
        ("buyer", pa.string()),
        ("kind", pa.string()),  # open | close | button
        ("conversation", pa.string()),
        ("ts_ms", pa.int64()),
        ("off_ms", pa.int64()),
        ("reason", pa.string()),  # close: reason; button: the A/B variant
        ("shown", pa.bool_()),
        ("local_ms", pa.int64()),
        ("bucket", pa.int64()),  # button: the rollout bucket
        ("tier", pa.string()),  # button: the store tier the gate saw
    ]
)
# Row schema of each roll-up table as the builder makes it (`conversations` comes from marks).
ROW_SCHEMAS: dict[str, pa.Schema] = {
    "conv_marks": MARKS_SCHEMA,
    **{name: s for name, s in SCHEMAS.items() if name != "conversations"},
}
assert set(ROW_SCHEMAS) == set(FACT_COLUMNS), "roll-up tables and fact tables differ"


# Rows that no metric counts on their own day (only through another row of the buyer: a
# guide panel, an order): they do not make their buyer part of a day's report.
PASSIVE = frozenset({"item_views", "order_items", "cancels"})


def stable_cid(store: str, conversation: str) -> int:
    """A conversation's cid that any process derives alike: 63 bits of a hash."""
    digest = hashlib.blake2b(f"{store}\0{conversation}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


class StreamFacts(FactsBuilder):
    """A `FactsBuilder` whose rows can be taken away as they come (`take`), for a follower.

    Conversation rows are not kept and mutated: their opening, close and button decision are
    appended as marks, and `first_sender` is read from the messages; `conversations_from`
    reduces them to the same rows `FactsBuilder.tables()` gives. cids are `stable_cid`.
    """

    def __init__(self, config: Config | None = None) -> None:
        super().__init__(config)
        self._known: set[int] = set()
        self._rows["conv_marks"] = []

    def _conversation(self, store: str, conversation: str, buyer: str, ts: int) -> int:
        cid = stable_cid(store, conversation)
        if cid not in self._known:
            self._known.add(cid)
            off = self._offset(store, ts)
            self._rows["conv_marks"].append(
                (self._next_seq(), cid, store, buyer, "open", conversation, ts, off, None, None,
                 ts + off, None, None)
            )  # fmt: skip
        return cid

    def _first_sender(self, cid: int, sender: str) -> None:
        return None  # the first buyer/agent message of the conversation, when read

    def _closed(self, cid: int, store: str, buyer: str, ts: int, reason: str) -> None:
        self._rows["conv_marks"].append(
            (self._next_seq(), cid, store, buyer, "close", None, ts, None, reason, None,
             self._local(store, ts), None, None)
        )  # fmt: skip

    def _button(
        self, cid: int, store: str, buyer: str, ts: int, shown: bool, variant: str | None,
        bucket: int | None, tier: str | None,
    ) -> None:  # fmt: skip
        self._rows["conv_marks"].append(
            (self._next_seq(), cid, store, buyer, "button", None, ts, None, variant, shown,
             self._local(store, ts), bucket, tier)
        )  # fmt: skip

    def _known_cid(self, store: str, conversation: str) -> int | None:
        return stable_cid(store, conversation)

    def take(self) -> dict[str, list[tuple[Any, ...]]]:
        """The rows made since the last `take` (roll-up table name → rows), forgotten here."""
        out = {name: self._rows[name] for name in ROW_SCHEMAS}
        for name in ROW_SCHEMAS:
            self._rows[name] = []
        return out

    def tables(self) -> dict[str, pa.Table]:
        """The rows not taken yet as fact tables (conversations reduced from the marks)."""
        return rows_to_tables(self.take())

    def state(self) -> tuple[int, set[int]]:
        """What the next rows depend on: the sequence counter and the conversations seen."""
        return self._seq, self._known

    @classmethod
    def restore(cls, config: Config, state: tuple[int, set[int]]) -> StreamFacts:
        """A builder that goes on from `state`."""
        facts = cls(config)
        facts._seq, facts._known = state
        return facts


# -- rows ⇄ Arrow ---------------------------------------------------------------------------
def rows_table(rows: Sequence[tuple[Any, ...]], schema: pa.Schema) -> pa.Table:
    """Rows (tuples in schema order) as an Arrow table with real nulls."""
    if not rows:
        return schema.empty_table()
    cols = list(zip(*rows, strict=True))
    return pa.Table.from_arrays(
        [pa.array(c, type=f.type) for c, f in zip(cols, schema, strict=True)], schema=schema
    )


def conversations_from(marks: pa.Table, messages: pa.Table) -> pa.Table:
    """The `conversations` fact table from conversation marks and messages.

    A conversation is its first `open` mark; `closed_ms`/`close_reason` its first `close`,
    `button_shown`/`variant` its first `button`, `first_sender` its first buyer or agent
    message: exactly what `FactsBuilder` keeps by mutating one row.
    """
    con = duckdb.connect()
    con.register("marks", marks)
    con.register("msgs", messages.select(["seq", "cid", "sender"]))
    first = "QUALIFY row_number() OVER (PARTITION BY cid ORDER BY seq) = 1"
    sql = f"""
        WITH o AS (SELECT * FROM marks WHERE kind = 'open' {first}),
        c AS (SELECT cid, ts_ms AS closed_ms, reason AS close_reason FROM marks
              WHERE kind = 'close' {first}),
        b AS (SELECT cid, shown AS button_shown, reason AS variant FROM marks
              WHERE kind = 'button' {first}),
        f AS (SELECT cid, sender AS first_sender FROM msgs
              WHERE sender IN ('buyer', 'agent') {first})
        SELECT o.cid, o.store, o.conversation, o.buyer, o.ts_ms AS opened_ms, o.off_ms,
               c.closed_ms, c.close_reason, f.first_sender, b.button_shown, b.variant
        FROM o LEFT JOIN c USING (cid) LEFT JOIN b USING (cid) LEFT JOIN f USING (cid)
        ORDER BY o.seq
    """
    try:
        out = con.sql(sql).to_arrow_table()
    finally:
        con.close()
    return out.cast(SCHEMAS["conversations"])


def rows_to_tables(rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, pa.Table]:
    """Builder rows (roll-up table name → rows) as the fact tables `compute` takes."""
    arrow = {name: rows_table(rows.get(name, []), s) for name, s in ROW_SCHEMAS.items()}
    return arrow_to_facts(arrow)


def handoff_from(marks: pa.Table) -> pa.Table:
    """The 转人工 report's `handoff` table (every button decision) from conversation marks."""
    buttons = marks.filter(pc.equal(marks.column("kind"), "button")).sort_by("seq")
    return pa.table(
        [buttons.column(c) for c in ("cid", "store", "reason", "shown", "bucket", "tier")],
        schema=HANDOFF_SCHEMA,
    )


def arrow_to_facts(
    arrow: dict[str, pa.Table], as_of_ms: int | None = None, handoff: bool = False
) -> dict[str, pa.Table]:
    """Roll-up tables (Arrow, builder schemas) → fact tables; `as_of_ms` drops later rows;
    with `handoff`, the 转人工 report's `handoff` table as well."""
    if as_of_ms is not None:
        arrow = {
            name: t.filter(pc.less_equal(t.column("ts_ms"), as_of_ms)) for name, t in arrow.items()
        }
    out = {name: t for name, t in arrow.items() if name != "conv_marks"}
    out["conversations"] = conversations_from(arrow["conv_marks"], arrow["messages"])
    facts = {name: out[name] for name in SCHEMAS}
    if handoff:
        facts["handoff"] = handoff_from(arrow["conv_marks"])
    return facts


# -- the follower ---------------------------------------------------------------------------
@dataclass
class Follower:
    """One store's projection: a `StreamFacts` and how far it has read log and outbox."""

    store: str
    facts: StreamFacts
    cursor: Cursor = field(default_factory=Cursor)
    events: int = 0
    saved: Cursor | None = None  # the cursor in the database (None: no cursor yet)

    @property
    def last_seq(self) -> int:
        """The last log seq taken in."""
        return self.cursor.event_seq

    def state_blob(self) -> bytes:
        """The builder's state, pickled."""
        return pickle.dumps((STATE_VERSION, self.facts.state()), protocol=pickle.HIGHEST_PROTOCOL)


class Conflict(Exception):
    """Another process moved the store's cursor first: reload and go on from there."""


class SettingsMismatch(Exception):
    """The roll-ups were built under other engine settings than the ones given."""


def config_hash(config: Config, store: str) -> str:
    """Fingerprint of what the rows depend on besides the decisions: the store's timezone
    (the day of each row) and the rows' own version."""
    blob = f"{config.for_store(store).tz.key}\0{STATE_VERSION}".encode()
    return hashlib.blake2b(blob, digest_size=8).hexdigest()


# -- writing --------------------------------------------------------------------------------
def _db_columns(name: str) -> list[str]:
    return ["store", "day", "buyer", *[c for c, _ in FACT_COLUMNS[name]]]


def _row_getters(name: str) -> tuple[Callable[[tuple[Any, ...]], tuple[Any, ...]], int, int, int]:
    """(getter of the fact columns, position of store, of buyer or -1, of local_ms)."""
    names = ROW_SCHEMAS[name].names
    pos = {("order_id" if n == "order" else n): i for i, n in enumerate(names)}
    idx = [pos[c] for c, _ in FACT_COLUMNS[name]]
    getter = itemgetter(*idx)
    return getter, pos["store"], pos.get("buyer", -1), pos["local_ms"]


_GETTERS = {name: _row_getters(name) for name in FACT_COLUMNS}


def db_rows(name: str, rows: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Builder rows of table `name` as database rows (store, day, buyer, columns…)."""
    getter, i_store, i_buyer, i_local = _GETTERS[name]
    out = []
    for r in rows:
        buyer = r[i_buyer] if i_buyer >= 0 else None
        out.append((r[i_store], r[i_local] // DAY_MS, buyer, *getter(r)))
    return out


def _bulk_insert(conn: Connection, table: SATable, cols: list[str], rows: list[tuple[Any, ...]],
                 ignore_conflicts: bool = False) -> None:  # fmt: skip
    """Append rows fast: COPY on PostgreSQL, executemany on SQLite."""
    if not rows:
        return
    names = ", ".join(f'"{c}"' for c in cols)
    if conn.dialect.name == "postgresql" and not ignore_conflicts:
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as cp:
            for r in rows:
                cp.write_row(r)
        return
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    values = ", ".join([mark] * len(cols))
    if ignore_conflicts:
        if conn.dialect.name == "postgresql":
            sql = f"INSERT INTO {table.name} ({names}) VALUES ({values}) ON CONFLICT DO NOTHING"
        else:
            sql = f"INSERT OR IGNORE INTO {table.name} ({names}) VALUES ({values})"
    else:
        sql = f"INSERT INTO {table.name} ({names}) VALUES ({values})"
    conn.exec_driver_sql(sql, rows)


def write_rows(
    conn: Connection, rows: dict[str, list[tuple[Any, ...]]], days: tuple[int, int] | None = None
) -> int:
    """Append builder rows to the roll-up tables (only days lo…hi with `days`); row count."""
    n = 0
    buyer_days: set[tuple[str, int, str]] = set()
    for name, builder_rows in rows.items():
        out = db_rows(name, builder_rows)
        if days is not None:
            out = [r for r in out if days[0] <= r[1] <= days[1]]
        _bulk_insert(conn, FACT_TABLES[name], _db_columns(name), out)
        if name not in PASSIVE:
            buyer_days.update((r[0], r[1], r[2]) for r in out if r[2] is not None)
        n += len(out)
    _bulk_insert(conn, BUYER_DAYS, ["store", "day", "buyer"],
                 sorted(buyer_days), ignore_conflicts=True)  # fmt: skip
    return n


def delete_rows(conn: Connection, store: str, days: tuple[int, int] | None = None) -> None:
    """Delete a store's roll-up rows (of days lo…hi with `days`)."""
    tables: list[SATable] = [*FACT_TABLES.values(), BUYER_DAYS]
    for t in tables:
        cond = [t.c.store == store]
        if days is not None:
            cond += [t.c.day >= days[0], t.c.day <= days[1]]
        conn.execute(delete(t).where(*cond))


# -- reading --------------------------------------------------------------------------------
def _fetch(conn: Connection, name: str, where: Any) -> pa.Table:
    """One roll-up table's rows as Arrow in the builder's schema.

    PostgreSQL sends them as CSV through COPY, parsed by Arrow in C++ (several times faster
    than rows through the driver); SQLite rows come through the driver.
    """
    t = FACT_TABLES[name]
    schema = ROW_SCHEMAS[name]
    cols = [t.c["order_id" if f == "order" else f] for f in schema.names]
    stmt = select(*cols).where(where)
    if conn.dialect.name == "postgresql":
        return _copy_out(conn, stmt, schema)
    # plain tuples from the driver's cursor: SQLAlchemy rows cost more than the query
    sql = stmt.compile(dialect=conn.dialect)
    params = sql.construct_params()
    raw = conn.connection.driver_connection
    assert raw is not None
    cur = raw.cursor()
    try:
        cur.execute(str(sql), [params[k] for k in sql.positiontup or ()])
        # SQLite keeps booleans as 0/1
        as_ints = pa.schema([f.with_type(pa.int64()) if f.type == pa.bool_() else f
                             for f in schema])  # fmt: skip
        return rows_table(cur.fetchall(), as_ints).cast(schema)
    finally:
        cur.close()


def _copy_out(conn: Connection, stmt: Any, schema: pa.Schema) -> pa.Table:
    """Rows of `stmt` through `COPY … TO STDOUT (FORMAT csv)`, read by pyarrow.csv.

    PostgreSQL writes NULL as an empty unquoted field and "" quoted, so empty unquoted
    strings are read as null and quoted ones as "".
    """
    sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    raw = conn.connection.driver_connection
    assert raw is not None
    buf = bytearray()
    with raw.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as cp:
        for chunk in cp:
            buf += chunk
    if not buf:
        return schema.empty_table()
    return pacsv.read_csv(
        pa.py_buffer(bytes(buf)),
        read_options=pacsv.ReadOptions(column_names=schema.names, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types=schema, strings_can_be_null=True, quoted_strings_can_be_null=False,
            true_values=["t"], false_values=["f"], null_values=[""],
        ),
    )  # fmt: skip


def read_store(
    conn: Connection, store: str, lo: int | None = None, hi: int | None = None
) -> dict[str, pa.Table]:
    """The roll-up rows a report on days lo…hi of `store` needs (None: no bound), as Arrow.

    All rows of the buyers with a row on one of those days, plus the orders those buyers'
    buyer-less payments belong to (and the other way round).
    """
    if lo is not None or hi is not None:
        bd = BUYER_DAYS
        first, last = conn.execute(
            select(func.min(bd.c.day), func.max(bd.c.day)).where(bd.c.store == store)
        ).one()
        if first is None or ((lo is None or lo <= first) and (hi is None or hi >= last)):
            lo = hi = None  # the range holds every day: read everything, no buyer filter
    if lo is None and hi is None:
        return {name: _fetch(conn, name, FACT_TABLES[name].c.store == store)
                for name in ROW_SCHEMAS}  # fmt: skip

    def in_range(col: Any) -> list[Any]:
        return [c for c in (col >= lo if lo is not None else None,
                            col <= hi if hi is not None else None) if c is not None]  # fmt: skip

    bd = BUYER_DAYS
    pay, ords = FACT_TABLES["payments"], FACT_TABLES["orders"]
    orphan_orders = select(pay.c.order_id).where(
        pay.c.store == store, pay.c.buyer.is_(None), *in_range(pay.c.day)
    )
    buyers = union(
        select(bd.c.buyer).where(bd.c.store == store, *in_range(bd.c.day)),
        select(ords.c.buyer).where(ords.c.store == store, ords.c.order_id.in_(orphan_orders)),
    )
    their_orders = select(ords.c.order_id).where(ords.c.store == store, ords.c.buyer.in_(buyers))
    out: dict[str, pa.Table] = {}
    for name in ROW_SCHEMAS:
        t = FACT_TABLES[name]
        if name == "payments":
            loose = and_(t.c.buyer.is_(None),
                         or_(and_(*in_range(t.c.day)), t.c.order_id.in_(their_orders)))  # fmt: skip
            where = and_(t.c.store == store, or_(t.c.buyer.in_(buyers), loose))
        elif name == "cancels":
            where = and_(t.c.store == store,
                         or_(and_(*in_range(t.c.day)), t.c.order_id.in_(their_orders)))  # fmt: skip
        else:
            where = and_(t.c.store == store, t.c.buyer.in_(buyers))
        out[name] = _fetch(conn, name, where)
    return out


def read_rows(
    db: SAEngine, stores: Iterable[str], lo: int | None = None, hi: int | None = None
) -> dict[str, pa.Table]:
    """The roll-up rows (builder schemas) a report on days lo…hi of `stores` needs."""
    parts: dict[str, list[pa.Table]] = defaultdict(list)
    with db.connect() as conn:
        for store in stores:
            for name, t in read_store(conn, store, lo, hi).items():
                parts[name].append(t)
    return {
        name: pa.concat_tables(parts[name]) if parts[name] else s.empty_table()
        for name, s in ROW_SCHEMAS.items()
    }


def read_facts(
    db: SAEngine,
    stores: Iterable[str],
    lo: int | None = None,
    hi: int | None = None,
    as_of_ms: int | None = None,
    handoff: bool = False,
) -> dict[str, pa.Table]:
    """Fact tables (as `compute` takes them) for a report on days lo…hi of `stores`; with
    `handoff`, the 转人工 report's `handoff` table too."""
    return arrow_to_facts(read_rows(db, stores, lo, hi), as_of_ms, handoff)


# -- the manager ----------------------------------------------------------------------------
def _refresh_lock_key(store: str) -> int:
    """A signed 64-bit advisory-lock key for refreshing `store`'s roll-ups (not the store's
    write lock: a refresh must never hold up the store's writers)."""
    digest = hashlib.blake2b(f"kefu-insight-refresh:{store}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass
class RefreshResult:
    """What one refresh or rebuild did."""

    events: int = 0
    rows: int = 0
    seconds: float = 0.0
    last_seq: int = 0


@dataclass
class Rollups:
    """The roll-ups of every store of one database: refresh, rebuild, read.

    One instance per process (the API keeps one on `app.state`); followers stay in memory
    between refreshes and are reloaded from `insight_cursor` when another process moved it.
    `adopt_settings`: a refresh under settings other than the roll-ups were built with goes
    on under the new ones (what the live server does after a restart with a changed file)
    instead of raising `SettingsMismatch` (what a command line run does).
    """

    db: SAEngine
    config: Config = field(default_factory=Config)
    adopt_settings: bool = True
    page: int = PAGE
    _followers: dict[str, Follower] = field(default_factory=dict, repr=False)
    _locks: dict[str, threading.RLock] = field(default_factory=dict, repr=False)
    _guard: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _dirty: set[str] = field(default_factory=set, repr=False)
    _last_dirty_run: float = field(default=-1e18, repr=False)

    def lock(self, store: str) -> threading.RLock:
        """The lock serialising refreshes of `store` in this process."""
        with self._guard:
            lk = self._locks.get(store)
            if lk is None:
                lk = self._locks[store] = threading.RLock()
            return lk

    # -- stores and dirtiness ---------------------------------------------------------------
    def stores(self) -> list[str]:
        """Every store with events in the log."""
        with self.db.connect() as conn:
            return sorted(conn.scalars(select(EventRow.store).distinct()))

    def mark_dirty(self, stores: Iterable[str]) -> None:
        """Note stores that have new events (cheap; for the service's `on_commit`)."""
        with self._guard:
            self._dirty.update(stores)

    def on_commit(self, _actions: Sequence[object], events: Sequence[Event]) -> None:
        """`EngineService.on_commit`-shaped hook: marks the batch's stores dirty."""
        self.mark_dirty(e.store for e in events)

    def refresh_dirty(self, min_interval_s: float = 0.0) -> dict[str, RefreshResult]:
        """Refresh the stores marked dirty (the server's ticker calls this); with
        `min_interval_s`, at most that often (each refresh saves the follower's state).
        A store another process is refreshing right now is left to it (PostgreSQL) and
        tried again next time: two processes replaying the same events is wasted work."""
        now = time.monotonic()
        with self._guard:
            if now - self._last_dirty_run < min_interval_s:
                return {}
            self._last_dirty_run = now
            todo, self._dirty = sorted(self._dirty), set()
        done: dict[str, RefreshResult] = {}
        for store in todo:
            result = self._refresh_unless_busy(store)
            if result is None:
                self.mark_dirty([store])
            else:
                done[store] = result
        return done

    def follow_once(self) -> dict[str, RefreshResult]:
        """Refresh every store with events, leaving those another process is refreshing
        (what `kefu insight follow` does each period)."""
        done: dict[str, RefreshResult] = {}
        for store in self.stores():
            result = self._refresh_unless_busy(store)
            if result is not None:
                done[store] = result
        return done

    def _refresh_unless_busy(self, store: str) -> RefreshResult | None:
        """`refresh(store)`, or None when another process holds the store's refresh lock."""
        if self.db.dialect.name != "postgresql":
            return self.refresh(store)
        key = {"k": _refresh_lock_key(store)}
        with self.db.connect() as conn:
            got = conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), key)
            conn.commit()
            if not got:
                return None
            try:
                return self.refresh(store)
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), key)
                conn.commit()

    def refresh_all(self, on_progress: Progress | None = None) -> dict[str, RefreshResult]:
        """Refresh every store of the log."""
        return {store: self.refresh(store, on_progress) for store in self.stores()}

    # -- the cursor -------------------------------------------------------------------------
    def _cursor(self, conn: Connection, store: str) -> tuple[Cursor, str] | None:
        c = CURSOR
        row = conn.execute(
            select(c.c.last_event_seq, c.c.last_action_seq, c.c.config_hash).where(
                c.c.store == store
            )
        ).first()
        return (Cursor(int(row[0]), int(row[1])), str(row[2])) if row is not None else None

    def _new_follower(self, store: str) -> Follower:
        return Follower(store, StreamFacts(self.config))

    def _load(self, conn: Connection, store: str) -> Follower:
        """The follower of `store` as the database has it (cached when still current)."""
        cur = self._cursor(conn, store)
        stale = cur is not None and cur[1] != config_hash(self.config, store)
        if stale and not self.adopt_settings:
            raise SettingsMismatch(
                f"the roll-ups of store {store!r} were built under another timezone or "
                "kefu version: pass the server's --config, or rebuild them "
                "(`kefu insight rebuild`)"
            )
        cached = self._followers.get(store)
        if cached is not None and cached.saved == (cur[0] if cur else None):
            return cached
        self._followers.pop(store, None)
        if cur is None:
            f = self._new_follower(store)
        else:
            c = CURSOR
            blob, events = conn.execute(
                select(c.c.state, c.c.events).where(c.c.store == store)
            ).one()
            version, *rest = pickle.loads(blob)
            if version != STATE_VERSION:
                if self.adopt_settings:  # the server: start this store's roll-ups over
                    with self.db.begin() as fresh:
                        delete_rows(fresh, store)
                        fresh.execute(delete(CURSOR).where(CURSOR.c.store == store))
                    f = self._new_follower(store)
                    self._followers[store] = f
                    return f
                raise SettingsMismatch(
                    f"the roll-ups of store {store!r} were made by another version of kefu: "
                    "rebuild them (`kefu insight rebuild`)"
                )
            f = Follower(store, StreamFacts.restore(self.config, rest[0]), cur[0],
                         int(events), cur[0])  # fmt: skip
        self._followers[store] = f
        return f

    def _save(self, conn: Connection, f: Follower) -> None:
        """Move the cursor to the follower (raises `Conflict` if it moved meanwhile)."""
        c = CURSOR
        values = {
            "last_event_seq": f.cursor.event_seq,
            "last_action_seq": f.cursor.action_seq,
            "events": f.events,
            "state": f.state_blob(),
            "config_hash": config_hash(self.config, f.store),
            "updated_ms": int(time.time() * 1000),
        }
        if f.saved is None:  # a concurrent first insert fails the transaction
            conn.execute(c.insert().values(store=f.store, **values))
        else:
            res = conn.execute(
                update(c)
                .where(
                    c.c.store == f.store,
                    c.c.last_event_seq == f.saved.event_seq,
                    c.c.last_action_seq == f.saved.action_seq,
                )
                .values(**values)
            )
            if res.rowcount != 1:
                raise Conflict(f.store)
        f.saved = f.cursor

    # -- refresh ----------------------------------------------------------------------------
    def pending(self, store: str) -> int:
        """How many logged events of `store` the roll-ups have not taken in yet."""
        with self.db.connect() as conn:
            cur = self._cursor(conn, store)
            after = cur[0].event_seq if cur else 0
            n = conn.scalar(
                select(func.count()).where(EventRow.store == store, EventRow.seq > after)
            )
        return int(n or 0)

    def refresh(
        self, store: str, on_progress: Progress | None = None, page: int | None = None
    ) -> RefreshResult:
        """Take in the events logged since the last refresh: append their rows, move on."""
        started = time.perf_counter()
        result = RefreshResult()
        total = self.pending(store) if on_progress is not None else 0
        page = page or self.page
        with self.lock(store):
            while True:
                with self.db.connect() as conn:
                    f = self._load(conn, store)
                    steps, cursor, n = read_page(conn, store, f.cursor, page)
                result.last_seq = f.last_seq
                if not steps:
                    break
                try:
                    f.events += feed(f.facts, steps)
                    f.cursor = cursor
                    rows = f.facts.take()
                    with self.db.begin() as conn:
                        if f.saved is None:
                            delete_rows(conn, store)  # a store's first rows: start clean
                        result.rows += write_rows(conn, rows)
                        self._save(conn, f)
                except (Conflict, IntegrityError):
                    self._followers.pop(store, None)  # another process went first: reload
                    continue
                except BaseException:
                    self._followers.pop(store, None)  # half-fed: never reuse
                    raise
                result.events += n
                result.last_seq = f.last_seq
                if n == 0:
                    break  # only late timer actions: nothing more to read
                if on_progress is not None:
                    on_progress(result.events, max(total, result.events))
        result.seconds = time.perf_counter() - started
        return result

    # -- rebuild ----------------------------------------------------------------------------
    def rebuild(
        self,
        store: str,
        days: tuple[int | None, int | None] = (None, None),
        on_progress: Progress | None = None,
    ) -> RefreshResult:
        """Derive the roll-ups of `store` again from its log (all, or only days lo…hi).

        A full rebuild deletes the store's rows and cursor and follows the log from the
        start. A range rebuild replays the log up to the cursor and replaces only the rows
        of those days (the cursor stays, so later events are not taken twice).
        """
        lo, hi = days
        with self.lock(store):
            with self.db.connect() as conn:
                cur = self._cursor(conn, store)
            if (lo is None and hi is None) or cur is None:
                with self.db.begin() as conn:
                    delete_rows(conn, store)
                    c = CURSOR
                    conn.execute(delete(c).where(c.c.store == store))
                self._followers.pop(store, None)
                return self.refresh(store, on_progress, page=max(self.page, REBUILD_PAGE))
            return self._rebuild_days(store, cur[0], (lo, hi), on_progress)

    def _rebuild_days(
        self,
        store: str,
        upto: Cursor,
        days: tuple[int | None, int | None],
        on_progress: Progress | None,
    ) -> RefreshResult:
        started = time.perf_counter()
        window = (days[0] if days[0] is not None else -(2**31 - 1),
                  days[1] if days[1] is not None else 2**31 - 1)  # fmt: skip
        f = self._new_follower(store)
        kept: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        result = RefreshResult()
        with self.db.connect() as conn:
            total = int(conn.scalar(select(func.count()).where(
                EventRow.store == store, EventRow.seq <= upto.event_seq)) or 0)  # fmt: skip
        while True:
            with self.db.connect() as conn:
                steps, cursor, n = read_page(conn, store, f.cursor, REBUILD_PAGE, upto)
            if not steps:
                break
            f.events += feed(f.facts, steps)
            f.cursor = cursor
            for name, rows in f.facts.take().items():
                kept[name].extend(
                    r for r in rows if window[0] <= r[_GETTERS[name][3]] // DAY_MS <= window[1]
                )
            result.events += n
            if on_progress is not None:
                on_progress(result.events, total)
            if n == 0 or f.last_seq >= upto.event_seq:
                break
        with self.db.begin() as conn:
            c = CURSOR
            res = conn.execute(  # still at `upto`? (holds the row until the commit)
                update(c)
                .where(
                    c.c.store == store,
                    c.c.last_event_seq == upto.event_seq,
                    c.c.last_action_seq == upto.action_seq,
                )
                .values(updated_ms=int(time.time() * 1000))
            )
            if res.rowcount != 1:
                raise Conflict(store)
            delete_rows(conn, store, window)
            result.rows = write_rows(conn, kept)
        result.last_seq = upto.event_seq
        result.seconds = time.perf_counter() - started
        return result

    # -- reports ----------------------------------------------------------------------------
    def facts(
        self,
        stores: Iterable[str],
        lo: int | None = None,
        hi: int | None = None,
        as_of_ms: int | None = None,
        refresh: bool = True,
        handoff: bool = False,
    ) -> dict[str, pa.Table]:
        """Fact tables for a report on days lo…hi (refreshing the stores first); with
        `handoff`, the 转人工 report's `handoff` table too."""
        chosen = list(stores)
        if refresh:
            for store in chosen:
                self.refresh(store)
        return read_facts(self.db, chosen, lo, hi, as_of_ms, handoff)

    def report(
        self,
        stores: Iterable[str],
        day_from: date | str | None = None,
        day_to: date | str | None = None,
        refresh: bool = True,
        backend: str = "duckdb",
        parts: Iterable[str] | None = None,
    ) -> dict[str, Any]:
        """The metrics document of `stores` for days day_from…day_to, from the roll-ups."""
        from kefu.insight.metrics import compute, day_number

        chosen = list(stores)
        lo = day_number(day_from) if day_from is not None else None
        hi = day_number(day_to) if day_to is not None else None
        tables = self.facts(chosen, lo, hi, refresh=refresh)
        return compute(tables, self.config, backend=backend, day_from=day_from, day_to=day_to,
                       stores=chosen, parts=parts)  # fmt: skip
