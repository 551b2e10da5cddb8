"""Fill in the decision columns of a log written before migration 0006.

Since 0006 the live service stores each event with its conversation and each action with
the event it followed, and everything that reports reads those columns
(`kefu.insight.decisions`). A database upgraded from an older kefu has them empty for its
history, which the reports would silently leave out. The engine is deterministic, so
running a store's log once more, in log order, gives back the conversations the service put
each event in and the same actions (same content keys): their `after_seq` is the event the
replay emitted them with. This runs once, at the service's start, only for stores that
need it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from kefu.engine.actions import Action
from kefu.engine.core import Capability, Engine
from kefu.engine.readers import decode_logged
from kefu.engine.settings import Config
from kefu.storage import models, repo

log = logging.getLogger(__name__)
PAGE = 10_000


def stores_to_backfill(s: Session) -> list[str]:
    """Stores with outbox actions that do not say which event they followed."""
    a = models.Action
    return sorted(s.scalars(select(a.store).where(a.after_seq.is_(None)).distinct()))


def backfill(
    s: Session,
    store: str,
    config: Config,
    capabilities: Sequence[Capability],
    key_of: Callable[[Action, int], str],
) -> tuple[int, int]:
    """Set `events.conversation` and `actions.after_seq` of `store` where they are empty;
    returns (events, actions) updated. `key_of` is the outbox's content key."""
    engine = Engine(config, capabilities)
    e, a = models.Event, models.Action
    missing = set(s.scalars(select(a.key).where(a.store == store, a.after_seq.is_(None))))
    used: dict[str, int] = defaultdict(int)
    conv_rows: list[tuple[int, str]] = []
    act_rows: list[dict[str, object]] = []
    last = 0
    while True:
        rows = s.execute(
            select(e.seq, e.payload, e.conversation)
            .where(e.store == store, e.seq > last)
            .order_by(e.seq)
            .limit(PAGE)
        ).all()
        if not rows:
            break
        for seq, payload, known in rows:
            last = seq
            event = decode_logged(payload)
            if event is None:
                continue
            out = engine.feed(event)
            buyer = getattr(event, "buyer", None)
            conv = engine.states[store].conversation_of(buyer) if buyer else None
            if known is None and conv is not None:
                conv_rows.append((seq, conv.id))
            for action in out:
                if action.store != store:
                    continue
                probe = key_of(action, 0)
                n = used[probe]
                used[probe] += 1
                key = key_of(action, n)
                if key in missing:
                    missing.discard(key)
                    act_rows.append({"k": key, "a": seq})
    repo.set_event_conversations(s, conv_rows)
    at = models.Action.__table__
    if act_rows:
        s.execute(
            update(at)  # type: ignore[arg-type]
            .where(at.c.store == store, at.c.key == bindparam("k"))
            .values(after_seq=bindparam("a")),
            act_rows,
        )
    # Actions no replay emits again (timers still pending at the log's end were fired by the
    # server's clock): they followed the store's last event.
    s.execute(
        update(at)  # type: ignore[arg-type]
        .where(at.c.store == store, at.c.after_seq.is_(None))
        .values(after_seq=last)
    )
    log.info("backfilled store %s: %d events, %d actions", store, len(conv_rows), len(act_rows))
    return len(conv_rows), len(act_rows)
