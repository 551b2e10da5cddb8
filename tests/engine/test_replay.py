"""`kefu replay`: readers, rejected lines, duplicate ids, output shape and determinism."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from kefu.cli.main import app
from kefu.engine.readers import ReadStats, read_events
from kefu.engine.settings import Config
from kefu.runtime.replay import replay

LINES = [
    {"ts": "2026-03-01T09:00:00+08:00", "type": "agent", "store": "demo", "agent": "x1",
     "name": "X", "role": "agent", "capacity": 3, "id": "e1"},
    {"ts": "2026-03-01T09:10:00+08:00", "type": "message", "store": "demo", "buyer": "y1",
     "sender": "buyer", "text": "这个杯子保温多久", "product": "k1", "id": "e2"},
    {"ts": "2026-03-01T09:11:00+08:00", "type": "message", "store": "demo", "buyer": "y1",
     "sender": "agent", "agent": "x1", "text": "12小时哦亲", "id": "e3"},
    {"ts": 1772328600000, "type": "order", "store": "demo", "order": "r1", "buyer": "y1",
     "items": [{"product": "k1", "qty": 1, "price": 89.0}], "amount": 89.0, "id": "e4"},
]  # fmt: skip


def write_jsonl(path: Path, rows: list, extra: list[str] = ()) -> Path:
    lines = [json.dumps(r, ensure_ascii=False) for r in rows] + list(extra)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_bad_lines_are_rejected_with_line_number_and_the_rest_kept(tmp_path: Path) -> None:
    rows = [json.dumps(r, ensure_ascii=False) for r in LINES]
    rows.insert(1, "{broken")
    rows.insert(
        3, json.dumps({"ts": 1, "type": "rating", "store": "demo", "buyer": "y", "score": 9})
    )
    p = tmp_path / "e.jsonl"
    p.write_text("\n".join(rows) + "\n\n", encoding="utf-8")
    stats = ReadStats()
    kept = list(read_events(p, stats))
    assert [e.id for e in kept] == ["e1", "e2", "e3", "e4"]
    assert [(r.line, r.field) for r in stats.rejected] == [(2, None), (4, "score")]


def test_duplicate_ids_are_ignored_per_store(tmp_path: Path) -> None:
    dup = dict(LINES[1], text="again")
    other_store = dict(LINES[1], store="other")
    p = write_jsonl(tmp_path / "e.jsonl", [*LINES, dup, other_store])
    stats = ReadStats()
    kept = list(read_events(p, stats))
    assert stats.duplicates == 1
    assert [(e.store, e.id) for e in kept][-1] == ("other", "e2")
    assert len(kept) == 5


def test_gzip_and_parquet_read_the_same_events(tmp_path: Path) -> None:
    plain = write_jsonl(tmp_path / "e.jsonl", LINES)
    gz = tmp_path / "e.jsonl.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    from kefu.engine.events import parse_ts

    # Parquet columns share one type per column: epoch ms for ts, null where a type has no field.
    keys = sorted({k for r in LINES for k in r})
    flat = [{k: (parse_ts(r[k]) if k == "ts" else r.get(k)) for k in keys} for r in LINES]
    pq.write_table(pa.Table.from_pylist(flat), tmp_path / "e.parquet")
    a = list(read_events(plain))
    b = list(read_events(gz))
    c = list(read_events(tmp_path / "e.parquet"))
    assert a == b == c


def test_replay_writes_the_three_files_and_is_byte_identical(tmp_path: Path) -> None:
    p = write_jsonl(tmp_path / "e.jsonl", LINES, ["{broken"])
    s1 = replay(p, Config(), tmp_path / "a")
    s2 = replay(p, Config(), tmp_path / "b")
    assert (s1.events, s1.rejected) == (4, 1)
    for name in ("actions.jsonl", "metrics.json", "rejected.jsonl"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert s2.actions == s1.actions
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    demo = metrics["stores"]["demo"]
    assert demo["totals"]["buyer_messages"] == 1
    assert demo["days"]["2026-03-01"]["agent_messages"] == 1
    assert demo["agents"]["x1"]["agent_messages"] == 1
    rejected = [json.loads(x) for x in (tmp_path / "a" / "rejected.jsonl").read_text().splitlines()]
    assert rejected == [{"line": 5, "field": None, "reason": rejected[0]["reason"]}]


def test_replay_sorts_by_time_stably_and_outputs_store_timezone(tmp_path: Path) -> None:
    rows = list(reversed(LINES))
    p = write_jsonl(tmp_path / "e.jsonl", rows)
    cfg = tmp_path / "s.toml"
    cfg.write_text('[store]\ntimezone = "Europe/London"\n', encoding="utf-8")
    res = CliRunner().invoke(
        app, ["replay", str(p), "--config", str(cfg), "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 0, res.output
    assert "read 4 events (0 rejected" in res.output
    actions = [json.loads(x) for x in (tmp_path / "o" / "actions.jsonl").read_text().splitlines()]
    assert actions[0]["ts"] == "2026-03-01T01:10:00+00:00"
    assert [a["ts"] for a in actions] == sorted(a["ts"] for a in actions)


def test_unknown_settings_key_fails_naming_it(tmp_path: Path) -> None:
    p = write_jsonl(tmp_path / "e.jsonl", LINES)
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[urge]\nno_such_key = 1\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["replay", str(p), "--config", str(cfg), "--out", str(tmp_path)])
    assert res.exit_code == 2
    assert "no_such_key" in res.output


def test_nothing_readable_exits_non_zero(tmp_path: Path) -> None:
    p = tmp_path / "e.jsonl"
    p.write_text("{bad\n[1,2]\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["replay", str(p), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1
    assert len((tmp_path / "o" / "rejected.jsonl").read_text().splitlines()) == 2


def test_replay_of_a_simulated_week_is_byte_identical(tmp_path: Path) -> None:
    from kefu.sim import generate

    log = tmp_path / "week.jsonl"
    log.write_bytes(b"\n".join(generate(stores=2, buyers=120, days=7, seed=11)) + b"\n")
    cfg = tmp_path / "s.toml"
    cfg.write_text("[bot]\nenabled = false\n[urge]\nmin_intent = 0.3\n", encoding="utf-8")
    from kefu.engine.settings import load_config

    a = replay(log, load_config(cfg), tmp_path / "a")
    b = replay(log, load_config(cfg), tmp_path / "b")
    assert a.actions == b.actions > 100
    for name in ("actions.jsonl", "metrics.json", "rejected.jsonl"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    lines = (tmp_path / "a" / "actions.jsonl").read_text(encoding="utf-8").splitlines()
    kinds = {json.loads(x)["type"] for x in lines}
    assert {"assign", "urge.send", "urge.skip", "transfer.result"} <= kinds


def test_metrics_json_carries_the_card_ids_of_metrics_md_section_7(tmp_path: Path) -> None:
    """events.md: metrics.json holds every metric of metrics.md, §7's `card_` ids too."""
    card = [
        {"ts": "2026-03-01T08:00:00+08:00", "type": "impression", "store": "demo",
         "buyer": "y1", "product": "k1", "source": "search", "carrier": "card"},
        {"ts": "2026-03-01T08:01:00+08:00", "type": "view", "store": "demo", "buyer": "y1",
         "product": "k1", "source": "search", "carrier": "card"},
        {"ts": "2026-03-01T08:02:00+08:00", "type": "impression", "store": "demo",
         "buyer": "y2", "product": "k1", "source": "search", "carrier": "card"},
        {"ts": "2026-03-02T10:00:00+08:00", "type": "message", "store": "demo", "buyer": "y3",
         "sender": "buyer", "text": "在吗"},
    ]  # fmt: skip
    p = write_jsonl(tmp_path / "e.jsonl", LINES + card)
    replay(p, Config(), tmp_path / "out")
    demo = json.loads((tmp_path / "out" / "metrics.json").read_text())["stores"]["demo"]
    totals = demo["totals"]
    assert (totals["card_impression_users"], totals["card_click_users"]) == (2, 1)
    assert totals["card_ctr"] == 0.5
    # y1 ordered k1 (89.0) after viewing it through a card
    assert (totals["card_paying_users"], totals["card_gmv"]) == (0, 0.0)  # no payment
    assert demo["days"]["2026-03-01"]["card_clicks"] == 1
    # a day with no card traffic still carries every id: 0 counts, undefined rates null
    assert demo["days"]["2026-03-02"]["card_clicks"] == 0
    assert demo["days"]["2026-03-02"]["card_ctr"] is None
    from kefu.traffic.metrics import IDS

    assert set(IDS) <= set(totals)
