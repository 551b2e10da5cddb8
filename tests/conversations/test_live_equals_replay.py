"""The same scenario decides the same actions live (fake clock, REST) and in `kefu replay`."""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import pytest
from sqlalchemy import select

from kefu.engine.events import AnyEvent
from kefu.runtime.registry import default_engine
from kefu.runtime.replay import run
from kefu.storage import models
from tests.accounts.support import Live, live_app

S = "shop1"
CONFIG = {"urge": {"min_intent": 0}, "handoff": {"button_ttl": "2m"}}


@pytest.fixture
def live(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    monkeypatch.setenv("KEFU_SECRET", "test-secret")
    with live_app(db_url, CONFIG) as app:
        yield app


def test_live_api_and_replay_of_its_log_decide_the_same(live: Live) -> None:
    c = live.client
    a1 = live.online(S, "a1", capacity=1)
    b1, b2, b3 = (live.buyer(S, b) for b in ("b1", "b2", "b3"))
    base = f"/api/v1/stores/{S}"
    c.post("/api/v1/buyer/messages", headers=b1, json={"text": "在吗", "product": "p1"})
    live.advance(10)
    c.post("/api/v1/buyer/transfer", headers=b1)  # assigned to a1 (capacity 1)
    c.post("/api/v1/buyer/messages", headers=b2, json={"text": "有货吗"})
    live.advance(10)
    c.post("/api/v1/buyer/transfer", headers=b2)  # queued behind b1
    c.post(f"{base}/conversations/b1~1/messages", headers=a1, json={"text": "在的亲"})
    live.advance(60)
    c.post(f"{base}/conversations/b1~1/close", headers=a1)  # frees a1: the queue drains to b2
    c.post("/api/v1/buyer/messages", headers=b3, json={"text": "你好"})
    live.advance(200)  # b3's button expired: the click is ignored
    c.post("/api/v1/buyer/transfer", headers=b3)
    live.advance(3600)  # urges and timers fall due
    live.service.tick()
    svc = live.service
    e, a = models.Event, models.Action
    with svc.sessions() as s:
        logged = list(s.scalars(select(e.payload).where(e.store == S).order_by(e.seq)))
        stored = sorted(s.scalars(select(a.payload).where(a.store == S)))
    decode = msgspec.json.Decoder(AnyEvent)
    replayed = run((decode.decode(p) for p in logged), default_engine(svc.config))
    assert sorted(msgspec.json.encode(x).decode() for x in replayed) == stored
    kinds = {msgspec.json.decode(p)["type"] for p in stored}
    assert {"bot.reply", "transfer.result", "assign", "conversation.closed"} <= kinds
    assert {"urge.send", "urge.skip", "handoff.button"} <= kinds  # timers fired on both sides
    outcomes = [msgspec.json.decode(p).get("outcome") for p in stored]
    assert {"assigned", "queued", "ignored"} <= set(outcomes)
