"""After a load run: the database against what the clients were told.

- every accepted write is stored exactly once (events by id; messages by their marker;
  转人工 presses by count), and a write whose answer was lost at most once;
- every message in the log is in the conversation projection once, each client's answered
  messages in the order it sent them (one whose answer was lost — a timeout, a killed
  server — may be stored after the client's next message: the client did not wait for it,
  so no order was promised), and the API's transcripts agree with that order;
- no action twice in the outbox (same content), no urge twice to a buyer (24 h cap);
- no WebSocket client got the same message twice.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import select

from kefu.loadtest.traffic import MARKER, Record
from kefu.storage import models
from kefu.storage.db import make_engine


def _marker(text: str, run: str) -> tuple[str, str, int] | None:
    m = MARKER.search(text)
    if m is None or m.group(1) != run:
        return None
    return m.group(0), m.group(2), int(m.group(3))


def _sample(items: Any, n: int = 3) -> str:
    return ", ".join(str(x) for x in list(items)[:n])


def verify(db_url: str, store: str, run: str, rec: Record) -> list[tuple[str, bool, str]]:
    """The checks of one run (name, passed, detail); the run's own checks come first."""
    checks = list(rec.checks)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            ev = models.Event
            rows = conn.execute(
                select(ev.seq, ev.event_id, ev.type, ev.payload).where(ev.store == store)
            ).all()
            msgs = conn.execute(
                select(
                    models.Message.seq,
                    models.Message.conversation,
                    models.Message.buyer,
                    models.Message.sender,
                    models.Message.text,
                )
                .where(models.Message.store == store)
                .order_by(models.Message.seq)
            ).all()
            acts = conn.execute(
                select(models.Action.type, models.Action.payload).where(
                    models.Action.store == store
                )
            ).all()
    finally:
        engine.dispose()

    # 1. accepted events by id: exactly once; lost answers at most once.
    ids = Counter(r.event_id for r in rows if r.event_id and r.event_id.startswith(run))
    missing = [i for i in rec.accepted_ids if ids[i] != 1]
    twice = [i for i in rec.unknown_ids if ids[i] > 1]
    checks.append(
        (
            "accepted events (with ids) stored exactly once",
            not missing and not twice,
            f"{len(rec.accepted_ids)} accepted, {len(rec.unknown_ids)} unanswered"
            + (f"; wrong count: {_sample(missing + twice)}" if missing or twice else ""),
        )
    )

    # 2. accepted messages by marker: exactly once in the log.
    logged: Counter[str] = Counter()
    clicks = 0
    for r in rows:
        if r.type == "transfer.click":
            clicks += 1
        elif r.type == "message":
            found = _marker(str(json.loads(r.payload).get("text", "")), run)
            if found:
                logged[found[0]] += 1
    lost = [m for m in rec.accepted_markers if logged[m] != 1]
    dup = [m for m in rec.unknown_markers if logged[m] > 1]
    extra = [m for m in logged if m not in rec.sent]
    checks.append(
        (
            "accepted messages stored exactly once",
            not lost and not dup and not extra,
            f"{len(rec.accepted_markers)} accepted, {len(rec.unknown_markers)} unanswered "
            f"({sum(1 for m in rec.unknown_markers if logged[m])} of them stored)"
            + (f"; lost or doubled: {_sample(lost + dup + extra)}" if lost or dup or extra else ""),
        )
    )
    lo, hi = rec.transfers_ok, rec.transfers_ok + rec.transfers_unknown
    checks.append(
        (
            "转人工 presses stored once each",
            lo <= clicks <= hi,
            f"{clicks} logged; {lo} accepted, {rec.transfers_unknown} unanswered",
        )
    )

    # 3. conversations: every logged message projected once, each sender's in its order.
    projected: Counter[str] = Counter()
    order: dict[str, list[int]] = defaultdict(list)
    highest: dict[str, int] = {}  # each client's highest answered message stored so far
    overtaken = 0  # unanswered messages stored after the client's next one
    by_conv: dict[str, list[str]] = defaultdict(list)
    orphans = 0
    for seq, conv, _buyer, sender, text in msgs:
        found = _marker(text or "", run)
        if found is None:
            continue
        mark, who, n = found
        projected[mark] += 1
        if mark in rec.unknown_markers:  # the client moved on without its answer
            overtaken += highest.get(who, -1) > n
        else:
            order[who].append(n)
            highest[who] = max(highest.get(who, -1), n)
        if conv is None and sender in ("buyer", "agent"):
            orphans += 1
        by_conv[conv or ""].append(mark)
        del seq
    unprojected = [m for m in logged if projected[m] != 1]
    disorder = [w for w, ns in order.items() if ns != sorted(ns)]
    checks.append(
        (
            "every conversation's messages complete and in order",
            not unprojected and not disorder and not orphans,
            f"{sum(projected.values())} messages in {len(by_conv)} conversations"
            + (f"; not projected once: {_sample(unprojected)}" if unprojected else "")
            + (f"; out of order: {_sample(disorder)}" if disorder else "")
            + (f"; {orphans} without a conversation" if orphans else "")
            + (f"; {overtaken} unanswered stored after the client's next" if overtaken else ""),
        )
    )
    bad_tx = [
        c
        for c, marks in rec.sample_transcripts.items()
        if _by_sender(marks) != _by_sender(by_conv.get(c, []))
    ]
    if rec.sample_transcripts:
        checks.append(
            (
                "API transcripts match the log",
                not bad_tx,
                f"{len(rec.sample_transcripts)} transcripts compared"
                + (f"; differ: {_sample(bad_tx)}" if bad_tx else ""),
            )
        )

    # 4. outbox: no action twice; no urge twice to one buyer.
    same = Counter(p for _, p in acts)
    doubled = [json.loads(p)["type"] for p, n in same.items() if n > 1]
    types = Counter(t for t, _ in acts)
    checks.append(
        (
            "no action duplicated in the outbox",
            not doubled,
            f"{len(acts)} actions ({_kinds(types)})"
            + (f"; doubled: {Counter(doubled)}" if doubled else ""),
        )
    )
    urges = Counter(json.loads(p)["buyer"] for t, p in acts if t == "urge.send")
    twice_urged = [b for b, n in urges.items() if n > 1]
    checks.append(
        (
            "no urge sent twice",
            not twice_urged,
            f"{sum(urges.values())} urges to {len(urges)} buyers"
            + (f"; twice: {_sample(twice_urged)}" if twice_urged else ""),
        )
    )

    # 5. WebSockets: never the same message twice to one client.
    ws_dup = [k for k, n in rec.ws_seen.items() if n > 1]
    checks.append(
        (
            "no message delivered twice on a WebSocket",
            not ws_dup,
            f"{len(rec.ws_seen)} deliveries, {rec.ws_reconnects} reconnects"
            + (f"; twice: {_sample(ws_dup)}" if ws_dup else ""),
        )
    )
    return checks


def _by_sender(marks: list[str]) -> dict[str, list[str]]:
    """Each sender's messages in order (the transcript orders senders by time, not commit)."""
    out: dict[str, list[str]] = defaultdict(list)
    for m in marks:
        out[m.split(":")[1]].append(m)
    return dict(out)


def _kinds(types: Counter[str]) -> str:
    return ", ".join(f"{t} {n}" for t, n in types.most_common(6))
