"""The webhook API: endpoints managed by admins, the log and the dead-letter list read and
redelivered by supervisors, clear 4xx errors, pages that do not overlap, stores kept apart."""

from __future__ import annotations

from kefu.webhooks import delivery
from kefu.webhooks.models import WebhookAttempt, WebhookDelivery
from kefu.webhooks.worker import Worker
from tests.accounts.support import Live, live
from tests.webhooks.receiver import Receiver, running
from tests.webhooks.support import FAST, SECRET, T0, S, buyer_events, drain

__all__ = ["live"]
BASE = f"/api/v1/stores/{S}/webhooks"


def _hook(live: Live, admin: dict[str, str], **body: object) -> dict[str, object]:
    r = live.client.post(BASE, headers=admin, json={"url": "https://example.com/kefu", **body})
    assert r.status_code == 201, r.text
    out: dict[str, object] = r.json()
    return out


def test_admin_creates_and_the_secret_is_shown_once(live: Live) -> None:
    admin = live.staff(S, "boss", "admin")
    made = _hook(live, admin, types=["urge.send", "bot.reply"], channels=["whatsapp"],
                 description="WhatsApp bridge")  # fmt: skip
    secret = made["secret"]
    assert isinstance(secret, str) and secret.startswith("whsec_") and len(secret) > 30
    assert made["types"] == ["bot.reply", "urge.send"] and made["enabled"] is True
    listed = live.client.get(BASE, headers=live.staff(S, "sup", "supervisor")).json()
    assert [e["id"] for e in listed["items"]] == [made["id"]]
    assert listed["items"][0]["secret"] is None
    assert listed["items"][0]["secret_hint"] == secret[-4:]
    assert "urge.send" in listed["action_types"] and "assign" in listed["action_types"]
    # rotation shows the new secret once
    r = live.client.patch(f"{BASE}/{made['id']}", headers=admin,
                          json={"rotate_secret": True, "enabled": False})  # fmt: skip
    assert r.status_code == 200
    assert r.json()["secret"] not in (None, secret) and r.json()["enabled"] is False
    assert live.client.delete(f"{BASE}/{made['id']}", headers=admin).status_code == 204
    assert live.client.get(f"{BASE}/{made['id']}", headers=admin).status_code == 404


def test_bad_input_is_a_422_naming_the_field(live: Live) -> None:
    admin = live.staff(S, "boss", "admin")
    cases = [
        ({"url": "ftp://example.com/x"}, "url", "http:// or https://"),
        ({"url": "https://example.com/x", "types": ["nope"]}, "types", "unknown action type"),
        ({"url": "https://example.com/x", "channels": ["has space"]}, "channels", "channel"),
        ({"url": "https://example.com/x", "secret": "short"}, "secret", "at least 16"),
    ]
    for body, field, reason in cases:
        r = live.client.post(BASE, headers=admin, json=body)
        assert r.status_code == 422, (body, r.text)
        err = r.json()["detail"][0]
        assert err["loc"][-1] == field and reason in err["msg"], err
    made = _hook(live, admin)
    r = live.client.patch(f"{BASE}/{made['id']}", headers=admin, json={"url": "nope"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "url"


def test_roles_and_stores(live: Live) -> None:
    admin = live.staff(S, "boss", "admin")
    made = _hook(live, admin)
    sup = live.staff(S, "sup", "supervisor")
    agent = live.staff(S, "a1", "agent")
    other = live.staff("other", "boss", "admin")
    assert live.client.get(BASE, headers=agent).status_code == 403
    assert (
        live.client.post(BASE, headers=sup, json={"url": "https://x.example/h"}).status_code == 403
    )
    assert live.client.delete(f"{BASE}/{made['id']}", headers=sup).status_code == 403
    # another store's admin learns nothing, neither by its own store path nor by ours
    assert live.client.get(BASE, headers=other).status_code == 404
    assert live.client.get(f"/api/v1/stores/other/webhooks/{made['id']}",
                           headers=other).status_code == 404  # fmt: skip
    assert live.client.get(f"/api/v1/stores/other/webhooks/{made['id']}/deliveries",
                           headers=other).status_code == 404  # fmt: skip
    assert live.client.get("/api/v1/stores/other/webhooks", headers=other).json()["items"] == []


def test_dead_letters_listed_paged_and_redelivered_from_the_api(live: Live) -> None:
    admin = live.staff(S, "boss", "admin")
    sup = live.staff(S, "sup", "supervisor")
    rx = Receiver(SECRET, plan=lambda key, nth: "500")
    with running(rx):
        made = _hook(live, admin, url=rx.url, secret=SECRET)
        for i in range(3):
            live.service.ingest(buyer_events(f"b{i}", T0 + i * 10_000))
        svc = live.service

        def all_dead() -> bool:
            with svc.sessions() as s:
                states = {d.state for d in s.query(WebhookDelivery)}
            return states == {"dead"}

        assert drain(Worker(svc.sessions, FAST), all_dead)
        url = f"{BASE}/{made['id']}"
        # pages of the dead-letter list: newest first, no overlap, all 12
        seen: list[int] = []
        before = None
        while True:
            q = {"state": "dead", "limit": 5, **({"before": before} if before else {})}
            page = live.client.get(f"{url}/deliveries", headers=sup, params=q).json()
            seen += [d["id"] for d in page["items"]]
            before = page["next_before"]
            if before is None:
                break
        assert len(seen) == 12 == len(set(seen)) and seen == sorted(seen, reverse=True)
        log = live.client.get(f"{url}/attempts", headers=sup, params={"limit": 500}).json()
        assert len(log["items"]) == 12 * FAST.max_attempts and log["next_before"] is None
        assert {(a["status_code"], a["ok"]) for a in log["items"]} == {(500, False)}, [
            a["error"] for a in log["items"] if a["status_code"] is None
        ][:3]
        assert live.client.get(url, headers=sup).json()["dead"] == 12
        # a queued one cannot be redelivered; a dead one can, then the whole list
        rx.plan = lambda key, nth: "ok"
        r = live.client.post(f"{url}/deliveries/{seen[0]}/redeliver", headers=sup)
        assert r.status_code == 200 and r.json() == {"queued": 1}
        r = live.client.post(f"{url}/deliveries/{seen[0]}/redeliver", headers=sup)
        assert r.status_code == 409 and "still queued" in r.json()["detail"]
        assert live.client.post(f"{url}/redeliver-dead", headers=sup).json() == {"queued": 11}
        assert drain(Worker(svc.sessions, FAST), lambda: not all_dead() and _none_left(svc))
    assert len(rx.processed()) == 12
    counts = live.client.get(f"{BASE}/{made['id']}", headers=sup).json()
    assert (counts["delivered"], counts["dead"], counts["pending"]) == (12, 0, 0)
    with svc.sessions() as s:
        assert s.query(WebhookAttempt).filter(WebhookAttempt.ok.is_(True)).count() == 12
    assert delivery.Config().max_attempts == 8  # the documented default


def _none_left(svc: object) -> bool:
    with svc.sessions() as s:  # type: ignore[attr-defined]
        return {d.state for d in s.query(WebhookDelivery)} == {"delivered"}
