"""The channel API end to end with the example connector: a channel's message becomes kefu
events with `channel`, kefu's reply comes back as a signed webhook filtered by channel, and the
bridge turns it into the channel's message (once per idempotency key)."""

from __future__ import annotations

import json
from typing import Any

import msgspec
from fastapi.testclient import TestClient

from kefu.connectors import Outbound, available, bridge_app, load
from kefu.connectors.jsonbridge import JsonBridge
from kefu.engine.events import AnyEvent
from kefu.webhooks.worker import Worker
from tests.webhooks.receiver import Receiver, running
from tests.webhooks.support import FAST, SECRET, S, add_endpoint, drain, service

DECODE = msgspec.json.Decoder(AnyEvent).decode


def test_the_example_connector_is_installed_by_entry_point() -> None:
    assert available()["jsonbridge"] == "kefu.connectors.jsonbridge:JsonBridge"
    c = load("jsonbridge", channel="whatsapp")
    assert isinstance(c, JsonBridge) and c.channel == "whatsapp"


def test_inbound_payloads_become_valid_events_with_the_channel() -> None:
    c = JsonBridge("whatsapp")
    events = c.inbound(S, {"user": "8613800000000", "text": "还有货吗", "ts": 1_800_000_000_000,
                           "id": "wamid.1", "profile": {"province": "浙江", "x": 1}})  # fmt: skip
    decoded = [DECODE(json.dumps(e)) for e in events]
    assert [type(e).__name__ for e in decoded] == ["Buyer", "Message"]
    assert all(e.channel == "whatsapp" and e.buyer == "whatsapp:8613800000000" for e in decoded)
    assert decoded[1].id == "whatsapp:wamid.1" and decoded[0].province == "浙江"
    assert c.inbound(S, {"text": "no user"}) == []


def test_a_channel_message_round_trip_through_kefu_and_the_bridge(db_url: str) -> None:
    svc = service(db_url)
    c = load("jsonbridge", channel="whatsapp")
    sent: list[Outbound] = []

    def post_events(events: list[dict[str, Any]]) -> None:
        result = svc.ingest(events)
        assert not result.rejected, result.rejected

    app = bridge_app(c, store=S, secret=SECRET, post_events=post_events, send=sent.append)
    with TestClient(app) as bridge:
        # kefu's webhook to the bridge goes through a real HTTP receiver that forwards to it
        rx = Receiver(SECRET)
        with running(rx):
            add_endpoint(svc, rx.url, channels=["whatsapp"], types=["bot.reply"])
            r = bridge.post("/inbound", json={"user": "8613800000000", "text": "发什么快递",
                                              "ts": 1_800_000_000_000, "id": "w1"})  # fmt: skip
            assert r.json() == {"events": 1}
            # a widget buyer's reply is not for the WhatsApp endpoint
            svc.ingest([{"type": "message", "ts": 1_800_000_000_500, "store": S, "buyer": "web1",
                         "sender": "buyer", "text": "发什么快递"}])  # fmt: skip
            assert drain(Worker(svc.sessions, FAST), lambda: len(rx.processed()) >= 1, 10)
        assert len(rx.got) == 1
        g = rx.got[0]
        headers = {k: v for k, v in g.headers.items() if k.startswith("x-kefu")}
        r = bridge.post("/webhook", content=g.body, headers=headers)
        assert r.json() == {"sent": True}
        # the same delivery again (kefu retried): acknowledged, not sent twice
        assert bridge.post("/webhook", content=g.body, headers=headers).json() == {
            "duplicate": True
        }
        bad = {**headers, "x-kefu-signature": "v1=" + "0" * 64}
        assert bridge.post("/webhook", content=g.body, headers=bad).status_code == 401
    assert len(sent) == 1
    assert (sent[0].to, sent[0].channel, sent[0].key) == ("8613800000000", "whatsapp", g.key)
    assert sent[0].text == json.loads(g.body)["action"]["text"] and sent[0].text
    svc.close()


def test_a_failing_channel_send_is_a_502_so_kefu_retries() -> None:
    c = JsonBridge("wecom")

    def broken(_: Outbound) -> None:
        raise RuntimeError("wecom down")

    app = bridge_app(c, store=S, secret=SECRET, post_events=lambda e: None, send=broken)
    body = json.dumps({"id": "k1", "store": S, "type": "bot.reply", "channel": "wecom",
                       "action": {"buyer": "wecom:u1", "text": "hi"}}).encode()  # fmt: skip
    import time

    from kefu.webhooks.delivery import sign

    ts = int(time.time())
    h = {"X-Kefu-Timestamp": str(ts), "X-Kefu-Signature": sign(SECRET, ts, body),
         "X-Kefu-Idempotency-Key": "k1"}  # fmt: skip
    with TestClient(app) as bridge:
        r = bridge.post("/webhook", content=body, headers=h)
        assert r.status_code == 502 and "wecom down" in r.json()["detail"]
        assert bridge.post("/webhook", content=body, headers=h).status_code == 502  # not marked


def test_an_agents_reply_reaches_the_buyers_channel(db_url: str) -> None:
    """A person's answer is an `agent.reply` action: the webhook carries it to the bridge."""
    svc = service(db_url)
    c = load("jsonbridge", channel="whatsapp")
    rx = Receiver(SECRET)
    with running(rx):
        add_endpoint(svc, rx.url, channels=["whatsapp"], types=["agent.reply"])
        events = c.inbound(S, {"user": "8613800000001", "text": "在吗", "ts": 1_800_000_000_000})
        svc.ingest(events)
        svc.ingest([{"type": "message", "ts": 1_800_000_060_000, "store": S,
                     "buyer": "whatsapp:8613800000001", "sender": "agent", "agent": "a1",
                     "text": "在的亲，有什么可以帮您"}])  # fmt: skip
        assert drain(Worker(svc.sessions, FAST), lambda: len(rx.processed()) >= 1, 10)
    assert len(rx.got) == 1
    out = c.outbound(json.loads(rx.got[0].body))
    assert out is not None
    assert (out.to, out.text, out.channel) == (
        "8613800000001",
        "在的亲，有什么可以帮您",
        "whatsapp",
    )
    svc.close()
