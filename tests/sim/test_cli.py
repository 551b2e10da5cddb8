"""`kefu simulate` on the command line: files, gzip, stdout, the summary, bad input."""

from __future__ import annotations

import gzip
from pathlib import Path

import typer
from typer.testing import CliRunner

from kefu.cli import simulate_cmd
from kefu.sim import generate


def app() -> typer.Typer:
    """Only this command, so the test does not depend on the other command modules."""
    cli = typer.Typer()

    @cli.callback()
    def main() -> None:
        """kefu"""

    simulate_cmd.register(cli)
    return cli


ARGS = ["--stores", "1", "--buyers", "50", "--days", "2", "--seed", "7"]


def test_writes_a_gzip_log_identical_to_the_api_and_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "sim.jsonl.gz"
    res = CliRunner().invoke(app(), ["simulate", *ARGS, "--out", str(out)])
    assert res.exit_code == 0, res.output
    lines = gzip.decompress(out.read_bytes()).splitlines()
    assert lines == list(generate(stores=1, buyers=50, days=2, seed=7))
    summary = res.output.strip().splitlines()[-1]
    assert summary.startswith(f"simulated {len(lines):,} events (")
    assert "1 store(s) × 2 day(s), seed 7" in summary and "events/s" in summary


def test_writes_plain_jsonl_in_a_new_folder_and_to_stdout(tmp_path: Path) -> None:
    out = tmp_path / "new" / "sim.jsonl"
    res = CliRunner().invoke(app(), ["simulate", *ARGS, "--out", str(out), "--start", "2026-12-10"])
    assert res.exit_code == 0, res.output
    text = out.read_bytes()
    assert text.endswith(b"\n") and b'"ts":"2026-12-10T00:00:00+08:00"' in text
    res = CliRunner().invoke(app(), ["simulate", *ARGS, "--out", "-", "--start", "2026-12-10"])
    assert res.exit_code == 0
    assert res.stdout_bytes == text


def test_rejects_a_bad_start_date(tmp_path: Path) -> None:
    res = CliRunner().invoke(app(), ["simulate", "--out", str(tmp_path / "x"), "--start", "11/01"])
    assert res.exit_code == 2
    assert "bad --start" in res.output
    assert not (tmp_path / "x").exists()


def test_is_registered_in_the_kefu_command() -> None:
    from kefu.cli.main import app as kefu

    res = CliRunner().invoke(kefu, ["simulate", "--help"])
    assert res.exit_code == 0 and "--stores" in res.output
