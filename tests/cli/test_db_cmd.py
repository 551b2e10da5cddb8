"""`kefu db upgrade | info | reset` on a real database."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from kefu.cli.main import app


def test_upgrade_info_and_reset(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    run = CliRunner().invoke
    r = run(app, ["db", "upgrade", "--db", url])
    assert r.exit_code == 0 and "at revision 0" in " ".join(r.output.split())
    r = run(app, ["db", "info", "--db", url])
    assert r.exit_code == 0 and "events" in r.output and "actions" in r.output
    assert run(app, ["db", "reset", "--db", url]).exit_code == 2  # needs --yes
    r = run(app, ["db", "reset", "--db", url, "--yes"])
    assert r.exit_code == 0 and "reset" in r.output


def test_every_command_has_help() -> None:
    run = CliRunner().invoke
    for cmd in (["--help"], ["replay", "--help"], ["serve", "--help"], ["demo", "--help"],
                ["simulate", "--help"], ["import", "--help"], ["insight", "--help"],
                ["db", "--help"], ["db", "info", "--help"]):  # fmt: skip
        r = run(app, cmd)
        assert r.exit_code == 0, (cmd, r.output)
        assert "Usage" in r.output
