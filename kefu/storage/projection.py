"""Project events and actions into the entity tables the API and reports query.

The event log stays the source of truth; these rows are a convenience for queries. A call is
batched: events are first folded in memory per key (later values win, in event order), then
written with one bulk upsert, insert or executemany update per table, so thousands of events
cost a handful of round trips. Entities first named by another event (an agent who speaks, a
buyer who orders) are created with defaults. Times come from the events, never the wall
clock, so projecting the same events gives the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import msgspec
from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from kefu.engine import actions as act
from kefu.engine import events as ev
from kefu.storage import models
from kefu.storage.repo import insert_for

Key = tuple[str, str]


class _Batch:
    """Rows gathered per table before writing."""

    def __init__(self) -> None:
        self.created_ms: int | None = None
        self.agents: dict[str, dict[str, Any]] = {}
        self.products: dict[str, dict[str, Any]] = {}
        self.buyers: dict[str, dict[str, Any]] = {}
        self.messages: list[dict[str, Any]] = []
        self.orders: dict[str, dict[str, Any]] = {}
        self.payments: list[dict[str, Any]] = []
        self.aftersales: dict[str, dict[str, Any]] = {}
        # Payments, cancels and closes of orders / cases that an earlier call created.
        self.paid: list[str] = []
        self.cancelled: dict[str, int] = {}
        self.closed_cases: dict[str, int] = {}


def _buyer(b: _Batch, store: str, buyer: str, ts: int) -> dict[str, Any]:
    return b.buyers.setdefault(buyer, {"store": store, "buyer": buyer, "first_seen_ms": ts})


def _agent(b: _Batch, store: str, agent: str, ts: int) -> dict[str, Any]:
    return b.agents.setdefault(agent, {"store": store, "agent": agent, "updated_ms": ts})


def _gather(b: _Batch, store: str, e: ev.Event, conversation: str | None) -> None:
    ts = e.at
    if b.created_ms is None:
        b.created_ms = ts
    if isinstance(e, ev.Message):
        _buyer(b, store, e.buyer, ts)
        if e.agent is not None:
            _agent(b, store, e.agent, ts)
        b.messages.append({
            "store": store, "conversation": conversation or e.conversation, "buyer": e.buyer,
            "sender": e.sender, "agent": e.agent, "text": e.text, "product": e.product,
            "products": e.products, "ts_ms": ts,
            "attachments": msgspec.to_builtins(e.attachments) if e.attachments else None,
        })  # fmt: skip
    elif isinstance(e, ev.Product):
        b.products[e.product] = {
            "store": store, "product": e.product, "title": e.title, "price": e.price,
            "category": e.category, "attrs": e.attrs, "description": e.description,
            "status": e.status, "stock": e.stock,
        }  # fmt: skip
    elif isinstance(e, ev.Agent):
        row = _agent(b, store, e.agent, ts)
        row.update(name=e.name, role=e.role, updated_ms=ts)
        if e.groups is not None:
            row["groups"] = list(e.groups)
        if e.capacity is not None:
            row["capacity"] = e.capacity
    elif isinstance(e, ev.AgentStatus):
        _agent(b, store, e.agent, ts).update(status=e.status, updated_ms=ts)
    elif isinstance(e, ev.Buyer):
        _buyer(b, store, e.buyer, ts).update(
            province=e.province, gender=e.gender, age_band=e.age_band,
            member_since=e.member_since,
        )  # fmt: skip
    elif isinstance(e, ev.Order):
        _buyer(b, store, e.buyer, ts)
        b.orders[e.order] = {
            "store": store, "order_id": e.order, "buyer": e.buyer, "amount": e.amount,
            "items": [{"product": i.product, "qty": i.qty, "price": i.price} for i in e.items],
            "created_ms": ts, "status": "created", "cancelled_ms": None,
        }  # fmt: skip
    elif isinstance(e, ev.Payment):
        if e.buyer is not None:
            _buyer(b, store, e.buyer, ts)
        b.payments.append({"store": store, "order_id": e.order, "amount": e.amount, "paid_ms": ts})
        order = b.orders.get(e.order)
        if order is None:
            b.paid.append(e.order)
        elif order["status"] == "created":
            order["status"] = "paid"
    elif isinstance(e, ev.OrderCancel):
        order = b.orders.get(e.order)
        if order is None:
            b.cancelled[e.order] = ts
        else:
            order.update(status="cancelled", cancelled_ms=ts)
    elif isinstance(e, ev.AftersaleOpen):
        _buyer(b, store, e.buyer, ts)
        b.closed_cases.pop(e.order, None)
        b.aftersales[e.order] = {
            "store": store, "order_id": e.order, "buyer": e.buyer, "opened_ms": ts,
            "closed_ms": None,
        }  # fmt: skip
    elif isinstance(e, ev.AftersaleClose):
        case = b.aftersales.get(e.order)
        if case is None:
            b.closed_cases[e.order] = ts
        else:
            case["closed_ms"] = ts
    elif isinstance(e, (ev.View, ev.Impression, ev.Search, ev.CartAdd, ev.Favorite)):
        _buyer(b, store, e.buyer, ts)


def _upsert(
    session: Session,
    model: Any,
    rows: Iterable[dict[str, Any]],
    keys: Sequence[str],
    insert_only: Sequence[str] = (),
) -> None:
    """INSERT … ON CONFLICT DO UPDATE of the columns each row names (not `insert_only`)."""
    table = model.__table__
    # One statement per distinct column set: a row carries only what its events said, and
    # a column it does not name keeps its stored value.
    by_cols: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in rows:
        by_cols.setdefault(tuple(sorted(r)), []).append(r)
    for cols, group in by_cols.items():
        stmt = insert_for(session, table)
        # excluded[...] and not excluded.<name>: some columns are named like methods (`index`).
        updates = {c: stmt.excluded[c] for c in cols if c not in keys and c not in insert_only}
        stmt = (
            stmt.on_conflict_do_update(index_elements=list(keys), set_=updates)
            if updates
            else stmt.on_conflict_do_nothing(index_elements=list(keys))
        )
        session.execute(stmt, group)


def _update_many(
    session: Session,
    model: Any,
    keys: Sequence[str],
    rows: Iterable[dict[str, Any]],
    where: dict[str, Any] | None = None,
) -> None:
    """One executemany UPDATE per column set: `rows` hold the key columns and new values."""
    table = model.__table__
    by_cols: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in rows:
        by_cols.setdefault(tuple(sorted(r)), []).append(r)
    for cols, group in by_cols.items():
        # Bind names must differ from column names in an UPDATE's WHERE and SET.
        stmt = (
            update(table)
            .where(*(table.c[k] == bindparam(f"k_{k}") for k in keys))
            .where(*(table.c[c] == v for c, v in (where or {}).items()))
            .values({c: bindparam(f"v_{c}") for c in cols if c not in keys})
        )
        params = [{(f"k_{c}" if c in keys else f"v_{c}"): r[c] for c in cols} for r in group]
        session.connection().execute(stmt, params)


def project(session: Session, store: str, items: Sequence[tuple[ev.Event, str | None]]) -> None:
    """Write the entity rows of one store's `items`: (event, conversation id) pairs in order."""
    if not items:
        return
    b = _Batch()
    for e, conversation in items:
        _gather(b, store, e, conversation)
    _upsert(session, models.Store, [{"id": store, "created_ms": b.created_ms}], ["id"],
            insert_only=["created_ms"])  # fmt: skip
    # An agent only seen speaking gets a row with defaults; an existing row keeps its values.
    mentioned = [r for r in b.agents.values() if len(r) == 3]
    _upsert(session, models.Agent, mentioned, ["store", "agent"], insert_only=["updated_ms"])
    stated = [r for r in b.agents.values() if len(r) > 3]
    _upsert(session, models.Agent, stated, ["store", "agent"])
    _upsert(session, models.Product, b.products.values(), ["store", "product"])
    _upsert(session, models.Buyer, b.buyers.values(), ["store", "buyer"],
            insert_only=["first_seen_ms"])  # fmt: skip
    _upsert(session, models.Order, b.orders.values(), ["store", "order_id"])
    _upsert(session, models.Aftersale, b.aftersales.values(), ["store", "order_id"])
    if b.messages:
        session.execute(insert_for(session, models.Message.__table__), b.messages)
    if b.payments:
        session.execute(insert_for(session, models.Payment.__table__), b.payments)
    # Orders and cases created by an earlier call: a payment moves only a `created` order to
    # `paid`; a cancel wins over a payment, as it does inside one batch.
    keys = ["store", "order_id"]
    paid = [{"store": store, "order_id": o, "status": "paid"} for o in dict.fromkeys(b.paid)]
    _update_many(session, models.Order, keys, paid, where={"status": "created"})
    cancelled = [
        {"store": store, "order_id": o, "status": "cancelled", "cancelled_ms": ts}
        for o, ts in b.cancelled.items()
    ]
    _update_many(session, models.Order, keys, cancelled)
    closed = [{"store": store, "order_id": o, "closed_ms": ts} for o, ts in b.closed_cases.items()]
    _update_many(session, models.Aftersale, keys, closed)


def project_actions(session: Session, actions: Iterable[act.Action]) -> None:
    """Conversation rows follow the engine's open / assign / close decisions (batched)."""
    opened: dict[Key, dict[str, Any]] = {}
    changed: dict[Key, dict[str, Any]] = {}
    for a in actions:
        if isinstance(a, act.ConversationOpen):
            key = (a.store, a.conversation)
            changed.pop(key, None)
            opened[key] = {
                "store": a.store, "conversation": a.conversation, "buyer": a.buyer,
                "opened_ms": a.ts, "closed_ms": None, "agent": None, "status": "open",
                "close_reason": None,
            }  # fmt: skip
        elif isinstance(a, (act.Assign, act.ConversationClosed)):
            key = (a.store, a.conversation)
            row = opened.get(key)
            if row is None:
                row = changed.setdefault(key, {"store": a.store, "conversation": a.conversation})
            if isinstance(a, act.Assign):
                row["agent"] = a.agent
            else:
                row.update(closed_ms=a.ts, status="closed", close_reason=a.reason)
                if a.agent is not None:
                    row["agent"] = a.agent
    _upsert(session, models.Conversation, opened.values(), ["store", "conversation"])
    # A conversation opened by an earlier call: update the row, never invent one.
    _update_many(session, models.Conversation, ["store", "conversation"], changed.values())


def project_conversation(
    session: Session,
    store: str,
    conversation: str,
    buyer: str,
    opened_ms: int | None = None,
    closed_ms: int | None = None,
    agent: str | None = None,
    status: str | None = None,
    close_reason: str | None = None,
) -> None:
    """Insert or update one conversation row; the fields left None keep their stored value."""
    row: dict[str, Any] = {"store": store, "conversation": conversation, "buyer": buyer,
                           "opened_ms": opened_ms or 0}  # fmt: skip
    extra = {"closed_ms": closed_ms, "agent": agent, "status": status,
             "close_reason": close_reason}  # fmt: skip
    row.update({k: v for k, v in extra.items() if v is not None})
    insert_only = [] if opened_ms is not None else ["opened_ms"]
    _upsert(session, models.Conversation, [row], ["store", "conversation"], insert_only)
