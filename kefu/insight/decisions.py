"""What the live service decided, read back from the database in the order it decided it.

Decide once, project many: the live service stores each event with the conversation the
engine put it in (`events.conversation`) and each action with the event it followed
(`actions.after_seq`: the event that caused it, or the store's last event for a timer that
fired between events). Merging the log and the outbox on (after_seq, events first, seq)
gives exactly the stream a `FactsBuilder` saw in `kefu replay` — an event, then the actions
decided with it — so roll-ups, the 转人工 report and product-card traffic project facts from
what was committed and never run the rules a second time (they could disagree with the live
service after a rule change, and cost a second engine's memory and CPU).

Reading a page is consistent without a snapshot transaction: a store's writes are serialised
(one writer, or PostgreSQL's per-store advisory lock), so a store's action seqs grow in commit
order and an action committed after a page was read follows every event of that page.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import msgspec
from sqlalchemy import Connection, select

from kefu.engine.actions import Action, AnyAction
from kefu.engine.events import Event
from kefu.engine.readers import decode_logged
from kefu.insight.facts import FactsBuilder
from kefu.storage.models import Action as ActionRow
from kefu.storage.models import Event as EventRow

_ACTIONS = msgspec.json.Decoder(AnyAction)


@dataclass(frozen=True)
class Cursor:
    """How far a projection has read one store: its last event seq and last action seq."""

    event_seq: int = 0
    action_seq: int = 0


@dataclass(frozen=True)
class Step:
    """One logged event (None: actions of timers that fired after the previous page) with
    its conversation and the actions decided with it, in emission order."""

    event: Event | None
    conversation: str | None
    actions: list[Action]


def read_page(
    conn: Connection, store: str, cursor: Cursor, page: int, upto: Cursor | None = None
) -> tuple[list[Step], Cursor, int]:
    """The next `page` events of `store` after `cursor` (nothing past `upto`) with their
    actions.

    Returns the steps, the cursor after them and how many log rows were read (0: caught up).
    """
    e, a = EventRow.__table__, ActionRow.__table__
    q = select(e.c.seq, e.c.payload, e.c.conversation).where(
        e.c.store == store, e.c.seq > cursor.event_seq
    )
    if upto is not None:
        q = q.where(e.c.seq <= upto.event_seq)
    rows = conn.execute(q.order_by(e.c.seq).limit(page)).all()
    last_event = rows[-1][0] if rows else cursor.event_seq
    aq = select(a.c.seq, a.c.after_seq, a.c.payload).where(
        a.c.store == store, a.c.seq > cursor.action_seq, a.c.after_seq <= last_event
    )
    if upto is not None:
        aq = aq.where(a.c.seq <= upto.action_seq)
    acts = conn.execute(aq.order_by(a.c.after_seq, a.c.seq)).all()
    by_event: dict[int, list[Action]] = {}
    late: list[Action] = []
    last_action = cursor.action_seq
    for seq, after, payload in acts:
        action = _ACTIONS.decode(payload)
        if after <= cursor.event_seq:
            late.append(action)
        else:
            by_event.setdefault(after, []).append(action)
        last_action = max(last_action, seq)
    steps = [Step(None, None, late)] if late else []
    for seq, payload, conversation in rows:
        steps.append(Step(decode_logged(payload), conversation, by_event.get(seq, [])))
    return steps, Cursor(last_event, last_action), len(rows)


def pages(
    conn: Connection, store: str, page: int = 20_000, cursor: Cursor | None = None
) -> Iterator[list[Step]]:
    """Every step of `store` after `cursor` (default: from the start), a page at a time."""
    cur = cursor or Cursor()
    while True:
        steps, cur, n = read_page(conn, store, cur, page)
        if steps:
            yield steps
        if n == 0:
            return


def feed(facts: FactsBuilder, steps: list[Step]) -> int:
    """Record `steps` in `facts` as `kefu.runtime.replay.record` would; events recorded."""
    n = 0
    for step in steps:
        if step.event is not None:
            facts.add_event(step.event, step.conversation)
            n += 1
        if step.actions:
            facts.add_actions(step.actions)
    return n


def project_store(conn: Connection, store: str, facts: FactsBuilder) -> int:
    """Feed everything `store` committed into `facts`; events recorded."""
    return sum(feed(facts, steps) for steps in pages(conn, store))
