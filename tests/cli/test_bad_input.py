"""A user's mistake is one line saying what to do, exit code 2, no traceback — and nothing
already read is lost (DEVELOPERS: bad input gets a clear error and loses nothing accepted)."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
import typer
from typer.testing import CliRunner

from kefu.cli import main
from kefu.cli.main import COMMANDS, app
from kefu.engine.readers import ReadStats, read_events


def _line(i: int, text: str = "有货吗") -> bytes:
    ev = {"type": "message", "store": "s1", "ts": f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z",
          "buyer": f"b{i}", "sender": "buyer", "text": text}  # fmt: skip
    return orjson.dumps(ev) + b"\n"


def _run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(app, list(args))
    assert not isinstance(r.exception, Exception) or isinstance(r.exception, SystemExit), (
        r.exception
    )
    return r.exit_code, r.output


def _one_line(output: str) -> str:
    lines = [ln for ln in output.splitlines() if ln.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


def test_a_folder_as_events_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    code, out = _run("replay", str(tmp_path), "--out", str(tmp_path / "o"))
    assert code == 2
    assert "is a folder" in _one_line(out)
    assert not (tmp_path / "o").exists()


def test_out_pointing_at_a_file_is_refused_before_any_work(tmp_path: Path) -> None:
    events = tmp_path / "e.jsonl"
    events.write_bytes(_line(1))
    target = tmp_path / "metrics.txt"
    target.write_text("keep me")
    code, out = _run("replay", str(events), "--out", str(target))
    assert code == 2
    assert "is a file" in _one_line(out) and "give a folder" in out
    assert target.read_text() == "keep me"


def test_a_truncated_gz_keeps_every_event_before_the_break(tmp_path: Path) -> None:
    data = gzip.compress(b"".join(_line(i) for i in range(400)))
    broken = tmp_path / "e.jsonl.gz"
    broken.write_bytes(data[: len(data) * 2 // 3])
    out = tmp_path / "o"
    code, text = _run("replay", str(broken), "--out", str(out), "--quiet")
    assert code == 2 and "Traceback" not in text
    assert "truncated or corrupt" in text and str(out / "rejected.jsonl") in text
    summary = text.splitlines()[0]
    accepted = int(summary.split()[1])
    assert 0 < accepted < 400
    # what was read before the break was replayed: one conversation per accepted buyer
    actions = [orjson.loads(x) for x in (out / "actions.jsonl").read_bytes().splitlines()]
    assert len({a["buyer"] for a in actions if a.get("buyer")}) == accepted
    rejected = [orjson.loads(x) for x in (out / "rejected.jsonl").read_bytes().splitlines()]
    assert rejected[-1]["line"] == accepted + 1 and "rest was not read" in rejected[-1]["reason"]


def test_a_file_that_is_not_gzip_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "e.jsonl.gz"
    bad.write_bytes(b"this is plain text, not gzip")
    code, out = _run("replay", str(bad), "--out", str(tmp_path / "o"), "--quiet")
    assert code == 2
    lines = [ln for ln in out.splitlines() if ln.startswith("error")]
    assert len(lines) == 1 and "gz" in lines[0] and "Traceback" not in out


def test_a_corrupt_parquet_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "e.parquet"
    bad.write_bytes(b"PAR1 definitely not parquet")
    for args in (
        ["replay", str(bad), "--out", str(tmp_path / "o")],
        ["insight", "report", str(bad)],
    ):
        code, out = _run(*args)
        assert code == 2, args
        assert "not a readable Parquet file" in _one_line(out)


def test_utf8_bom_is_read_from_line_1(tmp_path: Path) -> None:
    p = tmp_path / "bom.jsonl"
    p.write_bytes(b"\xef\xbb\xbf" + _line(1) + _line(2))
    stats = ReadStats()
    events = list(read_events(p, stats))
    assert [e.buyer for e in events] == ["b1", "b2"]  # type: ignore[attr-defined]
    assert stats.rejected == []


def test_gb18030_file_is_read_whole_and_decoded(tmp_path: Path) -> None:
    text = b"".join(_line(i, "这款有货吗？什么时候发货") for i in range(3)).decode()
    p = tmp_path / "gb.jsonl"
    p.write_bytes(text.encode("gb18030"))
    stats = ReadStats()
    events = list(read_events(p, stats))
    assert len(events) == 3 and stats.rejected == [] and stats.encoding == "gb18030"
    assert events[0].text == "这款有货吗？什么时候发货"  # type: ignore[attr-defined]
    # the encoding can also be given: latin-1 would decode it, wrongly — the user's choice
    forced = list(read_events(p, ReadStats(), encoding="utf-8"))
    assert forced == []


def test_utf16_with_bom_is_read(tmp_path: Path) -> None:
    p = tmp_path / "u16.jsonl"
    p.write_bytes(b"".join(_line(i, "亲在吗") for i in range(2)).decode().encode("utf-16"))
    events = list(read_events(p, ReadStats()))
    assert [e.text for e in events] == ["亲在吗", "亲在吗"]  # type: ignore[attr-defined]


def test_an_empty_file_warns(tmp_path: Path) -> None:
    p = tmp_path / "empty.jsonl"
    p.write_bytes(b"")
    code, out = _run("replay", str(p), "--out", str(tmp_path / "o"), "--quiet")
    assert code == 0
    assert "holds no events" in out


def test_rejected_lines_point_to_the_file(tmp_path: Path) -> None:
    p = tmp_path / "e.jsonl"
    p.write_bytes(_line(1) + b'{"type": "message", "store": "s1"}\n' + b"not json\n")
    out = tmp_path / "o"
    code, text = _run("replay", str(p), "--out", str(out), "--quiet")
    assert code == 0
    assert f"2 line(s) rejected — see {out / 'rejected.jsonl'}" in text
    assert "line 2" in text and "line 3" in text


def test_unknown_encoding_is_one_line(tmp_path: Path) -> None:
    p = tmp_path / "e.jsonl"
    p.write_bytes(_line(1))
    code, out = _run("replay", str(p), "--out", str(tmp_path / "o"), "--encoding", "klingon")
    assert code == 2 and "unknown --encoding" in _one_line(out)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_file_is_one_line(tmp_path: Path) -> None:
    p = tmp_path / "e.jsonl"
    p.write_bytes(_line(1))
    p.chmod(0)
    code, out = _run("replay", str(p), "--out", str(tmp_path / "o"))
    assert code == 2 and "permission denied" in _one_line(out)


def test_an_os_error_deep_in_a_command_becomes_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Anything the user can fix that a command did not check itself still ends as one line."""

    def boom() -> None:
        raise IsADirectoryError(21, "Is a directory", "/data/day1")

    host = typer.Typer()
    host.command("boom")(boom)
    monkeypatch.setitem(COMMANDS, "boom", (("x",), "test"))
    monkeypatch.setattr(main, "load_command", lambda name: typer.main.get_command(host))
    code, out = _run("boom")
    assert code == 2 and _one_line(out) == "error: /data/day1 is a folder: give a file"


def test_a_bug_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def bug() -> None:
        raise KeyError("not the user's fault")

    host = typer.Typer()
    host.command("bug")(bug)
    monkeypatch.setitem(COMMANDS, "bug", (("x",), "test"))
    monkeypatch.setattr(main, "load_command", lambda name: typer.main.get_command(host))
    r = CliRunner().invoke(app, ["bug"])
    assert isinstance(r.exception, KeyError)


def test_version() -> None:
    code, out = _run("--version")
    assert code == 0 and out.startswith("kefu ") and out.split()[1][0].isdigit()


def test_a_mistyped_command_suggests_the_right_one() -> None:
    code, out = _run("replai")
    assert code == 2 and "Did you mean 'replay'" in out


def test_the_lazy_command_table_lists_every_registered_command() -> None:
    """COMMANDS (what `kefu --help` lists without importing) matches what the modules register."""
    eager = typer.Typer()
    modules = sorted({m for mods, _ in COMMANDS.values() for m in mods})
    for m in modules:
        __import__(f"kefu.cli.{m}", fromlist=["register"]).register(eager)
    names = set(typer.main.get_group(eager).commands)
    assert names == set(COMMANDS)
    for name in COMMANDS:
        assert main.load_command(name) is not None, name


def test_help_imports_no_heavy_library() -> None:
    """`kefu --help` loads typer and rich only: no engine, analytics, model or web stack."""
    code = (
        "import sys\n"
        "from kefu.cli.main import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('ibis', 'duckdb', 'pyarrow', 'numpy', 'fastapi', 'sqlalchemy',"
        " 'lightgbm', 'jieba', 'kefu.engine') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout, out.stdout[-500:]
