"""`kefu insight` as a table fits the terminal it prints to."""

from __future__ import annotations

from rich.console import Console

from kefu.cli.insight_cmd import render_tables


def _doc(agents: int) -> dict:
    values = {f"a{i:02d}": {"received_buyers": i, "reply_rate": 0.5, "satisfaction_rate": None}
              for i in range(agents)}  # fmt: skip
    return {"stores": {"s1": {"totals": {}, "agents": values, "days": {}}}}


def test_many_agents_split_into_tables_no_wider_than_the_terminal() -> None:
    ids = ("received_buyers", "reply_rate", "satisfaction_rate")
    for width in (60, 80, 120):
        tables, empty = render_tables(_doc(25), "agent", ids, width)
        console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
        for t in tables:
            console.print(t)
        lines = console.export_text().splitlines()
        assert max(len(line) for line in lines) <= width
        shown = " ".join(lines)
        assert all(f"s1 a{i:02d}" in shown for i in range(25))  # every agent is somewhere
        assert empty == ["satisfaction_rate"] and "satisfaction_rate" not in shown
    assert len(render_tables(_doc(25), "agent", ids, 60)[0]) > len(
        render_tables(_doc(25), "agent", ids, 120)[0]
    )


def test_no_rows_gives_no_table() -> None:
    assert render_tables(_doc(0), "agent", ("reply_rate",), 80) == ([], ["reply_rate"])
