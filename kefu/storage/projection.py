"""Project events and actions into the entity tables the API and reports query.

Batched: one statement per table per call, later values of the same key winning, so a batch
of thousands of events costs a handful of round trips. Entities first named by some other
event (an agent who speaks, a buyer who orders) are created with defaults.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from kefu.engine import actions as act
from kefu.engine import events as ev
from kefu.storage import models
from kefu.storage.repo import insert_for, now_ms


class _Batch:
    """Rows gathered per table before writing."""

    def __init__(self) -> None:
        self.stores: set[str] = set()
        self.agents: dict[tuple[str, str], dict[str, Any]] = {}
        self.products: dict[tuple[str, str], dict[str, Any]] = {}
        self.buyers: dict[tuple[str, str], dict[str, Any]] = {}
        self.messages: list[dict[str, Any]] = []
        self.orders: dict[tuple[str, str], dict[str, Any]] = {}
        self.payments: list[dict[str, Any]] = []
        self.paid: list[tuple[str, str]] = []
        self.cancels: list[tuple[str, str, int]] = []
        self.aftersales: dict[tuple[str, str], dict[str, Any]] = {}
        self.closed_aftersales: list[tuple[str, str, int]] = []


def _buyer(b: _Batch, store: str, buyer: str, ts: int) -> None:
    b.buyers.setdefault((store, buyer), {"store": store, "buyer": buyer, "first_seen_ms": ts})


def _agent(b: _Batch, store: str, agent: str, ts: int) -> dict[str, Any]:
    return b.agents.setdefault((store, agent), {"store": store, "agent": agent, "updated_ms": ts})


def _gather(b: _Batch, store: str, e: ev.Event, conversation: str | None) -> None:
    ts = e.at
    b.stores.add(store)
    if isinstance(e, ev.Message):
        _buyer(b, store, e.buyer, ts)
        if e.agent is not None:
            _agent(b, store, e.agent, ts)
        b.messages.append({
            "store": store, "conversation": conversation, "buyer": e.buyer, "sender": e.sender,
            "agent": e.agent, "text": e.text, "product": e.product, "products": e.products,
            "ts_ms": ts,
        })  # fmt: skip
    elif isinstance(e, ev.Product):
        b.products[(store, e.product)] = {
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
        _buyer(b, store, e.buyer, ts)
        b.buyers[(store, e.buyer)].update(
            province=e.province, gender=e.gender, age_band=e.age_band,
            member_since=e.member_since,
        )  # fmt: skip
    elif isinstance(e, ev.Order):
        _buyer(b, store, e.buyer, ts)
        b.orders[(store, e.order)] = {
            "store": store, "order_id": e.order, "buyer": e.buyer, "amount": e.amount,
            "items": [{"product": i.product, "qty": i.qty, "price": i.price} for i in e.items],
            "created_ms": ts, "status": "created",
        }  # fmt: skip
    elif isinstance(e, ev.Payment):
        b.payments.append({"store": store, "order_id": e.order, "amount": e.amount, "paid_ms": ts})
        b.paid.append((store, e.order))
    elif isinstance(e, ev.OrderCancel):
        b.cancels.append((store, e.order, ts))
    elif isinstance(e, ev.AftersaleOpen):
        b.aftersales[(store, e.order)] = {
            "store": store, "order_id": e.order, "buyer": e.buyer, "opened_ms": ts,
        }  # fmt: skip
    elif isinstance(e, ev.AftersaleClose):
        b.closed_aftersales.append((store, e.order, ts))
    elif isinstance(e, (ev.View, ev.Impression, ev.Search, ev.CartAdd, ev.Favorite)):
        _buyer(b, store, e.buyer, ts)


def _upsert(session: Session, model: Any, rows: Iterable[dict[str, Any]], keys: list[str]) -> None:
    rows = list(rows)
    if not rows:
        return
    table = model.__table__
    # One statement per distinct column set (a row carries only what its events said).
    by_cols: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in rows:
        by_cols.setdefault(tuple(sorted(r)), []).append(r)
    for cols, group in by_cols.items():
        stmt = insert_for(session, table)
        updates = {c: stmt.excluded[c] for c in cols if c not in keys}
        if model is models.Buyer:
            updates.pop("first_seen_ms", None)
        stmt = (
            stmt.on_conflict_do_update(index_elements=keys, set_=updates)
            if updates
            else stmt.on_conflict_do_nothing(index_elements=keys)
        )
        session.execute(stmt, group)


def project(session: Session, store: str, items: Sequence[tuple[ev.Event, str | None]]) -> None:
    """Write the entity rows of `items` ((event, conversation id) pairs) of one store."""
    b = _Batch()
    for e, conversation in items:
        _gather(b, store, e, conversation)
    created = now_ms()
    _upsert(session, models.Store, ({"id": s, "created_ms": created} for s in b.stores), ["id"])
    _upsert(session, models.Agent, b.agents.values(), ["store", "agent"])
    _upsert(session, models.Product, b.products.values(), ["store", "product"])
    _upsert(session, models.Buyer, b.buyers.values(), ["store", "buyer"])
    _upsert(session, models.Order, b.orders.values(), ["store", "order_id"])
    _upsert(session, models.Aftersale, b.aftersales.values(), ["store", "order_id"])
    if b.messages:
        session.execute(insert_for(session, models.Message.__table__), b.messages)
    if b.payments:
        session.execute(insert_for(session, models.Payment.__table__), b.payments)
    o = models.Order
    for s, order in b.paid:
        session.execute(
            update(o).where(o.store == s, o.order_id == order, o.status == "created")
            .values(status="paid")
        )  # fmt: skip
    for s, order, ts in b.cancels:
        session.execute(
            update(o).where(o.store == s, o.order_id == order)
            .values(status="cancelled", cancelled_ms=ts)
        )  # fmt: skip
    a = models.Aftersale
    for s, order, ts in b.closed_aftersales:
        session.execute(update(a).where(a.store == s, a.order_id == order).values(closed_ms=ts))


def project_actions(session: Session, actions: Iterable[act.Action]) -> None:
    """Conversation rows follow the engine's open / close / assign decisions."""
    c = models.Conversation
    for a in actions:
        if isinstance(a, act.ConversationOpen):
            project_conversation(session, a.store, a.conversation, a.buyer, opened_ms=a.ts)
        elif isinstance(a, act.ConversationClosed):
            session.execute(
                update(c).where(c.store == a.store, c.conversation == a.conversation)
                .values(closed_ms=a.ts, status="closed", close_reason=a.reason)
            )  # fmt: skip
        elif isinstance(a, act.Assign):
            session.execute(
                update(c).where(c.store == a.store, c.conversation == a.conversation)
                .values(agent=a.agent)
            )  # fmt: skip


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
    """Insert or update one conversation row."""
    row: dict[str, Any] = {"store": store, "conversation": conversation, "buyer": buyer,
                           "opened_ms": opened_ms or 0}  # fmt: skip
    extra = {"closed_ms": closed_ms, "agent": agent, "status": status,
             "close_reason": close_reason}  # fmt: skip
    row.update({k: v for k, v in extra.items() if v is not None})
    _upsert(session, models.Conversation, [row], ["store", "conversation"])
