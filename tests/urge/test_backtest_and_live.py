"""`kefu backtest urge` side by side, and the live service sending the same urges as replay."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from kefu.cli.main import app
from kefu.engine.clock import VirtualClock
from kefu.engine.output import action_line
from kefu.engine.readers import ReadStats, decode_line
from kefu.engine.settings import parse_config
from kefu.runtime.replay import load_sorted, replay
from kefu.runtime.service import EngineService
from kefu.sim import generate

SETTINGS = {"bot": {"enabled": False}, "urge": {"min_intent": 0.3}}


def simulated(tmp_path: Path) -> Path:
    log = tmp_path / "log.jsonl"
    log.write_bytes(b"\n".join(generate(stores=1, buyers=150, days=2, seed=21)) + b"\n")
    return log


def test_backtest_compares_two_settings_side_by_side(tmp_path: Path) -> None:
    log = simulated(tmp_path)
    (tmp_path / "now.toml").write_text("[bot]\nenabled = false\n[urge]\nmin_intent = 0.3\n")
    (tmp_path / "off.toml").write_text("[bot]\nenabled = false\n[urge]\nenabled = false\n")
    r = CliRunner().invoke(app, ["backtest", "urge", "--events", str(log), "-c",
                                 str(tmp_path / "now.toml"), "-c", str(tmp_path / "off.toml"),
                                 "--format", "csv"])  # fmt: skip
    assert r.exit_code == 0, r.output
    table = {row.split(",")[0]: row.split(",")[1:] for row in r.output.strip().splitlines()}
    assert table["metric"] == ["now", "off"]
    sent_now, sent_off = (int(x) for x in table["urges sent"])
    assert sent_now > 0 and sent_off == 0
    assert int(table["skipped: disabled"][1]) > 0 and int(table["skipped: disabled"][0]) == 0


def test_backtest_refuses_a_bad_settings_file(tmp_path: Path) -> None:
    log = simulated(tmp_path)
    (tmp_path / "bad.toml").write_text("[urge]\ndelay = 5\n")
    r = CliRunner().invoke(app, ["backtest", "urge", "--events", str(log), "-c",
                                 str(tmp_path / "bad.toml")])  # fmt: skip
    assert r.exit_code == 2 and "urge.delay" in r.output


def test_live_service_sends_the_same_urges_as_replay(tmp_path: Path, db_engine) -> None:
    log = simulated(tmp_path)
    cfg = parse_config(SETTINGS)
    replay(log, cfg, tmp_path / "out")
    replayed = [line for line in (tmp_path / "out" / "actions.jsonl").read_text().splitlines()
                if '"urge.' in line]  # fmt: skip
    clock = VirtualClock()
    svc = EngineService(db_engine, cfg, clock=clock)
    events = load_sorted(log, ReadStats())
    raw = {(e.store, e.id): line for line in log.read_bytes().splitlines()
           for e in [decode_line(line)]}  # fmt: skip
    live = []
    for e in events:  # the wall clock of a live server, moved event by event
        live += svc.tick(e.at - 1)
        live += svc.ingest([raw[(e.store, e.id)]]).actions
    live += svc.tick(10**15)
    tz = svc.engine.settings("s001").tz
    live_urges = [action_line(a, tz).decode().strip() for a in live
                  if a.__struct_config__.tag.startswith("urge.")]  # fmt: skip
    assert len(replayed) > 5
    assert live_urges == replayed
