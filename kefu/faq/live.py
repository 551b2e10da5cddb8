"""The learning FAQ bot on a running server: proposals in the database, learning runs, assist.

Learning reads the store's own event log (messages, ratings, orders), mines proposals with
`kefu.faq.learn`, and merges them with the stored ones so a supervisor's decisions stay.
Approving (or editing) a proposal logs a `faq` event: the engine answers with it from then
on, and a replay of the log does the same. A run is claimed with a compare-and-set on
`faq_learn_runs`, so with several server processes each store learns once per period.
"""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kefu.faq.assist import HISTORY_PREFIX, Assistant
from kefu.faq.index import FaqIndex, FaqItem
from kefu.faq.learn import Proposal, group_conversations, learn, merge
from kefu.faq.models import FaqLearnRun, FaqProposal
from kefu.storage import repo

_ENC = msgspec.json.Encoder()
_DEC = msgspec.json.Decoder(Proposal)
LEARNED_EVENTS = frozenset({"message", "rating", "order"})


def proposals(s: Session, store: str, status: str | None = None) -> list[Proposal]:
    """The store's proposals, best first (optionally of one status)."""
    q = select(FaqProposal.doc).where(FaqProposal.store == store)
    if status is not None:
        q = q.where(FaqProposal.status == status)
    rows = s.scalars(q.order_by(FaqProposal.score.desc(), FaqProposal.proposal))
    return [_DEC.decode(doc) for doc in rows]


def proposal(s: Session, store: str, pid: str) -> Proposal | None:
    """One proposal of the store, or None."""
    doc = s.scalar(
        select(FaqProposal.doc).where(FaqProposal.store == store, FaqProposal.proposal == pid)
    )
    return _DEC.decode(doc) if doc is not None else None


def save(s: Session, store: str, items: list[Proposal], now: int) -> None:
    """Insert or update proposals of the store (by id)."""
    have = {
        pid: seq
        for pid, seq in s.execute(
            select(FaqProposal.proposal, FaqProposal.seq).where(
                FaqProposal.store == store, FaqProposal.proposal.in_([p.id for p in items])
            )
        )
    }
    for p in items:
        values = {"status": p.status, "score": p.score, "doc": _ENC.encode(p).decode(),
                  "updated_ms": now}  # fmt: skip
        if p.id in have:
            s.execute(update(FaqProposal).where(FaqProposal.seq == have[p.id]).values(**values))
        else:
            s.add(FaqProposal(store=store, proposal=p.id, **values))


def stamp(s: Session, store: str) -> tuple[int, int]:
    """(count, latest update) of the store's proposals: the assist cache's key."""
    row = s.execute(
        select(func.count(), func.max(FaqProposal.updated_ms)).where(FaqProposal.store == store)
    ).one()
    return int(row[0]), int(row[1] or 0)


def learn_store(service: Any, store: str, now: int, min_support: int = 2) -> dict[str, int]:
    """Mine the store's log and merge into its proposals; decisions already taken stay."""
    with service.sessions() as s:
        chats = group_conversations(repo.logged_events(s, store, LEARNED_EVENTS, page=10_000))
        with service.state_of(store) as st:
            faq = [st.faq[k] for k in sorted(st.faq)] if st is not None else []
        fresh = learn(chats, min_support=min_support, faq=faq)
        before = {p.id: p for p in proposals(s, store)}
    merged = merge(before.values(), fresh)
    changed = [p for p in merged if _ENC.encode(p) != _ENC.encode(before.get(p.id, p)) or
               p.id not in before]  # fmt: skip
    with service.sessions.begin() as s:
        save(s, store, changed, now)
        run = s.get(FaqLearnRun, store)
        if run is None:
            s.add(FaqLearnRun(store=store, last_ms=now, conversations=len(chats),
                              proposals=len(merged)))  # fmt: skip
        else:
            run.conversations, run.proposals = len(chats), len(merged)
    new = sum(1 for p in merged if p.id not in before)
    return {"conversations": len(chats), "proposals": len(merged), "new": new}


def claim(service: Any, store: str, now: int, every_ms: int) -> bool:
    """Claim the store's periodic learning run (one process wins per period)."""
    with service.sessions.begin() as s:
        done = s.execute(
            update(FaqLearnRun)
            .where(FaqLearnRun.store == store, FaqLearnRun.last_ms <= now - every_ms)
            .values(last_ms=now)
        ).rowcount
        if done:
            return True
        if s.get(FaqLearnRun, store) is not None:
            return False
    try:
        with service.sessions.begin() as s:
            s.add(FaqLearnRun(store=store, last_ms=now, conversations=0, proposals=0))
        return True
    except IntegrityError:
        return False  # another process claimed the first run


def relearn_due(service: Any, now: int) -> list[str]:
    """Run every store's learning that is due (`bot.learn_every`); the stores that learnt."""
    ran: list[str] = []
    for store in service.stores():
        b = service.engine.settings(store).bot
        if not b.learn or not claim(service, store, now, b.ms("learn_every")):
            continue
        learn_store(service, store, now, b.learn_min_support)
        ran.append(store)
    return ran


def faq_event(
    store: str, p: Proposal, now: int, enabled: bool = True, current: Any = None
) -> dict[str, Any] | None:
    """The `faq` event that puts an approved proposal into the bot (or takes it out).

    A variant proposal rewrites its target entry (`current`, the engine's FaqEntry) with the
    proposal's wordings added (or, when withdrawn, removed); None when the entry is gone.
    """
    if p.kind == "variant":
        if current is None:
            return None
        mine = [p.question, *p.variants]
        have = list(current.variants)
        if enabled:
            variants = list(dict.fromkeys([*have, *mine]))
        else:
            variants = [v for v in have if v not in mine]
        return {"type": "faq", "ts": now, "store": store, "faq": current.faq,
                "question": current.question, "answer": current.answer,
                "variants": variants[:200], "keywords": list(current.keywords),
                "related": list(current.related), "enabled": True}  # fmt: skip
    return {"type": "faq", "ts": now, "store": store, "faq": p.id, "question": p.question,
            "answer": p.answer, "variants": p.variants[:50], "enabled": enabled}  # fmt: skip


# ---------------------------------------------------------------------------- smart assist

_assist: dict[str, tuple[tuple[Any, ...], Assistant]] = {}


def assistant(service: Any, store: str) -> Assistant:
    """Suggestions over the store's FAQ and its mined agent replies (not rejected ones)."""
    from kefu.conversations import bot

    threshold = service.engine.settings(store).bot.threshold
    with service.state_of(store) as st:
        rev = (st.faq_rev, bot.catalogue_key(st), threshold) if st else ("", 0, threshold)
        entries = list(st.faq.values()) if st is not None else []
        # the live bot's own index (cached per FAQ revision: built once, under the lock)
        bot_index = bot.index(st, threshold) if st is not None else None
    with service.sessions() as s:
        key = (*rev, *stamp(s, store))
        hit = _assist.get(store)
        if hit is not None and hit[0] == key:
            return hit[1]
        mined = [p for p in proposals(s, store) if p.status != "rejected"]
    items: list[FaqItem] = [
        FaqItem(e.faq, e.question, e.answer, variants=tuple(e.variants)) for e in entries
    ]
    items += [
        FaqItem(f"{HISTORY_PREFIX}{p.id}", p.question, p.answer, variants=tuple(p.variants),
                weight=float(max(1, p.evidence.uses)))
        for p in mined
    ]  # fmt: skip
    built = Assistant(FaqIndex.build(items, vote=True, prior=0.3, pool=100), bot_index)
    _assist[store] = (key, built)
    return built
