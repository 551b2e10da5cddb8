"""The 转人工 hand-off report: a hand-built A/B scenario, its intervals by hand, CLI, API."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from kefu.cli import report_cmd
from kefu.conversations import report_api
from kefu.conversations.gate import bucket
from kefu.conversations.report import compute, facts_from_events, newcombe, welch, wilson
from kefu.engine.clock import VirtualClock
from kefu.engine.readers import decode_line
from kefu.engine.settings import parse_config
from kefu.insight.build import facts_from_events as insight_facts
from kefu.insight.metrics import compute as insight_compute
from kefu.runtime.service import EngineService
from kefu.server.app import create_app
from kefu.testing import staff_headers
from tests.engine.helpers import at

Z = 1.959963984540054  # the standard normal's 97.5 % point
AB = {"handoff": {"ab_test": True, "after_misses": 0}}
# The A/B arm is a stable hash of store + buyer: these buyers land as named.
T1, T2, T3, T4, T5, T6 = "b0", "b1", "b3", "b4", "b7", "b10"  # "button"
C1, C2, C3, C4 = "b2", "b5", "b6", "b8"  # "no_button"


def e(kind: str, minutes: float, **fields: Any) -> dict[str, Any]:
    return {"ts": at(minutes), "type": kind, "store": "s1", **fields}


def say(buyer: str, minutes: float, text: str = "在吗") -> dict[str, Any]:
    return e("message", minutes, buyer=buyer, sender="buyer", text=text)


def reply(buyer: str, minutes: float) -> dict[str, Any]:
    return e("message", minutes, buyer=buyer, sender="agent", agent="a1", text="亲，在的")


def click(buyer: str, minutes: float) -> dict[str, Any]:
    return e("transfer.click", minutes, buyer=buyer)


def close(buyer: str, minutes: float) -> dict[str, Any]:
    return e("conversation.close", minutes, buyer=buyer, agent="a1")


def rate(buyer: str, minutes: float, score: int) -> dict[str, Any]:
    return e("rating", minutes, buyer=buyer, agent="a1", score=score)


def order(buyer: str, minutes: float, amount: float) -> dict[str, Any]:
    return e("order", minutes, order=f"o-{buyer}", buyer=buyer, amount=amount,
             items=[{"product": "p1", "qty": 1, "price": amount}])  # fmt: skip


def scenario() -> list[dict[str, Any]]:
    """One agent (a1, capacity 1). The bot answers every first message; nobody has an FAQ.

    button arm: T1 clicks → assigned; T2, T3 click while a1 is busy → queued 120 s and 240 s;
    T4, T5 only talk to the bot; T6 clicks while a1 is offline → failed.
    no_button arm: C1 types 转人工 → assigned; C2, C3 type it while a1 is busy → queued 60 s,
    180 s (C3's button click before is ignored: no button in this arm); C4 only the bot.
    Ratings: T1 5, T2 3, C1 4, C2 2. Orders: T1, T4, C2.
    """
    rows = [
        e("agent", 0, agent="a1", name="a1", role="agent", capacity=1),
        e("agent.status", 0, agent="a1", status="online"),
        say(T1, 1), click(T1, 2), say(T2, 2), click(T2, 3), reply(T1, 3), say(T3, 3),
        rate(T1, 4, 5), click(T3, 4), close(T1, 5), reply(T2, 6), rate(T2, 7, 3),
        close(T2, 8), reply(T3, 9), close(T3, 10), say(T4, 11), say(T5, 11.5),
        say(C1, 12), say(C1, 13, "转人工"), say(C2, 14), reply(C1, 14), rate(C1, 14.5, 4),
        say(C2, 15, "人工"), say(C3, 15), click(C3, 15.5), say(C3, 16, "找客服"), close(C1, 16),
        reply(C2, 17), rate(C2, 18, 2), close(C2, 19), say(C4, 20),
        e("agent.status", 21, agent="a1", status="offline"), say(T6, 22), click(T6, 23),
        order(T1, 30, 99.0), order(T4, 31, 59.0), order(C2, 40, 50.0),
    ]  # fmt: skip
    for i, r in enumerate(rows):
        r["id"] = f"e{i}"
    return rows


def decoded(rows: list[dict[str, Any]]) -> list[Any]:
    return [decode_line(json.dumps(r, ensure_ascii=False).encode()) for r in rows]


def report(rows: list[dict[str, Any]], cfg: dict[str, Any], **kw: Any) -> dict[str, Any]:
    config = parse_config(cfg)
    events = sorted(decoded(rows), key=lambda ev: ev.at)
    return compute(facts_from_events(events, config), config, **kw)


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return report(scenario(), AB)


def test_scenario_buyers_are_in_the_arms_the_test_names() -> None:
    assert all(bucket("s1", b, "ab") < 50 for b in (T1, T2, T3, T4, T5, T6))
    assert all(bucket("s1", b, "ab") >= 50 for b in (C1, C2, C3, C4))


def test_button_arm_counts_rates_and_queue_waits(doc: dict[str, Any]) -> None:
    b = doc["stores"]["s1"]["variants"]["button"]
    assert b == {
        "conversations": 6, "button_conversations": 6, "transfer_clicks": 4,
        "clicked_conversations": 4, "transfer_rate": round(4 / 6, 6),
        "transfer_requests": 4, "transfer_request_rate": round(4 / 6, 6),
        "served_requests": 3, "transfer_success_rate": 0.75, "transfer_failures": 1,
        "queue_waits": 2, "queue_wait_s": 180.0, "queue_wait_p90_s": 228.0,  # 120 + .9 × 120
        "human_served_conversations": 3, "human_served_share": 0.5,
        "reassignments": 0, "reassigned_conversations": 0,
        "ratings": 2, "good_ratings": 1, "satisfaction_rate": 0.5,
        "buyers": 6, "order_buyers": 2, "buyer_order_rate": round(2 / 6, 6),
        "inquiry_buyers": 3, "inquiry_order_buyers": 1, "inquiry_to_order_rate": round(1 / 3, 6),
    }  # fmt: skip


def test_no_button_arm_has_no_transfer_rate_but_requests_in_words(doc: dict[str, Any]) -> None:
    c = doc["stores"]["s1"]["variants"]["no_button"]
    assert c == {
        "conversations": 4, "button_conversations": 0, "transfer_clicks": 1,
        "clicked_conversations": 0, "transfer_rate": None,
        "transfer_requests": 3, "transfer_request_rate": 0.75,
        "served_requests": 3, "transfer_success_rate": 1.0, "transfer_failures": 0,
        "queue_waits": 2, "queue_wait_s": 120.0, "queue_wait_p90_s": 168.0,
        "human_served_conversations": 2, "human_served_share": 0.5,
        "reassignments": 0, "reassigned_conversations": 0,
        "ratings": 2, "good_ratings": 1, "satisfaction_rate": 0.5,
        "buyers": 4, "order_buyers": 1, "buyer_order_rate": 0.25,
        "inquiry_buyers": 3, "inquiry_order_buyers": 1, "inquiry_to_order_rate": round(1 / 3, 6),
    }  # fmt: skip


def test_totals_buckets_and_tier(doc: dict[str, Any]) -> None:
    s = doc["stores"]["s1"]
    assert s["totals"]["conversations"] == 10
    assert s["totals"]["queue_waits"] == 4 and s["totals"]["queue_wait_s"] == 150.0
    # bands of the rollout steps 5 → 10 → 20 → 50 → 100 % (bucket = crc32 % 100)
    expected: dict[str, int] = {}
    for b in (T1, T2, T3, T4, T5, T6, C1, C2, C3, C4):
        k = bucket("s1", b)
        label = next(lab for hi, lab in ((5, "00-04"), (10, "05-09"), (20, "10-19"),
                                          (50, "20-49"), (100, "50-99")) if k < hi)  # fmt: skip
        expected[label] = expected.get(label, 0) + 1
    assert {k: v["conversations"] for k, v in s["buckets"].items()} == expected
    assert expected == {"05-09": 1, "10-19": 2, "20-49": 1, "50-99": 6}
    assert list(s["tiers"]) == ["small"] and s["tiers"]["small"] == s["totals"]


def wilson_by_hand(x: int, n: int) -> tuple[float, float]:
    p = x / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return centre - half, centre + half


def test_ab_difference_intervals_match_the_formulas_by_hand(doc: dict[str, Any]) -> None:
    ab = doc["stores"]["s1"]["ab"]
    assert (ab["treatment"], ab["control"]) == ("button", "no_button")
    m = ab["metrics"]
    # transfer requests 4/6 vs 3/4: Newcombe's hybrid score interval from two Wilson intervals
    (l1, u1), (l2, u2) = wilson_by_hand(4, 6), wilson_by_hand(3, 4)
    p1, p2 = 4 / 6, 3 / 4
    lo = p1 - p2 - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    hi = p1 - p2 + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    r = m["transfer_request_rate"]
    assert (r["n_treatment"], r["n_control"], r["method"]) == (6, 4, "newcombe")
    assert r["diff"] == round(p1 - p2, 6)
    assert r["ci_low"] == pytest.approx(lo, abs=1e-6)
    assert r["ci_high"] == pytest.approx(hi, abs=1e-6)
    assert (round(r["ci_low"], 4), round(r["ci_high"], 4)) == (-0.5031, 0.4245)
    # queue waits: [120, 240] vs [60, 180], both variances 7200, so Welch's df = 2 exactly and
    # t(0.975, 2) has the closed form (2p − 1) / sqrt(2p(1 − p)).
    t2 = 0.95 / math.sqrt(2 * 0.975 * 0.025)
    se = math.sqrt(7200 / 2 + 7200 / 2)
    w = m["queue_wait_s"]
    assert (w["treatment"], w["control"], w["diff"], w["method"]) == (180.0, 120.0, 60.0, "welch")
    assert w["ci_low"] == pytest.approx(60 - t2 * se, abs=1e-5)
    assert w["ci_high"] == pytest.approx(60 + t2 * se, abs=1e-5)
    # satisfaction 1/2 vs 1/2: difference 0, interval symmetric
    s = m["satisfaction_rate"]
    assert s["diff"] == 0.0 and s["ci_low"] == pytest.approx(-s["ci_high"], abs=1e-6)
    assert set(m) == {"transfer_request_rate", "transfer_success_rate", "queue_wait_s",
                      "human_served_share", "satisfaction_rate", "buyer_order_rate",
                      "inquiry_to_order_rate"}  # fmt: skip


def test_interval_helpers_on_textbook_values() -> None:
    # Newcombe (1998) table II example: 56/70 vs 48/80 → (0.0524, 0.3339)
    d, lo, hi = newcombe(56, 70, 48, 80)
    assert d == pytest.approx(0.2) and (round(lo, 4), round(hi, 4)) == (0.0524, 0.3339)
    # Wilson at 0 and n: stays inside [0, 1]
    assert wilson(0, 10)[0] == pytest.approx(0.0) and wilson(10, 10)[1] == pytest.approx(1.0)
    assert wilson(0, 10)[1] == pytest.approx(0.2775, abs=1e-4)  # Z² / (n + Z²)
    # Welch with no spread: the interval is the difference itself
    assert welch(5.0, 0.0, 3, 2.0, 0.0, 4) == (3.0, 3.0, 3.0)


def test_per_variant_numbers_agree_with_kefu_insight(doc: dict[str, Any]) -> None:
    config = parse_config(AB)
    ins = insight_compute(insight_facts(decoded(scenario()), config), config)
    for arm, values in ins["stores"]["s1"]["variants"].items():
        mine = doc["stores"]["s1"]["variants"][arm]
        for metric, v in values.items():
            assert mine[metric] == v, (arm, metric)


def test_rollout_without_ab_compares_with_buyers_outside_the_rollout() -> None:
    rows = [say(f"b{i}", i) for i in range(20)]
    doc = report(rows, {"handoff": {"rollout_percent": 50}})
    s = doc["stores"]["s1"]
    inside = sum(bucket("s1", f"b{i}") < 50 for i in range(20))
    assert s["variants"]["button"]["button_conversations"] == inside
    assert s["variants"]["outside_rollout"]["conversations"] == 20 - inside
    assert (s["ab"]["treatment"], s["ab"]["control"]) == ("button", "outside_rollout")
    assert s["ab"]["metrics"]["transfer_request_rate"]["diff"] == 0.0


def test_an_empty_range_gives_zeros_and_nulls(doc: dict[str, Any]) -> None:
    empty = report(scenario(), AB, day_from="2026-03-05", day_to="2026-03-06")
    s = empty["stores"]["s1"]
    assert s["variants"] == {} and s["buckets"] == {} and s["ab"] is None
    assert s["totals"]["conversations"] == 0 and s["totals"]["transfer_rate"] is None
    assert s["totals"]["queue_wait_p90_s"] is None
    same = report(scenario(), AB, day_from="2026-03-01", day_to="2026-03-01")
    assert same["stores"] == doc["stores"]
    nothing = compute(facts_from_events([], parse_config({})), parse_config({}))
    assert nothing["stores"] == {}


# -- CLI ---------------------------------------------------------------------------------------


def cli_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """kefu"""

    report_cmd.register(app)
    return app


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in scenario()))
    config = tmp_path / "store.toml"
    config.write_text("[handoff]\nab_test = true\nafter_misses = 0\n")
    return events, config


def test_cli_json_csv_and_table(files: tuple[Path, Path], doc: dict[str, Any]) -> None:
    events, config = files
    runner = CliRunner()
    base = ["report", "handoff", "--events", str(events), "--config", str(config), "-q"]
    out = runner.invoke(cli_app(), [*base, "--format", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["stores"] == doc["stores"]
    out = runner.invoke(cli_app(), [*base, "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    rate = next(r for r in rows if r["dimension"] == "variant" and r["key"] == "button"
                and r["metric"] == "transfer_rate")  # fmt: skip
    assert (rate["value"], rate["n"]) == ("0.666667", "6")
    diff = next(r for r in rows if r["dimension"] == "ab" and r["metric"] == "queue_wait_s")
    assert (diff["key"], diff["value"], diff["n"], diff["n_control"], diff["method"]) == (
        "button-no_button", "60.0", "2", "2", "welch")  # fmt: skip
    out = runner.invoke(cli_app(), [*base, "--format", "table"])
    assert out.exit_code == 0 and "button − no_button" in out.stdout
    assert runner.invoke(cli_app(), [*base, "--format", "xml"]).exit_code == 2
    assert runner.invoke(cli_app(), [*base, "--from", "2026-03-02", "--to", "2026-03-01"]
                         ).exit_code == 2  # fmt: skip
    missing = ["report", "handoff", "--events", str(events.with_name("nope.jsonl"))]
    assert runner.invoke(cli_app(), missing).exit_code == 2


# -- API ---------------------------------------------------------------------------------------


@pytest.fixture
def client(db_engine: Engine) -> Any:
    svc = EngineService(db_engine, parse_config(AB), clock=VirtualClock())
    result = svc.ingest(scenario())
    assert not result.rejected
    app = create_app(svc, tick_seconds=3600)
    app.include_router(report_api.router)
    with TestClient(app) as c:
        yield c


URL = "/api/v1/stores/s1/reports/handoff"


def test_api_report_matches_the_replay_and_downloads_csv(
    client: TestClient, db_engine: Engine, doc: dict[str, Any]
) -> None:
    h = staff_headers(db_engine, "s1")
    body = client.get(URL, headers=h).json()
    s = doc["stores"]["s1"]
    assert {k: body[k] for k in s} == s
    assert (body["store"], body["from"], body["confidence"]) == ("s1", None, 0.95)
    r = client.get(URL, headers=h, params={"from": "2026-03-01", "to": "2026-03-01",
                                           "format": "csv"})  # fmt: skip
    assert r.headers["content-type"].startswith("text/csv")
    assert r.text.lstrip("\ufeff").startswith("store,dimension,key,metric,value,n,")
    empty = client.get(URL, headers=h, params={"from": "2027-01-01", "to": "2027-01-31"}).json()
    assert empty["totals"]["conversations"] == 0 and empty["totals"]["transfer_rate"] is None
    assert empty["variants"] == {} and empty["ab"] is None
    bad = client.get(URL, headers=h, params={"from": "2026-03-02", "to": "2026-03-01"})
    assert bad.status_code == 422
    # The roll-ups are caught up before each report: a new event is seen at once.
    svc = client.app.state.service  # type: ignore[attr-defined]
    late = {"id": "late-1", "ts": "2026-03-01T20:00:00+08:00", "type": "message",
            "store": "s1", "buyer": "late", "sender": "buyer", "text": "在吗"}  # fmt: skip
    assert not svc.ingest([json.dumps(late).encode()]).rejected
    again = client.get(URL, headers=h).json()
    assert again["totals"]["conversations"] == body["totals"]["conversations"] + 1


def test_api_refuses_agents_other_stores_and_anonymous(
    client: TestClient, db_engine: Engine
) -> None:
    assert client.get(URL, headers=staff_headers(db_engine, "s1", "a1", "agent")).status_code == 403
    assert client.get(URL, headers=staff_headers(db_engine, "s2")).status_code == 404
    assert client.get(URL).status_code == 401
    other = client.get("/api/v1/stores/s2/reports/handoff", headers=staff_headers(db_engine, "s2"))
    assert other.status_code == 200 and other.json()["totals"]["conversations"] == 0
