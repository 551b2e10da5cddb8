"""Properties of the delivery rules: back-off bounds, signatures, and the delivery state
machine run on a real database for any sequence of answers."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from kefu.storage import models
from kefu.storage.db import session_factory
from kefu.webhooks import delivery
from kefu.webhooks.delivery import Config, Outcome
from kefu.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.webhooks.support import SECRET, T0, S, add_endpoint, buyer_events, outbox, service


@given(
    failures=st.integers(1, 200),
    base=st.integers(1, 60_000),
    cap=st.integers(1, 10_000_000),
    r=st.floats(0, 1, exclude_max=True),
)
def test_backoff_stays_in_half_to_full_of_a_growing_capped_ceiling(
    failures: int, base: int, cap: int, r: float
) -> None:
    ceiling = min(cap, base * 2 ** min(failures - 1, 40))
    d = delivery.backoff_ms(failures, base, cap, lambda: r)
    assert ceiling // 2 <= d <= ceiling <= cap
    # the next failure never has a lower ceiling: the schedule only grows (until the cap)
    assert delivery.backoff_ms(failures + 1, base, cap, lambda: 0.99999) >= ceiling // 2


@given(body=st.binary(max_size=300), ts=st.integers(1_600_000_000, 2_000_000_000),
       flip=st.integers(0, 10_000))  # fmt: skip
def test_a_signature_verifies_and_any_changed_byte_breaks_it(
    body: bytes, ts: int, flip: int
) -> None:
    sig = delivery.sign(SECRET, ts, body)
    assert delivery.verify(SECRET, str(ts), sig, body, now_s=ts)
    assert not delivery.verify(SECRET, str(ts), sig, body, now_s=ts + 301)  # stale: replay
    assert not delivery.verify(SECRET + "x", str(ts), sig, body, now_s=ts)
    assert not delivery.verify(SECRET, str(ts + 1), sig, body, now_s=ts)
    if body:
        i = flip % len(body)
        changed = body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1 :]
        assert not delivery.verify(SECRET, str(ts), sig, changed, now_s=ts)


CFG = Config(max_attempts=5, backoff_base_ms=10, backoff_cap_ms=80, lease_ms=1000, batch=50)


@pytest.mark.backends("sqlite")
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(answers=st.lists(st.sampled_from(["ok", "fail", "lost"]), min_size=1, max_size=14))
def test_delivery_state_machine(db_url: str, answers: list[str]) -> None:
    """Feed answers to claim/finish on a moving clock ("lost": the worker died holding the
    lease). A delivery ends delivered exactly when an "ok" came before the limit of answered
    failures, dead exactly when the limit came first; every claim counts as an attempt, so
    attempts ≤ limit + lost claims; an ended delivery is never claimed again; the log has one
    row per answered attempt."""
    svc = service(db_url)
    sessions = session_factory(svc.db)
    with sessions.begin() as s:
        s.query(WebhookAttempt).delete()
        s.query(WebhookDelivery).delete()
        fresh = s.query(WebhookEndpoint).count() == 0
    if fresh:
        add_endpoint(svc, "http://127.0.0.1:9/x")
    if not outbox(svc):
        svc.ingest(buyer_events("b1", T0))
    with sessions.begin() as s:  # the one delivery under test
        seq = s.scalars(select(models.Action.seq).limit(1)).one()
        ep = s.scalars(select(WebhookEndpoint.id)).one()
        s.add(WebhookDelivery(store=S, endpoint=ep, action_seq=seq, action_key="k",
                              action_type="bot.reply", state="pending", attempts=0,
                              next_attempt_ms=0, created_ms=0))  # fmt: skip
    now, logged, lost, expected = 10_000_000, 0, 0, "pending"
    for answer in answers:
        claimed = delivery.claim(sessions, "w", CFG, now)
        if expected != "pending":
            assert claimed == []
            break
        assert len(claimed) == 1
        c = claimed[0]
        assert c.attempt <= CFG.max_attempts + lost
        if answer == "lost":
            lost += 1
            assert delivery.claim(sessions, "w2", CFG, now + CFG.lease - 1) == []  # leased
            now += CFG.lease + 1  # the lease runs out: due again
            continue
        out = Outcome(now, 1, 200 if answer == "ok" else 500, None)
        state = delivery.finish(sessions, c, out, CFG, now_ms=now, rand=lambda: 0.5)
        logged += 1
        if answer == "ok":
            expected = "delivered"
        elif c.attempt >= CFG.max_attempts:
            expected = "dead"
        assert state == expected
        if expected == "pending":  # not due before its back-off
            assert delivery.claim(sessions, "w2", CFG, now) == []
        now += CFG.backoff_cap_ms + 1
    with sessions() as s:
        d = s.query(WebhookDelivery).one()
        assert s.query(WebhookAttempt).count() == logged
        if expected != "pending":
            assert d.state == expected
        assert d.attempts <= CFG.max_attempts + lost
    svc.close()
