"""Every importer's output goes through `kefu replay` with nothing rejected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kefu.engine.settings import parse_config
from kefu.importers import run_import
from kefu.runtime.replay import replay
from tests.importers.conftest import SliceFn

# Logs already hold the stores' own bot messages (or none): replay them with the bot off.
LOG_SETTINGS = parse_config({"bot": {"enabled": False}})


@pytest.mark.parametrize(
    ("fmt", "relative", "lines"),
    [
        ("twcs", "conversations/twcs_sample_head.csv", 400),
        ("jddc", "conversations/jddc_baseline_train_context.txt", 60),
        ("uci-retail", "behaviour/uci_online_retail_head.csv", 600),
        ("taobao", "behaviour/taobao_userbehavior_sample.csv", 600),
        ("groceries", "behaviour/groceries_member_date_baskets.csv", 600),
    ],
)
def test_importer_output_replays_cleanly(
    fmt: str, relative: str, lines: int, data_slice: SliceFn, tmp_path: Path
) -> None:
    src = data_slice(relative, first=lines)
    if fmt == "jddc":  # the response file is found next to the context file, by name
        resp = data_slice(relative.replace("context", "response"), first=lines)
        assert resp.parent == src.parent
    out = tmp_path / f"{fmt}.jsonl"
    report = run_import(fmt, src, out)
    assert report.events > 0
    summary = replay(out, LOG_SETTINGS, tmp_path / "replay")
    assert (summary.events, summary.rejected) == (report.events, 0)
    metrics = json.loads((tmp_path / "replay" / "metrics.json").read_text())
    assert metrics["stores"], "metrics for at least one store"
