"""Bad input through the API: each kind a test, each refusal a 4xx with a reason, and the
good part of a batch always kept. Also who may ingest (an admin token of the store)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from kefu.server.events import FOREIGN, MAX_EVENTS
from kefu.storage import models
from tests.accounts.support import T0, Live

S, OTHER = "s1", "s2"
NDJSON = {"content-type": "application/x-ndjson"}


def msg(i: str, ts: int | str = T0, text: str = "在吗", store: str = S, buyer: str = "b1") -> dict:
    return {"id": i, "ts": ts, "type": "message", "store": store, "buyer": buyer,
            "sender": "buyer", "text": text}  # fmt: skip


def stored(live: Live, store: str) -> list[str]:
    with live.service.sessions() as s:
        rows = s.scalars(select(models.Event.event_id).where(models.Event.store == store))
        return sorted(r for r in rows if r)


# -- who may ingest ------------------------------------------------------------------------


def test_lines_of_another_store_are_rejected_and_the_rest_kept(live: Live) -> None:
    admin = live.staff(S, "ing", "admin")
    batch = [msg("1"), msg("2", store=OTHER), msg("3", T0 + 1000)]
    r = live.client.post("/api/v1/events", json=batch, headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["accepted"], body["duplicates"]) == (2, 0)
    assert body["rejected"] == [{"line": 2, "field": "store", "reason": FOREIGN}]
    assert stored(live, S) == ["1", "3"]
    assert stored(live, OTHER) == []


def test_a_batch_only_of_another_store_is_a_422_revealing_nothing(live: Live) -> None:
    admin = live.staff(S, "ing", "admin")
    live.staff(OTHER, "x", "admin")  # OTHER exists; "ghost" does not: same answer
    answers = []
    for store in (OTHER, "ghost"):
        r = live.client.post("/api/v1/events", json=[msg("1", store=store)], headers=admin)
        assert r.status_code == 422
        answers.append(r.json())
    assert answers[0] == answers[1]
    assert answers[0]["detail"] == f"no event accepted; line 1 (`store`): {FOREIGN}"
    assert stored(live, OTHER) == []


def test_ingest_refuses_missing_buyer_and_non_admin_tokens(live: Live) -> None:
    c = live.client
    assert c.post("/api/v1/events", json=[msg("1")]).status_code == 401
    for h in (live.buyer(S, "b1"), live.staff(S, "a", "agent"), live.staff(S, "s", "supervisor")):
        r = c.post("/api/v1/events", json=[msg("1")], headers=h)
        assert (r.status_code, r.json()) == (
            403,
            {"detail": "needs role admin of the events' store"},
        )
    assert stored(live, S) == []


def test_replay_stays_offline_and_needs_no_token(tmp_path: Path) -> None:
    from kefu.cli.main import app

    events = tmp_path / "e.jsonl"
    events.write_text("\n".join(json.dumps(msg(str(i), T0 + i)) for i in range(3)) + "\n")
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["replay", str(events), "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    assert (out / "actions.jsonl").read_text().count('"conversation.open"') == 1


# -- oversized -----------------------------------------------------------------------------


def test_oversized_messages_are_refused_with_the_field(live: Live) -> None:
    c = live.client
    admin = live.staff(S, "ing", "admin")
    big = "长" * 20_001
    r = c.post("/api/v1/events", json=[msg("big", text=big), msg("ok")], headers=admin)
    assert r.status_code == 200
    [rej] = r.json()["rejected"]
    assert (rej["line"], rej["field"]) == (1, "text") and "20000" in rej["reason"]
    assert stored(live, S) == ["ok"]
    r = c.post("/api/v1/buyer/messages", json={"text": big}, headers=live.buyer(S, "b9"))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "text"]
    r = c.post("/api/v1/events", content=b"[" + b" " * (16 * 1024 * 1024) + b"]", headers=admin)
    assert (r.status_code, r.json()["detail"]) == (413, "body over 16777216 bytes; split the batch")
    r = c.post("/api/v1/events", json=[{}] * (MAX_EVENTS + 1), headers=admin)
    assert r.status_code == 413 and "split it" in r.json()["detail"]


# -- invalid UTF-8 -------------------------------------------------------------------------


def test_invalid_utf8_is_a_clean_refusal(live: Live) -> None:
    c = live.client
    admin = live.staff(S, "ing", "admin")
    good = json.dumps(msg("good")).encode()
    bad = json.dumps(msg("bad", text="XX")).encode().replace(b"XX", b"\xff\xfe")
    r = c.post("/api/v1/events", content=bad + b"\n" + good, headers={**NDJSON, **admin})
    assert r.status_code == 200
    [rej] = r.json()["rejected"]
    assert rej["line"] == 1 and "utf-8" in rej["reason"]
    assert stored(live, S) == ["good"]
    # A JSON array with invalid UTF-8 cannot be split into lines: the whole body is a 400.
    r = c.post("/api/v1/events", content=b"[" + bad + b"]", headers=admin)
    assert r.status_code == 400 and r.json()["detail"].startswith("body is not valid JSON")
    r = c.post("/api/v1/buyer/messages", content=b'{"text": "\xff"}',
               headers={"content-type": "application/json", **live.buyer(S, "b1")})  # fmt: skip
    assert r.status_code == 400 and r.json()["detail"]


# -- unknown types, out of order, duplicates -------------------------------------------------


def test_unknown_event_types_are_rejected_naming_the_type(live: Live) -> None:
    admin = live.staff(S, "ing", "admin")
    batch = [{"ts": T0, "type": "teleport", "store": S}, msg("1"), {"ts": T0, "store": S}]
    r = live.client.post("/api/v1/events", json=batch, headers=admin)
    assert r.status_code == 200
    assert r.json()["rejected"] == [
        {"line": 1, "field": "type", "reason": "Invalid value 'teleport'"},
        {"line": 3, "field": "type", "reason": "missing required field `type`"},
    ]
    assert stored(live, S) == ["1"]


def test_late_events_are_kept_and_shown_in_time_order(live: Live) -> None:
    """Arrival order is the log's order (a replay sees the same); a late message joins the
    buyer's open conversation and the transcript lists it at its own time."""
    c = live.client
    admin = live.staff(S, "ing", "admin")
    sup = live.staff(S, "sup", "supervisor")
    r = c.post("/api/v1/events", json=[msg("1", T0, "一"), msg("3", T0 + 60_000, "三")],
               headers=admin)  # fmt: skip
    assert r.json()["accepted"] == 2
    r = c.post("/api/v1/events", json=[msg("2", T0 + 30_000, "二")], headers=admin)
    assert (r.status_code, r.json()["accepted"], r.json()["rejected"]) == (200, 1, [])
    items = c.get(f"/api/v1/stores/{S}/conversations/b1~1/transcript", headers=sup).json()
    assert [i["text"] for i in items["items"] if i["type"] == "message"] == ["一", "二", "三"]
    with live.service.sessions() as s:
        logged = s.scalars(select(models.Event.event_id).order_by(models.Event.seq)).all()
    assert list(logged) == ["1", "3", "2"]


def test_duplicate_events_change_nothing(live: Live) -> None:
    c = live.client
    admin = live.staff(S, "ing", "admin")
    live.online(S, "a1")
    r = c.post("/api/v1/events", json=[msg("m1"), msg("m1"), msg("m2", T0 + 1)], headers=admin)
    first = r.json()
    assert (first["accepted"], first["duplicates"]) == (2, 1)
    again = c.post("/api/v1/events", json=[msg("m1"), msg("m2", T0 + 1)], headers=admin).json()
    assert (again["accepted"], again["duplicates"], again["actions"]) == (0, 2, [])
    with live.service.sessions() as s:
        n = s.scalar(select(func.count()).select_from(models.Event).where(
            models.Event.event_id.in_(["m1", "m2"])))  # fmt: skip
        msgs = s.scalar(select(func.count()).select_from(models.Message))
    assert (n, msgs) == (2, 2)


def test_times_outside_the_epoch_range_are_rejected_not_a_500(live: Live) -> None:
    """An RFC 3339 `ts` in year 1 (+14:00) or 9999 (-14:00) made the rules raise (a 500)."""
    admin = live.staff(S, "ing", "admin")
    batch = [msg("old", "0001-01-01T00:00:00+14:00"), msg("new", "9999-12-31T23:59:59-14:00"),
             msg("ok")]  # fmt: skip
    r = live.client.post("/api/v1/events", json=batch, headers=admin)
    assert r.status_code == 200, r.text
    assert [(x["line"], x["field"]) for x in r.json()["rejected"]] == [(1, "ts"), (2, "ts")]
    assert stored(live, S) == ["ok"]


def test_the_event_decoder_bounds_rfc3339_times_like_epoch_milliseconds() -> None:
    from kefu.engine.readers import decode_line

    line = json.dumps(msg("old", "0001-01-01T00:00:00+14:00")).encode()
    with pytest.raises(ValueError):
        decode_line(line)
