"""`kefu replay`: run the engine over a log on the events' own clock and write the results.

Writes `actions.jsonl` (time order), `metrics.json` and `rejected.jsonl` exactly as
events.md "Replay output". Deterministic: the same input and settings give identical files.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import Any

import orjson

from kefu.engine.actions import Action
from kefu.engine.core import Engine
from kefu.engine.events import Event
from kefu.engine.output import action_line
from kefu.engine.readers import ReadStats, read_events, write_rejected
from kefu.engine.settings import Config
from kefu.insight.facts import FactsBuilder
from kefu.runtime.registry import default_engine

Progress = Callable[[int, int], None]


@dataclass
class ReplaySummary:
    """What one replay did."""

    events: int
    rejected: int
    duplicates: int
    actions: int
    seconds: float
    read: ReadStats = field(default_factory=ReadStats)

    def line(self) -> str:
        """The one-line summary printed by the CLI."""
        return (
            f"read {self.events} events ({self.rejected} rejected, {self.duplicates} duplicate ids)"
            f" → {self.actions} actions in {self.seconds:.2f} s"
        )


def load_sorted(source: str | Path, stats: ReadStats, encoding: str | None = None) -> list[Event]:
    """Every accepted event of `source`, sorted by time (stable on file order)."""
    events = list(read_events(source, stats, encoding=encoding))
    events.sort(key=attrgetter("ts"))
    return events


def record(facts: FactsBuilder, engine: Engine, event: Event, out: list[Action]) -> None:
    """Record one event just fed to `engine`, in the conversation the engine put it in, and
    the actions it caused."""
    buyer = getattr(event, "buyer", None)
    conv = engine.states[event.store].conversation_of(buyer) if buyer is not None else None
    facts.add_event(event, conv.id if conv is not None else None)
    if out:
        facts.add_actions(out)


def run(
    events: Iterable[Event],
    engine: Engine,
    facts: FactsBuilder | None = None,
    on_progress: Progress | None = None,
    total: int = 0,
) -> list[Action]:
    """Feed time-ordered events through `engine`, then fire the timers still pending.

    With `facts`, every event (with the conversation the engine put it in) and every action
    is recorded for the metrics.
    """
    actions: list[Action] = []
    extend = actions.extend
    feed = engine.feed
    n = 0
    for ev in events:
        out = feed(ev)
        if out:
            extend(out)
        if facts is not None:
            record(facts, engine, ev, out)
        n += 1
        if on_progress is not None and n % 50_000 == 0:
            on_progress(n, total)
    tail = engine.drain()
    extend(tail)
    if facts is not None:
        facts.add_actions(tail)
    if on_progress is not None:
        on_progress(n, total)
    return actions


def with_card_metrics(doc: dict[str, Any], events: list[Event], config: Config) -> dict[str, Any]:
    """Add the §7 product-card ids (`card_…`) to each store's totals and days of `doc`.

    They come from the events alone (no conversation state). A store or day with no card
    traffic still carries every id (counts 0, rates null), so each metric id of metrics.md
    is in metrics.json.
    """
    from kefu.traffic.facts import facts_from_events
    from kefu.traffic.metrics import compute as card_compute
    from kefu.traffic.metrics import shape

    stores = list(doc["stores"])
    cards = card_compute(facts_from_events(events, config), scopes=("total", "day"))["stores"]
    for store in stores:
        section = doc["stores"][store]
        mine = cards.get(store, {})
        section["totals"].update(mine.get("totals") or shape({}))
        card_days = mine.get("days", {})
        for day, values in section.get("days", {}).items():
            values.update(card_days.get(day) or shape({}))
    return doc


def replay(
    source: str | Path,
    config: Config,
    out_dir: str | Path,
    on_progress: Progress | None = None,
    encoding: str | None = None,
) -> ReplaySummary:
    """Replay `source` under `config` into `out_dir`; see the module docstring."""
    started = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stats = ReadStats()
    events = load_sorted(source, stats, encoding)
    engine = default_engine(config)
    facts = FactsBuilder(config)
    actions = run(events, engine, facts, on_progress, len(events))
    with (out / "actions.jsonl").open("wb") as fh:
        for a in actions:
            fh.write(action_line(a, engine.settings(a.store).tz))
    from kefu.insight.metrics import compute

    metrics = with_card_metrics(compute(facts.tables(), config), events, config)
    (out / "metrics.json").write_bytes(
        orjson.dumps(metrics, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    )
    with (out / "rejected.jsonl").open("wb") as fh:
        write_rejected(stats.rejected, fh)
    return ReplaySummary(
        events=stats.accepted,
        rejected=len(stats.rejected),
        duplicates=stats.duplicates,
        actions=len(actions),
        seconds=time.perf_counter() - started,
        read=stats,
    )


def replay_rows(events: Iterable[Event], config: Config | None = None) -> dict[str, Any]:
    """Roll-up fact tables of decoded events run through a fresh engine in the given order
    with no timer fired after the last event: what the roll-ups hold after a live service
    that never ticked took in the same events (tests and benchmarks compare against it)."""
    from kefu.insight.rollup import StreamFacts, rows_to_tables

    cfg = config or Config()
    engine = default_engine(cfg)
    facts = StreamFacts(cfg)
    for event in events:
        record(facts, engine, event, engine.feed(event))
    return rows_to_tables(facts.take())
