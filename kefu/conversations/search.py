"""Conversation search over the projection tables: by buyer, text, order id and date range.

A first version with LIKE (`%…%`, case-insensitive where the database allows): a text
search scans the store's messages (PostgreSQL's pg_trgm or a full-text column would index
it; not done yet). The rest is indexed: conversations by (store, opened_ms) for the
newest-first order and date ranges, messages by (store, conversation) and (store, buyer).

Order search: the conversations of the order's buyer, and every conversation whose messages
mention the order id. Pages are newest first with a keyset cursor `<opened_ms>.<id>`, so a
page never repeats or skips rows when new conversations open meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, or_, select

from kefu.engine.output import format_ts
from kefu.storage import models

C, M, Ord = models.Conversation, models.Message, models.Order
SNIPPET = 120


class SearchError(ValueError):
    """A bad search parameter; `field` names it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass
class Query:
    """What to look for; every given criterion must hold (AND)."""

    buyer: str | None = None
    text: str | None = None
    order: str | None = None
    start_ms: int | None = None  # opened at or after
    end_ms: int | None = None  # opened before


def day_bound(value: str, tz: ZoneInfo, field: str, end: bool) -> int:
    """`YYYY-MM-DD` (a day in the store's timezone; `end`: the day is included) or an RFC 3339
    time with an offset, as epoch milliseconds."""
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            start = datetime.combine(d + timedelta(days=1) if end else d, time(), tz)
            return int(start.timestamp() * 1000)
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise SearchError(field, "not a date (YYYY-MM-DD) or RFC 3339 time") from None
    if dt.utcoffset() is None:
        raise SearchError(field, "an RFC 3339 time needs an offset (e.g. +08:00)")
    return int(dt.timestamp() * 1000)


def _cursor(after: str) -> tuple[int, str]:
    ms, sep, conv = after.partition(".")
    if not sep or not ms.isdigit() or not conv or len(ms) > 16:
        raise SearchError("after", "not a cursor from a previous page")
    return int(ms), conv


def search(session: Any, store: str, q: Query, tz: ZoneInfo, after: str | None = None,
           limit: int = 20, names: dict[str, str] | None = None) -> tuple[list[dict[str, Any]],
                                                                           str | None]:  # fmt: skip
    """One page of the store's conversations matching `q`, newest first, and the next cursor."""
    stmt = select(C).where(C.store == store)
    if q.buyer:
        stmt = stmt.where(C.buyer.icontains(q.buyer, autoescape=True))
    if q.text:
        stmt = stmt.where(exists().where(M.store == store, M.conversation == C.conversation,
                                         M.text.icontains(q.text, autoescape=True)))  # fmt: skip
    if q.order:
        of_order = select(Ord.buyer).where(Ord.store == store, Ord.order_id == q.order)
        mentioned = exists().where(M.store == store, M.conversation == C.conversation,
                                   M.text.contains(q.order, autoescape=True))  # fmt: skip
        stmt = stmt.where(or_(C.buyer.in_(of_order), mentioned))
    if q.start_ms is not None:
        stmt = stmt.where(C.opened_ms >= q.start_ms)
    if q.end_ms is not None:
        stmt = stmt.where(C.opened_ms < q.end_ms)
    if after is not None:
        ms, conv = _cursor(after)
        stmt = stmt.where(or_(C.opened_ms < ms, and_(C.opened_ms == ms, C.conversation < conv)))
    stmt = stmt.order_by(C.opened_ms.desc(), C.conversation.desc()).limit(limit + 1)
    rows = list(session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    snippets = _snippets(session, store, [r.conversation for r in rows], q.text or q.order)
    names = names or {}
    items = [{
        "conversation": r.conversation, "buyer": r.buyer, "agent": r.agent,
        "agent_name": names.get(r.agent) if r.agent else None, "status": r.status,
        "opened": format_ts(r.opened_ms, tz),
        "closed": format_ts(r.closed_ms, tz) if r.closed_ms is not None else None,
        **snippets.get(r.conversation, {"messages": 0, "snippet": ""}),
    } for r in rows]  # fmt: skip
    cursor = f"{rows[-1].opened_ms}.{rows[-1].conversation}" if more and rows else None
    return items, cursor


def _snippets(session: Any, store: str, convs: list[str], needle: str | None) -> dict[str, Any]:
    """Per conversation: its number of messages and the text to show (the first message
    holding the searched words, else the buyer's first message)."""
    if not convs:
        return {}
    out: dict[str, dict[str, Any]] = {c: {"messages": 0, "snippet": ""} for c in convs}
    low = needle.lower() if needle else None
    stmt = select(M.conversation, M.sender, M.text).where(
        M.store == store, M.conversation.in_(convs)
    )
    hit: set[str] = set()
    for conv, sender, text in session.execute(stmt.order_by(M.seq)):
        doc = out[str(conv)]
        doc["messages"] += 1
        if conv in hit:
            continue
        shown = text or ""  # an image-only message has no words to show
        if low is not None and low in (text or "").lower():
            i = text.lower().index(low)
            start = max(0, i - 30)
            doc["snippet"] = ("…" if start else "") + text[start : start + SNIPPET]
            hit.add(str(conv))
        elif not doc["snippet"] and sender == "buyer" and shown:
            doc["snippet"] = shown[:SNIPPET]
    return out
