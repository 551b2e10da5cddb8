"""The store simulator: deterministic, valid, time-ordered, and shaped like a real store."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import msgspec
from typer.testing import CliRunner

from kefu.cli.main import app
from kefu.engine.events import AnyEvent, Event
from kefu.sim import generate

DEC = msgspec.json.Decoder(AnyEvent)


def events(**kw) -> list[Event]:
    return [DEC.decode(line) for line in generate(**kw)]


def test_same_seed_same_bytes_and_another_seed_differs() -> None:
    a = list(generate(stores=2, buyers=60, days=2, seed=5))
    b = list(generate(stores=2, buyers=60, days=2, seed=5))
    c = list(generate(stores=2, buyers=60, days=2, seed=6))
    assert a == b
    assert a != c


def test_every_line_decodes_in_time_order_with_unique_ids() -> None:
    evs = events(stores=2, buyers=80, days=3, seed=1)
    assert [e.at for e in evs] == sorted(e.at for e in evs)
    ids = [(e.store, e.id) for e in evs]
    assert len(ids) == len(set(ids))
    kinds = Counter(e.__struct_config__.tag for e in evs)
    for t in (
        "product",
        "agent",
        "agent.status",
        "message",
        "view",
        "impression",
        "order",
        "payment",
        "transfer.click",
        "rating",
        "cart.add",
        "buyer",
        "search",
    ):
        assert kinds[t] > 0, t  # fmt: skip


def test_daily_rhythm_peaks_in_the_morning_and_evening() -> None:
    hours: Counter[int] = Counter()
    for e in events(stores=1, buyers=1500, days=3, seed=2):
        if e.__struct_config__.tag == "message" and e.sender == "buyer":
            hours[(e.at // 3_600_000 + 8) % 24] += 1
    peak = hours[10] + hours[11] + hours[20] + hours[21]
    night = hours[3] + hours[4] + hours[5] + hours[2]
    assert peak > 5 * max(1, night)


def test_agent_reply_times_vary_around_the_three_minute_mark() -> None:
    last_buyer: dict[str, int] = {}
    delays = []
    for e in events(stores=2, buyers=800, days=3, seed=3):
        if e.__struct_config__.tag != "message":
            continue
        if e.sender == "buyer":
            last_buyer.setdefault(e.buyer, e.at)
        elif e.sender == "agent" and e.buyer in last_buyer:
            delays.append(e.at - last_buyer.pop(e.buyer))
    assert any(d > 180_000 for d in delays)
    assert sum(d <= 180_000 for d in delays) > len(delays) // 2


def test_buyers_who_add_to_cart_order_more_often() -> None:
    carted, ordered, everyone = set(), set(), set()
    for e in events(stores=2, buyers=1000, days=4, seed=4):
        tag = e.__struct_config__.tag
        if tag == "view":
            everyone.add(e.buyer)
        elif tag == "cart.add":
            carted.add(e.buyer)
        elif tag == "order":
            ordered.add(e.buyer)
    rate_cart = len(carted & ordered) / len(carted)
    rate_rest = len((everyone - carted) & ordered) / len(everyone - carted)
    assert rate_cart > 2 * rate_rest


def test_events_after_midnight_land_on_the_next_day_in_order() -> None:
    per_day = defaultdict(list)
    for e in events(stores=1, buyers=300, days=3, seed=9):
        per_day[(e.at // 3_600_000 + 8) // 24].append(e.at)
    assert len(per_day) >= 3


def test_cli_writes_a_gzip_log_and_summary(tmp_path: Path) -> None:
    out = tmp_path / "sim.jsonl.gz"
    res = CliRunner().invoke(app, ["simulate", "--stores", "1", "--buyers", "50", "--days", "2",
                                   "--seed", "7", "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "simulated" in res.output
    import gzip

    lines = gzip.decompress(out.read_bytes()).splitlines()
    assert lines == list(generate(stores=1, buyers=50, days=2, seed=7))


def test_cli_rejects_a_bad_start_date(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path / "x"), "--start", "11/01"])
    assert res.exit_code == 2
