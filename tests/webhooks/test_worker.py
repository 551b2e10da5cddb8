"""The delivery worker against a real local HTTP receiver that fails on purpose: signatures,
retries after 500s and time-outs, the idempotency key, the dead-letter list, filters, leases."""

from __future__ import annotations

import json
import time
from collections import Counter

from sqlalchemy import select

from kefu.storage import models
from kefu.webhooks import delivery
from kefu.webhooks.models import ChannelBuyer
from kefu.webhooks.worker import Worker
from tests.webhooks.receiver import Receiver, running, signature_ok
from tests.webhooks.support import (
    FAST,
    SECRET,
    T0,
    S,
    add_endpoint,
    all_in,
    attempts,
    buyer_events,
    deliveries,
    drain,
    outbox,
    service,
)


def test_every_action_arrives_once_signed_with_its_key(db_url: str) -> None:
    svc = service(db_url)
    with running(Receiver(SECRET)) as rx:
        add_endpoint(svc, rx.url)
        for i in range(3):
            svc.ingest(buyer_events(f"b{i}", T0 + i * 10_000))
        assert drain(Worker(svc.sessions, FAST), all_in(svc, "delivered"))
    actions = outbox(svc)
    assert len(actions) == 12
    assert rx.arrivals() == Counter(dict.fromkeys(actions, 1))  # each key exactly once
    for g in rx.got:
        assert g.signed_ok, g.headers
        body = json.loads(g.body)
        assert body["id"] == g.key and body["store"] == S
        assert body["action"] == actions[g.key]
        assert body["type"] == g.headers["x-kefu-action"] == actions[g.key]["type"]
        # a changed body or a wrong secret does not verify
        assert not signature_ok(SECRET, g.headers, g.body + b" ")
        assert not signature_ok("whsec_other", g.headers, g.body)
    with svc.sessions() as s:  # the outbox is handed over
        left = s.scalars(select(models.Action).where(models.Action.delivered_ms.is_(None)))
        assert list(left) == []
    svc.close()


def test_retries_after_500_and_timeout_and_the_key_dedups(db_url: str) -> None:
    svc = service(db_url)
    plan = {1: "500", 2: "sleep"}  # first answer 500, second too slow, then 200
    rx = Receiver(SECRET, plan=lambda key, nth: plan.get(nth, "ok"), sleep_s=1.0)
    with running(rx):
        add_endpoint(svc, rx.url)
        svc.ingest(buyer_events("b1", T0))
        assert drain(Worker(svc.sessions, FAST), all_in(svc, "delivered"))
    keys = set(outbox(svc))
    log = attempts(svc)
    by_delivery: dict[int, list[tuple[int | None, bool]]] = {}
    for a in log:
        by_delivery.setdefault(a.delivery, []).append((a.status_code, a.ok))
    assert all(v == [(500, False), (None, False), (200, True)] for v in by_delivery.values())
    assert len(by_delivery) == len(keys) == 4
    timeouts = [a for a in log if a.status_code is None]
    assert all(a.error and a.error.startswith("timeout") for a in timeouts)
    assert all(a.latency_ms >= 450 for a in timeouts)  # waited the 0.5 s time-out
    # Back-off: the second attempt came at least half the base delay after the first.
    firsts = {a.delivery: a.started_ms for a in log if a.attempt == 1}
    seconds = {a.delivery: a.started_ms for a in log if a.attempt == 2}
    assert all(seconds[d] - firsts[d] >= FAST.backoff_base_ms // 2 for d in firsts)
    # At least once: the timed-out request was processed by the receiver too (it answered 200
    # after the sender gave up), so it saw the key twice; deduplicating by key, once each.
    assert rx.arrivals() == Counter(dict.fromkeys(keys, 3))
    assert rx.accepted() == Counter(dict.fromkeys(keys, 2))
    assert rx.processed() == keys
    assert {g.headers["x-kefu-attempt"] for g in rx.got} == {"1", "2", "3"}
    assert all(d.attempts == 3 and d.last_status == 200 for d in deliveries(svc))
    svc.close()


def test_dead_letter_after_max_attempts(db_url: str) -> None:
    svc = service(db_url)
    rx = Receiver(SECRET, plan=lambda key, nth: "500")
    with running(rx):
        add_endpoint(svc, rx.url)
        svc.ingest(buyer_events("b1", T0))
        assert drain(Worker(svc.sessions, FAST), all_in(svc, "dead"))
        rows = deliveries(svc)
        assert all(d.attempts == FAST.max_attempts and d.last_status == 500 for d in rows)
        assert all("HTTP 500" in (d.last_error or "") for d in rows)
        assert Counter(a.delivery for a in attempts(svc)) == Counter(
            dict.fromkeys([d.id for d in rows], FAST.max_attempts)
        )
        # Redelivery of one: a fresh set of attempts, the same key.
        rx.plan = lambda key, nth: "ok"
        with svc.sessions.begin() as s:
            assert delivery.redeliver(s, S, [rows[0].id]) == 1
            assert delivery.redeliver(s, "other", [rows[1].id]) == 0  # another store's: no
        drain(Worker(svc.sessions, FAST), lambda: deliveries(svc)[0].state == "delivered", 5)
        after = {d.id: d.state for d in deliveries(svc)}
    assert after[rows[0].id] == "delivered"
    assert sorted(after.values()) == ["dead", "dead", "dead", "delivered"]
    assert rx.accepted() == Counter({rows[0].action_key: 1})
    svc.close()


def test_type_and_channel_filters_route_each_action(db_url: str) -> None:
    svc = service(db_url)
    with running(Receiver(SECRET)) as wa, running(Receiver(SECRET)) as replies, \
            running(Receiver(SECRET)) as off:  # fmt: skip
        add_endpoint(svc, wa.url, channels=["whatsapp"])
        add_endpoint(svc, replies.url, types=["bot.reply"])
        add_endpoint(svc, off.url, enabled=False)
        svc.ingest(buyer_events("b1", T0, channel="whatsapp"))
        svc.ingest(buyer_events("b2", T0 + 1))
        svc.ingest(buyer_events("b3", T0 + 2, channel="miniapp"))
        assert drain(Worker(svc.sessions, FAST), all_in(svc, "delivered"))
        actions = outbox(svc)

        def keys(pred: object) -> set[str]:
            return {k for k, a in actions.items() if pred(a)}  # type: ignore[operator]

        assert wa.processed() == keys(lambda a: a["buyer"] == "b1")
        assert replies.processed() == keys(lambda a: a["type"] == "bot.reply")
        assert len(replies.processed()) == 3 and off.got == []
        assert {json.loads(g.body)["channel"] for g in wa.got} == {"whatsapp"}
        chans = {json.loads(g.body)["action"]["buyer"]: json.loads(g.body)["channel"]
                 for g in replies.got}  # fmt: skip
        assert chans == {"b1": "whatsapp", "b2": None, "b3": "miniapp"}
        # b2 moves to WhatsApp: from then on its actions go to the WhatsApp bridge too.
        before = set(actions)
        svc.ingest(buyer_events("b2", T0 + 60_000, channel="whatsapp"))
        new = {k for k, a in outbox(svc).items() if k not in before}
        assert drain(Worker(svc.sessions, FAST), lambda: wa.processed() >= new)
    with svc.sessions() as s:
        got = dict(s.execute(select(ChannelBuyer.buyer, ChannelBuyer.channel)).all())
    assert got == {"b1": "whatsapp", "b2": "whatsapp", "b3": "miniapp"}
    svc.close()


def test_a_lease_returns_the_claims_of_a_dead_worker(db_url: str) -> None:
    svc = service(db_url)
    with running(Receiver(SECRET)) as rx:
        add_endpoint(svc, rx.url)
        svc.ingest(buyer_events("b1", T0))
        delivery.fill(svc.sessions)
        now = delivery.repo.wall_ms()
        held = delivery.claim(svc.sessions, "killed:1", FAST, now)
        assert len(held) == 4 and {c.attempt for c in held} == {1}
        # Leased: nobody else takes them before the lease ends.
        assert delivery.claim(svc.sessions, "other:2", FAST, now + FAST.lease - 1) == []
        again = delivery.claim(svc.sessions, "other:2", FAST, now + FAST.lease + 1)
        assert sorted(c.id for c in again) == sorted(c.id for c in held)
        assert {c.attempt for c in again} == {2}
        # The first holder's late answer is logged but does not move the row.
        out = delivery.Outcome(now, 5, 200, None)
        delivery.finish(svc.sessions, held[0], out, FAST)
        assert {d.state for d in deliveries(svc)} == {"delivering"}
        delivery.finish(svc.sessions, again[0], out, FAST)
        assert deliveries(svc)[0].state == "delivered"
    svc.close()


def test_refilling_cannot_queue_an_action_twice(db_url: str) -> None:
    svc = service(db_url)
    add_endpoint(svc, "http://127.0.0.1:9/hook")
    svc.ingest(buyer_events("b1", T0))
    assert delivery.fill(svc.sessions) == 4
    assert delivery.fill(svc.sessions) == 0
    with svc.sessions.begin() as s:  # even if the outbox stamp were lost
        s.execute(models.Action.__table__.update().values(delivered_ms=None))
    assert delivery.fill(svc.sessions) == 4
    assert len(deliveries(svc)) == 4
    svc.close()


def test_an_endpoint_gets_the_actions_made_from_its_creation_on(db_url: str) -> None:
    svc = service(db_url)
    svc.ingest(buyer_events("b1", T0))
    assert delivery.fill(svc.sessions) == 0  # no endpoint anywhere: the outbox is left alone
    a = models.Action
    with svc.sessions() as s:
        assert s.scalar(select(a.seq).where(a.delivered_ms.is_not(None)).limit(1)) is None
    add_endpoint(svc, "http://127.0.0.1:9/hook", created_ms=delivery.repo.wall_ms() + 1)
    time.sleep(0.01)
    svc.ingest(buyer_events("b2", T0 + 5_000))
    assert delivery.fill(svc.sessions) == 8  # both buyers' actions handed over ...
    queued = {d.action_key for d in deliveries(svc)}
    assert queued == {k for k, v in outbox(svc).items() if v["buyer"] == "b2"}  # ... b2's sent
    assert len(queued) == 4
    svc.close()


def test_prune_drops_old_log_and_delivered_rows_but_keeps_dead_letters(db_url: str) -> None:
    svc = service(db_url)
    svc.ingest(buyer_events("b1", T0))
    doomed = min(outbox(svc))  # one action's deliveries always fail
    rx = Receiver(SECRET, plan=lambda key, nth: "500" if key == doomed else "ok")
    with running(rx):
        add_endpoint(svc, rx.url)  # created_ms 0: takes the actions already made

        def ended() -> bool:
            return {d.state for d in deliveries(svc)} <= {"delivered", "dead"}

        assert drain(Worker(svc.sessions, FAST), ended)
    states = Counter(d.state for d in deliveries(svc))
    assert states == Counter({"dead": 1, "delivered": 3})
    n_attempts = len(attempts(svc))
    assert n_attempts == FAST.max_attempts + 3
    assert delivery.prune(svc.sessions, 0) == 0  # nothing that old
    gone = delivery.prune(svc.sessions, delivery.repo.wall_ms() + 1)
    assert gone == n_attempts + 3
    assert attempts(svc) == [] and [d.action_key for d in deliveries(svc)] == [doomed]
    svc.close()
