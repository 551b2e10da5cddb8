"""`kefu import` through the CLI, and what every import promises about its output file."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from typer.testing import CliRunner

from kefu.cli.import_cmd import Format
from kefu.cli.main import app
from kefu.importers import FORMATS, run_import
from tests.importers.conftest import TEST_DATA, SliceFn
from tests.importers.helpers import of_type, read_output

UCI = str(TEST_DATA / "uci_online_retail_head.csv")
runner = CliRunner()


def test_cli_imports_and_prints_a_one_line_summary(data_slice: SliceFn, tmp_path: Path) -> None:
    src = data_slice(UCI, first=1000)
    out = tmp_path / "out" / "events.jsonl.gz"
    result = runner.invoke(app, ["import", "uci-retail", str(src), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (
        "uci-retail: 999 rows read, 708 events written, 10 rows skipped "
        "(8 cancellation of an order not in the file, 1 discount or charge in a cancellation, "
        "1 stock adjustment)"
    )
    assert "line 143: discount or charge in a cancellation: C536379 D" in result.stderr
    with gzip.open(out, "rb") as fh:
        assert fh.read(2) == b'{"'
    assert len(read_output(out)) == 708


def test_cli_store_limit_and_stdout(data_slice: SliceFn) -> None:
    src = data_slice(UCI, first=1000)
    result = runner.invoke(
        app, ["import", "uci-retail", str(src), "--out", "-", "--store", "gifts", "--limit", "7"]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    assert {e["store"] for e in lines} == {"gifts"}
    assert [e["type"] for e in lines] == ["product"] * 7 + ["order", "payment"]
    assert "7 rows read, 9 events written" in result.stderr  # the summary leaves stdout alone


def test_cli_refuses_a_missing_file_or_a_wrong_format(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["import", "twcs", str(tmp_path / "no.csv"), "-o", "x.jsonl"])
    assert missing.exit_code == 2
    assert "no such file" in missing.stderr
    wrong = runner.invoke(app, ["import", "twcs", UCI, "-o", str(tmp_path / "x.jsonl")])
    assert wrong.exit_code == 2
    assert "not a TWCS file" in wrong.stderr
    assert not (tmp_path / "x.jsonl").exists()
    unknown = runner.invoke(app, ["import", "csv", UCI, "-o", str(tmp_path / "x.jsonl")])
    assert unknown.exit_code == 2
    assert {f.value for f in Format} == {*FORMATS, "keywords"}  # keywords go to the database


def test_output_is_identical_whether_sorted_in_memory_or_spilled_to_disk(
    data_slice: SliceFn, tmp_path: Path
) -> None:
    src = data_slice(UCI, first=3000)
    run_import("uci-retail", src, tmp_path / "a.jsonl")
    run_import("uci-retail", src, tmp_path / "b.jsonl", chunk=100)  # 20+ sorted runs merged
    run_import("uci-retail", src, tmp_path / "c.jsonl.gz")
    run_import("uci-retail", src, tmp_path / "d.jsonl.gz")
    a = (tmp_path / "a.jsonl").read_bytes()
    assert a == (tmp_path / "b.jsonl").read_bytes()
    assert gzip.decompress((tmp_path / "c.jsonl.gz").read_bytes()) == a
    assert (tmp_path / "c.jsonl.gz").read_bytes() == (tmp_path / "d.jsonl.gz").read_bytes()
    events = read_output(tmp_path / "a.jsonl")
    assert len(of_type(events, "order")) == len(of_type(events, "payment"))
