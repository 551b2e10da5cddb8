"""`kefu loadtest` refuses what it must: remote targets, unbounded runs, kills it cannot do."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from kefu.cli import loadtest_cmd
from kefu.loadtest.report import percentile
from kefu.loadtest.servers import NotLoopback, check_loopback


def cli() -> typer.Typer:
    app = typer.Typer()
    loadtest_cmd.register(app)

    @app.callback()
    def main() -> None:
        """kefu."""

    return app


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost:1/", "http://[::1]:80",
                                 "http://127.9.9.9:5"])  # fmt: skip
def test_loopback_targets_are_accepted(url: str) -> None:
    assert check_loopback(url) == url.rstrip("/")


@pytest.mark.parametrize("url", ["http://10.0.0.5:8000", "http://192.168.1.2", "http://example.com",
                                 "https://8.8.8.8", "ftp://127.0.0.1", "127.0.0.1:8000",
                                 "http://127.0.0.1.example.com"])  # fmt: skip
def test_other_targets_are_refused(url: str) -> None:
    with pytest.raises(NotLoopback):
        check_loopback(url)
    res = CliRunner().invoke(cli(), ["loadtest", "--url", url, "--duration", "1"])
    assert res.exit_code == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--url", "http://127.0.0.1:1", "--duration", "99999"], "--duration"),
        (["--url", "http://127.0.0.1:1", "--rate", "0"], "--rate"),
        (["--url", "http://127.0.0.1:1", "--buyers", "10000000"], "--buyers"),
        (["--url", "http://127.0.0.1:1", "--kill-every", "5"], "--kill-every needs --servers"),
        (["--duration", "5"], "either --url"),
        (["--servers", "2", "--db", "sqlite:///x.db"], "need PostgreSQL"),
    ],
)
def test_unbounded_or_impossible_runs_are_refused(args: list[str], message: str) -> None:
    res = CliRunner().invoke(cli(), ["loadtest", *args])
    assert res.exit_code == 2
    assert message in " ".join(res.output.replace("│", " ").split())


def test_help_says_what_it_checks() -> None:
    res = CliRunner().invoke(cli(), ["loadtest", "--help"])
    assert res.exit_code == 0
    text = " ".join(res.output.replace("│", " ").split())
    for word in ("--kill-every", "--rate", "--servers", "Loopback targets only", "exactly once"):
        assert word in text


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 99), percentile(values, 100)) == (
        50.0, 99.0, 100.0)  # fmt: skip
    assert percentile([7.0], 99) == 7.0
