"""Hypothesis fuzzing of the event readers: any input line is either an event or a clean
rejection with its line number and a reason — never another exception — and the good
lines around bad ones are always kept."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kefu.engine.events import Event
from kefu.engine.readers import ReadStats, read_events

T = 1_800_000_000_000
VALID: list[dict[str, Any]] = [
    {"type": "message", "store": "s", "buyer": "b", "sender": "buyer", "text": "在吗"},
    {"type": "message", "store": "s", "buyer": "b", "sender": "agent", "agent": "a",
     "text": "在的", "products": ["p1"]},
    {"type": "product", "store": "s", "product": "p1", "title": "杯", "price": 9.5,
     "attrs": {"色": "红"}, "stock": 3},
    {"type": "agent", "store": "s", "agent": "a", "name": "A", "groups": ["售后"], "capacity": 3},
    {"type": "agent.status", "store": "s", "agent": "a", "status": "online"},
    {"type": "transfer.click", "store": "s", "buyer": "b"},
    {"type": "order", "store": "s", "order": "o1", "buyer": "b", "amount": 9.5,
     "items": [{"product": "p1", "qty": 1, "price": 9.5}]},
    {"type": "payment", "store": "s", "order": "o1", "amount": 9.5},
    {"type": "view", "store": "s", "buyer": "b", "product": "p1", "source": "search",
     "carrier": "card", "dwell_s": 3.5},
    {"type": "rating", "store": "s", "buyer": "b", "agent": "a", "score": 5},
    {"type": "settings", "store": "s", "values": {"urge": {"delay": "5m"}}},
    {"type": "faq", "store": "s", "faq": "f1", "question": "发什么快递", "answer": "顺丰"},
]  # fmt: skip
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12,
)  # fmt: skip
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def read(lines: list[bytes]) -> tuple[list[Event], ReadStats]:
    stats = ReadStats()
    events = list(read_events(((n, raw) for n, raw in enumerate(lines, 1)), stats))
    return events, stats


def good(i: int) -> bytes:
    ev = {**VALID[i % len(VALID)], "ts": T + i, "id": f"g{i}"}
    return json.dumps(ev, ensure_ascii=False).encode()


def assert_clean(stats: ReadStats, lines: int) -> None:
    assert stats.lines == lines
    assert stats.accepted + stats.duplicates + len(stats.rejected) == lines
    for r in stats.rejected:
        assert 1 <= r.line <= lines
        assert isinstance(r.reason, str) and r.reason
        assert r.field is None or isinstance(r.field, str)


@FUZZ
@given(st.lists(st.binary(max_size=200), min_size=1, max_size=8))
def test_random_bytes_are_rejected_cleanly_and_good_lines_kept(junk: list[bytes]) -> None:
    lines = [good(0), *junk, good(1)]
    events, stats = read(lines)
    assert_clean(stats, len(lines))
    ids = [e.id for e in events]
    assert ids[0] == "g0" and ids[-1] == "g1"


@FUZZ
@given(st.lists(JSON, min_size=1, max_size=6))
def test_random_json_is_rejected_cleanly(docs: list[Any]) -> None:
    lines = [good(2)] + [json.dumps(d).encode() for d in docs] + [good(3)]
    events, stats = read(lines)
    assert_clean(stats, len(lines))
    assert {"g2", "g3"} <= {e.id for e in events}


def mutate(draw: Any, ev: dict[str, Any]) -> bytes:
    """One of: drop a field, replace a value, add an unknown field, change the type, retype
    the time, or cut the line short."""
    ev = dict(ev)
    kind = draw(st.sampled_from(["drop", "replace", "extra", "type", "ts", "cut"]))
    keys = sorted(ev)
    if kind == "drop":
        ev.pop(draw(st.sampled_from(keys)))
    elif kind == "replace":
        ev[draw(st.sampled_from(keys))] = draw(JSON)
    elif kind == "extra":
        ev[draw(st.text(min_size=1, max_size=8))] = draw(JSON)
    elif kind == "type":
        ev["type"] = draw(st.sampled_from([v["type"] for v in VALID] + ["nope", ""]))
    elif kind == "ts":
        odd = ["2027-01-15T08:00:00", "2027-13-01T00:00:00+08:00",
               "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]  # fmt: skip
        iso = st.datetimes().map(lambda d: d.isoformat())
        ev["ts"] = draw(st.one_of(st.integers(), st.text(max_size=30), iso, st.sampled_from(odd)))
    raw = json.dumps(ev, ensure_ascii=False).encode()
    if kind == "cut":
        raw = raw[: draw(st.integers(0, len(raw) - 1))]
    return raw


@FUZZ
@given(st.data())
def test_mutated_valid_events_never_raise_and_good_lines_survive(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 6))
    lines: list[bytes] = []
    good_ids = []
    for i in range(n):
        base = {**VALID[data.draw(st.integers(0, len(VALID) - 1))], "ts": T + i, "id": f"m{i}"}
        lines.append(mutate(data.draw, base))
        lines.append(good(100 + i))
        good_ids.append(f"g{100 + i}")
    events, stats = read(lines)
    assert_clean(stats, len(lines))
    kept = {e.id for e in events}
    assert set(good_ids) <= kept
    # A rejection is always of a mutated line (odd positions), never of a good one.
    assert all(r.line % 2 == 1 for r in stats.rejected)
    for e in events:  # what is accepted is a well-typed event with a time in ms
        assert isinstance(e.at, int)
        msgspec.json.encode(e)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.binary(max_size=100), min_size=1, max_size=5))
def test_gzip_files_of_junk_read_cleanly(tmp_path_factory: Any, junk: list[bytes]) -> None:
    path: Path = tmp_path_factory.mktemp("gz") / "events.jsonl.gz"
    body = b"\n".join([good(0), *[j.replace(b"\n", b" ") for j in junk], good(1)]) + b"\n"
    path.write_bytes(gzip.compress(body))
    stats = ReadStats()
    events = list(read_events(path, stats))
    assert {"g0", "g1"} <= {e.id for e in events}
    assert stats.accepted + stats.duplicates + len(stats.rejected) == stats.lines
