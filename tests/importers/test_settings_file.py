"""An imported chat log carries its own settings: replaying it does not add kefu's bot to a
log whose agents already answered (an English Twitter log got 1,487 Chinese greetings)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import orjson
from typer.testing import CliRunner

from kefu.cli.main import app
from kefu.importers.common import settings_path, toml_text
from tests.importers.conftest import SliceFn

TWCS = "conversations/twcs_sample_head.csv"


def test_settings_path_sits_beside_the_events() -> None:
    assert settings_path("/x/tw.jsonl.gz") == Path("/x/tw.settings.toml")
    assert settings_path("tw.jsonl") == Path("tw.settings.toml")


def test_toml_text_reads_back() -> None:
    text = toml_text({"bot": {"enabled": False}, "store": {"timezone": "UTC", "n": 3}}, "why")
    assert tomllib.loads(text) == {"bot": {"enabled": False}, "store": {"timezone": "UTC", "n": 3}}


def test_twcs_import_writes_bot_off_settings_and_replay_uses_them(
    data_slice: SliceFn, tmp_path: Path
) -> None:
    src = data_slice(TWCS, first=400)
    out = tmp_path / "tw.jsonl"
    r = CliRunner().invoke(app, ["import", "twcs", str(src), "--out", str(out), "-q"])
    assert r.exit_code == 0, r.output
    settings = tmp_path / "tw.settings.toml"
    assert f"settings for this log: {settings}" in r.stderr
    values = tomllib.loads(settings.read_text())
    assert values["bot"] == {"enabled": False} and values["store"]["timezone"] == "UTC"

    r = CliRunner().invoke(app, ["replay", str(out), "--out", str(tmp_path / "o"), "-q"])
    assert r.exit_code == 0, r.output
    assert f"settings: {settings}" in r.stderr
    actions = [
        orjson.loads(x) for x in (tmp_path / "o" / "actions.jsonl").read_bytes().splitlines()
    ]
    assert actions and not any(a["type"].startswith("bot") for a in actions)

    # an explicit --config wins: the defaults put kefu's bot back in
    empty = tmp_path / "defaults.toml"
    empty.write_text("")
    r = CliRunner().invoke(
        app, ["replay", str(out), "-c", str(empty), "--out", str(tmp_path / "d"), "-q"]
    )
    assert r.exit_code == 0 and "settings:" not in r.stderr
    again = [orjson.loads(x) for x in (tmp_path / "d" / "actions.jsonl").read_bytes().splitlines()]
    assert any(a["type"].startswith("bot") for a in again)


def test_an_import_without_chats_writes_no_settings(tmp_path: Path) -> None:
    from tests.importers.conftest import TEST_DATA

    out = tmp_path / "uci.jsonl"
    r = CliRunner().invoke(
        app, ["import", "uci-retail", str(TEST_DATA / "uci_online_retail_head.csv"),
              "--out", str(out), "-q", "--limit", "50"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert not settings_path(out).exists()
