"""`kefu insight` on a JSON Lines log: JSON, CSV and table output."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import msgspec
import typer
from typer.testing import CliRunner

from kefu.cli import insight_cmd
from tests.insight import data

SETTINGS = """
[bot]
enabled = false
[stores.funnel_pay.insight]
attribution = "payment"
"""


def _app() -> typer.Typer:
    app = typer.Typer()
    insight_cmd.register(app)

    @app.callback()
    def main() -> None:
        """Test app."""

    return app


def _log(tmp_path: Path) -> tuple[Path, Path]:
    events = tmp_path / "events.jsonl"
    with events.open("wb") as fh:
        for e in data.resp() + data.funnel("funnel") + data.funnel("funnel_pay"):
            fh.write(msgspec.json.encode(e) + b"\n")
    cfg = tmp_path / "store.toml"
    cfg.write_text(SETTINGS)
    return events, cfg


def test_json_output_is_the_metrics_document(tmp_path: Path) -> None:
    events, cfg = _log(tmp_path)
    res = CliRunner().invoke(_app(), ["insight", str(events), "--config", str(cfg),
                                      "--format", "json", "-q"])  # fmt: skip
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["stores"]["resp"]["agents"]["a1"]["avg_response_s"] == 176.25
    assert doc["stores"]["funnel_pay"]["agents"]["a2"]["paid_amount"] == 300.0


def test_csv_by_agent_with_a_date_range(tmp_path: Path) -> None:
    events, cfg = _log(tmp_path)
    res = CliRunner().invoke(
        _app(),
        ["insight", str(events), "--config", str(cfg), "--format", "csv", "--by", "agent",
         "--from", data.DAYS[2], "--to", data.DAYS[2], "-m", "avg_response_s,reply_rate", "-q"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    resp = {r["agent"]: r for r in rows if r["store"] == "resp"}
    assert resp["a1"]["avg_response_s"] == "180.0"  # D2: c5 60, c6 300
    assert resp["a2"]["avg_response_s"] == "60.0"


def test_table_and_saved_facts_reread(tmp_path: Path) -> None:
    events, cfg = _log(tmp_path)
    facts = tmp_path / "facts"
    res = CliRunner().invoke(_app(), ["insight", str(events), "--config", str(cfg),
                                      "--save-facts", str(facts), "-q"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "inquiry_buyers" in res.stdout
    again = CliRunner().invoke(_app(), ["insight", str(facts), "--config", str(cfg),
                                        "--format", "json"])  # fmt: skip
    assert json.loads(again.stdout)["stores"]["funnel"]["totals"]["store_sales"] == 530.0


def test_bad_options_exit_2(tmp_path: Path) -> None:
    events, _ = _log(tmp_path)
    for args in (["--by", "week"], ["--from", "03/02/2026"], ["-m", "nope"]):
        res = CliRunner().invoke(_app(), ["insight", str(events), *args])
        assert res.exit_code == 2, args


def _database(db_url: str, cfg_path: Path) -> list:
    """A kefu database whose log holds two stores' events (ingested by the live service)."""
    from kefu.engine.clock import VirtualClock
    from kefu.engine.settings import load_config
    from kefu.runtime.service import EngineService
    from kefu.storage.db import make_engine

    events = sorted(data.resp() + data.funnel("funnel_pay"), key=lambda e: e.at)
    engine = make_engine(db_url)
    svc = EngineService(engine, load_config(cfg_path), clock=VirtualClock())
    svc.ingest([msgspec.json.encode(e) for e in events])
    engine.dispose()
    return events


def test_db_report_rebuild_and_range_rebuild(db_url: str, tmp_path: Path) -> None:
    from kefu.engine.settings import load_config
    from kefu.insight.metrics import compute
    from kefu.runtime.replay import replay_rows

    _, cfg = _log(tmp_path)
    events = _database(db_url, cfg)
    expected = compute(replay_rows(events, load_config(cfg)), load_config(cfg))
    base = ["insight", "--db", db_url, "--config", str(cfg), "--format", "json", "-q"]
    first = CliRunner().invoke(_app(), base)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout) == expected
    assert expected["stores"]["funnel_pay"]["agents"]["a2"]["paid_amount"] == 300.0

    res = CliRunner().invoke(_app(), ["insight", "rebuild", "--db", db_url, "-c", str(cfg)])
    assert res.exit_code == 0, res.output
    assert "rebuilt: " in res.stderr
    again = CliRunner().invoke(_app(), [*base, "--no-refresh"])
    assert json.loads(again.stdout) == expected
    res = CliRunner().invoke(_app(), ["insight", "rebuild", "--db", db_url, "-c", str(cfg),
                                      "--store", "resp", "--from", data.DAYS[2], "-q"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(CliRunner().invoke(_app(), base).stdout) == expected

    one = CliRunner().invoke(_app(), [*base, "--store", "resp", "--from", data.DAYS[2],
                                      "--to", data.DAYS[2]])  # fmt: skip
    doc = json.loads(one.stdout)
    assert list(doc["stores"]) == ["resp"]
    assert doc["stores"]["resp"]["agents"]["a1"]["avg_response_s"] == 180.0  # D2: 60, 300


def test_db_report_refuses_other_settings(db_url: str, tmp_path: Path) -> None:
    events, cfg = _log(tmp_path)
    _database(db_url, cfg)
    ok = CliRunner().invoke(_app(), ["insight", "--db", db_url, "-c", str(cfg), "-q"])
    assert ok.exit_code == 0, ok.output
    # other rules (bot on): the rows are what the live service decided, nothing to refuse
    rules = CliRunner().invoke(_app(), ["insight", "--db", db_url, "-q"])
    assert rules.exit_code == 0, rules.output
    utc = tmp_path / "utc.toml"
    utc.write_text('[store]\ntimezone = "UTC"\n')
    res = CliRunner().invoke(_app(), ["insight", "--db", db_url, "-c", str(utc), "-q"])
    assert res.exit_code == 2 and "another timezone" in res.stderr
    stale = CliRunner().invoke(_app(), ["insight", "--db", db_url, "--no-refresh", "-q"])
    assert stale.exit_code == 0, stale.output
    both = CliRunner().invoke(_app(), ["insight", str(events), "--db", db_url])
    assert both.exit_code == 2
    unknown = CliRunner().invoke(_app(), ["insight", "--db", db_url, "-c", str(cfg), "-s", "x"])
    assert unknown.exit_code == 2


def test_follow_catches_every_store_up(db_url: str, tmp_path: Path) -> None:
    """`kefu insight follow --once`: the roll-ups of every store take the whole log in; a
    report without refresh then equals a replay."""
    from kefu.engine.settings import load_config
    from kefu.insight.metrics import compute
    from kefu.runtime.replay import replay_rows

    _, cfg = _log(tmp_path)
    events = _database(db_url, cfg)
    res = CliRunner().invoke(_app(), ["insight", "follow", "--db", db_url, "-c", str(cfg),
                                      "--once"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert f"2 store(s) refreshed, {len(events)} new events" in res.stderr
    base = ["insight", "--db", db_url, "-c", str(cfg), "--format", "json", "-q"]
    report = CliRunner().invoke(_app(), [*base, "--no-refresh"])
    assert json.loads(report.stdout) == compute(replay_rows(events, load_config(cfg)),
                                                load_config(cfg))  # fmt: skip
    again = CliRunner().invoke(_app(), ["insight", "follow", "--db", db_url, "-c", str(cfg),
                                        "--once"])  # fmt: skip
    assert "2 store(s) refreshed, 0 new events" in again.stderr
