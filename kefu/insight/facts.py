"""Fact tables for service insight: what happened, columnar, with real nulls.

`FactsBuilder` watches the same time-ordered stream the engine sees (input events plus the
actions the engine emitted) and keeps plain rows; `tables()` turns them into Arrow tables.
Every metric of metrics.md is an Ibis expression over these tables (`kefu.insight.metrics`),
so no metric logic lives here: only what each event was, when, and in which conversation.

Columns every dated table carries:
- `ts_ms`: epoch milliseconds; `local_ms`: the same instant as store-local wall-clock
  milliseconds (ts + the store timezone's UTC offset then), so day and time-of-day are
  integer arithmetic on every engine (no session-timezone surprises on Spark);
- `cid`: a dense integer per (store, conversation), the join key between tables.

Arrow keeps nulls as nulls: never build these tables through pandas (stack.md: a NaN is not
a NULL on Spark, and `mean()` differs).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa

from kefu.engine import actions as act
from kefu.engine import events as ev
from kefu.engine.settings import Config
from kefu.storage.parquet import read_tables, write_tables

_I64 = pa.int64()
_STR = pa.string()

SCHEMAS: dict[str, pa.Schema] = {
    "conversations": pa.schema(
        [
            ("cid", _I64),
            ("store", _STR),
            ("conversation", _STR),
            ("buyer", _STR),
            ("opened_ms", _I64),
            ("off_ms", _I64),  # the store's UTC offset at opening, for times of this conversation
            ("closed_ms", _I64),
            ("close_reason", _STR),
            ("first_sender", _STR),  # first buyer or agent message (bot/system ignored)
            ("button_shown", pa.bool_()),  # handoff.button: offered the 转人工 button
            ("variant", _STR),  # handoff.button A/B arm
        ]
    ),
    "messages": pa.schema(
        [
            ("seq", _I64),
            ("cid", _I64),
            ("store", _STR),
            ("buyer", _STR),
            ("sender", _STR),  # buyer | agent | bot | system
            ("agent", _STR),
            ("ts_ms", _I64),
            ("local_ms", _I64),
        ]
    ),
    "assignments": pa.schema(
        [
            ("seq", _I64),
            ("cid", _I64),
            ("store", _STR),
            ("buyer", _STR),
            ("agent", _STR),
            ("reason", _STR),
            ("ts_ms", _I64),
            ("local_ms", _I64),
        ]
    ),
    "transfers": pa.schema(
        [
            ("seq", _I64),
            ("cid", _I64),
            ("store", _STR),
            ("buyer", _STR),
            ("kind", _STR),  # click | assigned | queued | failed | ignored | leave
            ("agent", _STR),
            ("waited_ms", _I64),  # queue.leave only
            ("ts_ms", _I64),
            ("local_ms", _I64),
        ]
    ),
    "orders": pa.schema(
        [
            ("store", _STR),
            ("order", _STR),
            ("buyer", _STR),
            ("amount", pa.float64()),
            ("ts_ms", _I64),
            ("local_ms", _I64),
        ]
    ),
    "payments": pa.schema(
        [
            ("store", _STR),
            ("order", _STR),
            ("buyer", _STR),
            ("amount", pa.float64()),
            ("ts_ms", _I64),
            ("local_ms", _I64),
        ]
    ),
    "cancels": pa.schema([("store", _STR), ("order", _STR), ("ts_ms", _I64), ("local_ms", _I64)]),
    "guide": pa.schema(
        [
            ("store", _STR),
            ("agent", _STR),
            ("buyer", _STR),
            ("kind", _STR),  # panel (one row per recommended item) | view | send (per item)
            ("product", _STR),
            ("ts_ms", _I64),
            ("local_ms", _I64),
        ]
    ),
    "item_views": pa.schema(
        [("store", _STR), ("buyer", _STR), ("product", _STR), ("ts_ms", _I64), ("local_ms", _I64)]
    ),
    "order_items": pa.schema(
        [
            ("store", _STR),
            ("order", _STR),
            ("buyer", _STR),
            ("product", _STR),
            ("amount", pa.float64()),
            ("ts_ms", _I64),
            ("local_ms", _I64),
        ]
    ),
    "urges": pa.schema(
        [
            ("store", _STR),
            ("buyer", _STR),
            ("conversation", _STR),
            ("kind", _STR),  # send | skip | alert
            ("sender", _STR),  # send: the account that sent it
            ("product", _STR),
            ("reason", _STR),  # skip: why not sent
            ("ts_ms", _I64),
            ("local_ms", _I64),
        ]
    ),
    "ratings": pa.schema(
        [
            ("cid", _I64),
            ("store", _STR),
            ("buyer", _STR),
            ("agent", _STR),
            ("score", _I64),
            ("ts_ms", _I64),
            ("local_ms", _I64),
        ]
    ),
}

TABLES = tuple(SCHEMAS)
# Every `handoff.button` decision with its rollout bucket and the store tier the gate saw:
# the 转人工 report's population (kefu.conversations.report); not an insight metric table.
HANDOFF_SCHEMA = pa.schema(
    [
        ("cid", _I64),
        ("store", _STR),
        ("variant", _STR),
        ("shown", pa.bool_()),
        ("bucket", _I64),
        ("tier", _STR),
    ]
)
_TRANSFER_KINDS = {"assigned", "queued", "failed", "ignored"}


class FactsBuilder:
    """Collects fact rows from events and actions fed in time order; see the module doc."""

    def __init__(self, config: Config | None = None) -> None:
        self._config = config or Config()
        self._tz: dict[str, ZoneInfo] = {}
        self._off_cache: dict[tuple[str, int], int] = {}
        self._rows: dict[str, list[tuple[object, ...]]] = {name: [] for name in SCHEMAS}
        self._cid: dict[tuple[str, str], int] = {}
        self._conv: list[list[object]] = []  # mutable conversation rows, index = cid
        self._handoff: list[tuple[object, ...]] = []  # HANDOFF_SCHEMA rows
        self._seq = 0

    # -- time -------------------------------------------------------------------------------
    def _offset(self, store: str, ts: int) -> int:
        """The store timezone's UTC offset (ms) at `ts`, cached per quarter hour."""
        key = (store, ts // 900_000)
        off = self._off_cache.get(key)
        if off is None:
            tz = self._tz.get(store)
            if tz is None:
                tz = self._tz[store] = self._config.for_store(store).tz
            delta = datetime.fromtimestamp(ts / 1000, tz).utcoffset()
            off = self._off_cache[key] = int(delta.total_seconds() * 1000) if delta else 0
        return off

    def _local(self, store: str, ts: int) -> int:
        return ts + self._offset(store, ts)

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # -- conversations ----------------------------------------------------------------------
    def _conversation(self, store: str, conversation: str, buyer: str, ts: int) -> int:
        key = (store, conversation)
        cid = self._cid.get(key)
        if cid is None:
            cid = self._cid[key] = len(self._conv)
            self._conv.append(
                [cid, store, conversation, buyer, ts, self._offset(store, ts)] + [None] * 5
            )
        return cid

    def _first_sender(self, cid: int, sender: str) -> None:
        row = self._conv[cid]
        if row[8] is None and sender in ("buyer", "agent"):
            row[8] = sender

    def _closed(self, cid: int, store: str, buyer: str, ts: int, reason: str) -> None:
        """The conversation closed (the first close counts)."""
        row = self._conv[cid]
        if row[6] is None:
            row[6], row[7] = ts, reason

    def _button(
        self, cid: int, store: str, buyer: str, ts: int, shown: bool, variant: str | None,
        bucket: int | None, tier: str | None,
    ) -> None:  # fmt: skip
        """The engine decided on the 转人工 button (the first decision counts for the
        conversation; the 转人工 report keeps every decision)."""
        self._handoff.append((cid, store, variant, shown, bucket, tier))
        row = self._conv[cid]
        if row[9] is None:
            row[9], row[10] = shown, variant

    def _known_cid(self, store: str, conversation: str) -> int | None:
        """The cid of a conversation already seen, else None."""
        return self._cid.get((store, conversation))

    # -- feeding ----------------------------------------------------------------------------
    def add_event(self, event: ev.Event, conversation_id: str | None) -> None:
        """Record one input event; `conversation_id` is the engine's conversation for it."""
        store, ts = event.store, event.at
        rows = self._rows
        if isinstance(event, ev.Message):
            if conversation_id is None:
                return
            cid = self._conversation(store, conversation_id, event.buyer, ts)
            self._first_sender(cid, event.sender)
            if event.sender == "agent" and event.products:
                local = self._local(store, ts)
                for product in event.products:
                    rows["guide"].append(
                        (store, event.agent, event.buyer, "send", product, ts, local)
                    )
            rows["messages"].append(
                (self._next_seq(), cid, store, event.buyer, event.sender,
                 event.agent if event.sender == "agent" else None, ts, self._local(store, ts))
            )  # fmt: skip
        elif isinstance(event, ev.TransferClick):
            if conversation_id is None:
                return
            cid = self._conversation(store, conversation_id, event.buyer, ts)
            rows["transfers"].append(
                (self._next_seq(), cid, store, event.buyer, "click", None, None, ts,
                 self._local(store, ts))
            )  # fmt: skip
        elif isinstance(event, ev.Order):
            local = self._local(store, ts)
            rows["orders"].append((store, event.order, event.buyer, event.amount, ts, local))
            for item in event.items:
                rows["order_items"].append((store, event.order, event.buyer, item.product,
                                            item.qty * item.price, ts, local))  # fmt: skip
        elif isinstance(event, ev.View):
            rows["item_views"].append(
                (store, event.buyer, event.product, ts, self._local(store, ts))
            )
        elif isinstance(event, ev.GuideView):
            rows["guide"].append(
                (store, event.agent, event.buyer, "view", None, ts, self._local(store, ts))
            )
        elif isinstance(event, ev.Payment):
            rows["payments"].append(
                (store, event.order, event.buyer, event.amount, ts, self._local(store, ts))
            )
        elif isinstance(event, ev.OrderCancel):
            rows["cancels"].append((store, event.order, ts, self._local(store, ts)))
        elif isinstance(event, ev.Rating):
            cid_or_none = (
                self._known_cid(store, conversation_id) if conversation_id is not None else None
            )
            rows["ratings"].append(
                (cid_or_none, store, event.buyer, event.agent, event.score, ts,
                 self._local(store, ts))
            )  # fmt: skip

    def add_actions(self, actions: Iterable[act.Action]) -> None:
        """Record the engine's actions (in the order it emitted them)."""
        rows = self._rows
        for a in actions:
            store, ts = a.store, a.ts
            if isinstance(a, act.ConversationOpen):
                self._conversation(store, a.conversation, a.buyer, ts)
            elif isinstance(a, act.ConversationClosed):
                cid = self._conversation(store, a.conversation, a.buyer, ts)
                self._closed(cid, store, a.buyer, ts, a.reason)
            elif isinstance(a, act.Assign):
                cid = self._conversation(store, a.conversation, a.buyer, ts)
                rows["assignments"].append(
                    (self._next_seq(), cid, store, a.buyer, a.agent, a.reason, ts,
                     self._local(store, ts))
                )  # fmt: skip
            elif isinstance(a, act.BotReply):
                cid = self._conversation(store, a.conversation, a.buyer, ts)
                rows["messages"].append(
                    (self._next_seq(), cid, store, a.buyer, "bot", None, ts, self._local(store, ts))
                )
            elif isinstance(a, act.HandoffButton):
                cid = self._conversation(store, a.conversation, a.buyer, ts)
                self._button(cid, store, a.buyer, ts, a.shown, a.variant, a.bucket, a.tier)
            elif isinstance(a, act.TransferResult):
                if a.outcome in _TRANSFER_KINDS:
                    cid = self._conversation(store, a.conversation, a.buyer, ts)
                    rows["transfers"].append(
                        (self._next_seq(), cid, store, a.buyer, a.outcome, a.agent, None, ts,
                         self._local(store, ts))
                    )  # fmt: skip
            elif isinstance(a, act.GuidePanel):
                local = self._local(store, ts)
                recommended: list[str | None] = [*a.products[1:]] or [None]
                for product in recommended:
                    rows["guide"].append((store, a.agent, a.buyer, "panel", product, ts, local))
            elif isinstance(a, act.UrgeSend):
                rows["urges"].append((store, a.buyer, a.conversation, "send", a.sender, a.product,
                                      None, ts, self._local(store, ts)))  # fmt: skip
            elif isinstance(a, act.UrgeSkip):
                rows["urges"].append((store, a.buyer, a.conversation, "skip", None, None,
                                      a.reason, ts, self._local(store, ts)))  # fmt: skip
            elif isinstance(a, act.UrgeAlert):
                rows["urges"].append((store, a.buyer, a.conversation, "alert", a.agent, None,
                                      None, ts, self._local(store, ts)))  # fmt: skip
            elif isinstance(a, act.QueueLeave):
                cid = self._conversation(store, a.conversation, a.buyer, ts)
                rows["transfers"].append(
                    (self._next_seq(), cid, store, a.buyer, "leave", None,
                     round(a.waited_s * 1000), ts, self._local(store, ts))
                )  # fmt: skip

    # -- output -----------------------------------------------------------------------------
    def tables(self) -> dict[str, pa.Table]:
        """Every fact table as Arrow (explicit schemas, real nulls)."""
        out: dict[str, pa.Table] = {}
        for name, schema in SCHEMAS.items():
            rows = self._conv if name == "conversations" else self._rows[name]
            out[name] = _to_table(rows, schema)
        return out

    def handoff(self) -> pa.Table:
        """The `handoff.button` decisions (HANDOFF_SCHEMA), for the 转人工 report."""
        return _to_table(self._handoff, HANDOFF_SCHEMA)


def _to_table(rows: list[tuple[object, ...]] | list[list[object]], schema: pa.Schema) -> pa.Table:
    cols = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    return pa.Table.from_arrays(
        [pa.array(list(c), type=f.type) for c, f in zip(cols, schema, strict=True)],
        schema=schema,
    )


def empty_tables() -> dict[str, pa.Table]:
    """Every fact table with no rows."""
    return {name: schema.empty_table() for name, schema in SCHEMAS.items()}


def write_parquet(tables: dict[str, pa.Table], folder: str | Path) -> None:
    """Write each fact table to `folder/<name>.parquet`."""
    write_tables(tables, folder, TABLES)


def read_parquet(folder: str | Path) -> dict[str, pa.Table]:
    """Read the fact tables written by `write_parquet` (a missing table is empty)."""
    return read_tables(folder, SCHEMAS)
