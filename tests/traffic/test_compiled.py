"""Report SQL compiled once per shape (kefu.traffic.metrics.Session.rows): the stand-ins for
the window and the store are replaced by each call's own, so a cached text gives what a
fresh compilation gives, for any store, range and report."""

from __future__ import annotations

from typing import Any

from kefu.traffic import metrics, reports
from kefu.traffic.facts import facts_from_events
from kefu.traffic.metrics import Session, Window
from tests.traffic import data


def _all(session: Session) -> list[Any]:
    out: list[Any] = []
    for store in ("s1", "s2", "s'3"):
        for window in (
            Window.days(data.D1, data.D1), Window.days(data.D2, data.D2),
            Window.days(data.D1, data.D2), Window.days(None, data.D1), Window(),
        ):  # fmt: skip
            out.append(session.metrics(window, ("total", "source", "day"), store))
            out.append(reports.audience(session, store, window))
            out.append(reports.churn(session, store, window, min_stores=1, min_buyers=1))
    return out


def test_cached_sql_answers_as_a_fresh_compilation() -> None:
    tables = facts_from_events(data.events())
    metrics._SQL.clear()
    cached = _all(Session(tables))  # the first call of each shape compiles, the rest reuse
    assert len(metrics._SQL) <= 3 * 5 * 2  # shapes, not calls: stores share the text
    assert cached == _all_fresh(tables)
    assert cached[0] != cached[3]  # the stores and ranges differ: the replacement mattered


def _all_fresh(tables: Any) -> list[Any]:
    """The same calls, each on an emptied cache."""

    class Fresh(Session):
        def rows(self, *args: Any, **kw: Any) -> list[dict[str, Any]]:
            metrics._SQL.clear()
            return super().rows(*args, **kw)

    return _all(Fresh(tables))
