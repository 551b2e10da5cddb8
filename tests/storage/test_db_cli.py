"""`kefu db upgrade | info | reset` on both backends."""

from __future__ import annotations

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from kefu.cli.main import app
from kefu.storage import repo
from kefu.storage.db import current_revision, head_revision, make_engine


def output(args: list[str]) -> tuple[int, str]:
    r = CliRunner().invoke(app, args, terminal_width=200)
    return r.exit_code, " ".join(r.output.split())


def test_upgrade_info_reset_round_trip(empty_db_url: str) -> None:
    code, text = output(["db", "info", "--db", empty_db_url])
    assert code == 0 and "revision none" in text and "events │ — (not migrated)" in text
    head = head_revision()
    code, text = output(["db", "upgrade", "--db", empty_db_url])
    assert code == 0 and text.endswith(f"at revision {head} (was empty)")
    code, text = output(["db", "upgrade", "--db", empty_db_url])
    assert code == 0 and text.endswith(f"at revision {head} (nothing to do)")
    engine = make_engine(empty_db_url)
    with Session(engine) as s, s.begin():
        rows = [repo.EventRow(store="s1", event_id=f"e{i}", ts_ms=i, type="search", payload="{}")
                for i in range(1_234)]  # fmt: skip
        repo.append_events(s, rows)
    code, text = output(["db", "info", "--db", empty_db_url])
    assert code == 0 and "(up to date)" in text
    assert "events │ 1,234" in text and "actions │ 0" in text
    assert output(["db", "reset", "--db", empty_db_url])[0] == 2  # needs --yes
    assert "events │ 1,234" in output(["db", "info", "--db", empty_db_url])[1]
    code, text = output(["db", "reset", "--db", empty_db_url, "--yes"])
    assert code == 0 and text.endswith("reset")
    assert "events │ 0" in output(["db", "info", "--db", empty_db_url])[1]
    assert current_revision(engine) == head
    engine.dispose()


def test_an_unreachable_database_is_a_one_line_error() -> None:
    code, text = output(["db", "info", "--db", "postgresql://nobody@127.0.0.1:1/x"])
    assert code == 1 and text.startswith("cannot use postgresql+psycopg://nobody@127.0.0.1:1/x")
