"""The load test's after-run checks on a hand-made log: what passes and what must fail."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import insert

from kefu.loadtest.traffic import Record
from kefu.loadtest.verify import verify
from kefu.storage import models
from kefu.storage.db import make_engine, upgrade

RUN = "lt1a"
NAME = "every conversation's messages complete and in order"


def _check(tmp_path: Path, stored: list[int], unanswered: set[int]) -> tuple[bool, str]:
    """Buyer b1's messages 1…n stored in `stored` order; `unanswered` got no answer."""
    url = f"sqlite:///{tmp_path / 'v.db'}"
    upgrade(url)
    engine = make_engine(url)
    marks = {n: f"[{RUN}:b1:{n}]" for n in stored}
    with engine.begin() as conn:
        for i, n in enumerate(stored):
            text = f"在吗 {marks[n]}"
            conn.execute(insert(models.Event).values(
                store="s", event_id=None, ts_ms=i, type="message", received_ms=i,
                payload=f'{{"type":"message","text":"{text}"}}'))  # fmt: skip
            conn.execute(insert(models.Message).values(
                store="s", conversation="b1~1", buyer="b1", sender="buyer", text=text,
                ts_ms=i))  # fmt: skip
    engine.dispose()
    rec = Record()
    rec.accepted_markers = {m for n, m in marks.items() if n not in unanswered}
    rec.unknown_markers = {m for n, m in marks.items() if n in unanswered}
    checks = {name: (ok, detail) for name, ok, detail in verify(url, "s", RUN, rec)}
    return checks[NAME]


def test_answered_messages_stored_out_of_order_fail(tmp_path: Path) -> None:
    ok, detail = _check(tmp_path, [1, 3, 2], set())
    assert not ok and "out of order: b1" in detail


def test_a_message_whose_answer_was_lost_may_land_after_the_next(tmp_path: Path) -> None:
    ok, detail = _check(tmp_path, [1, 3, 2], {2})
    assert ok and "1 unanswered stored after the client's next" in detail


def test_in_order_passes_without_remarks(tmp_path: Path) -> None:
    ok, detail = _check(tmp_path, [1, 2, 3], set())
    assert ok and detail == "3 messages in 1 conversations"
