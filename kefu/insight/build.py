"""Build fact tables by running the engine over a log (the `kefu insight EVENTS` path).

The engine decides conversations, assignments and transfer outcomes; the facts record them.
Each event is attached to the conversation the engine put it in: the buyer's open one after
the event was fed, else the buyer's latest (a `conversation.close` or a late `rating`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import pyarrow as pa

from kefu.engine.core import Engine
from kefu.engine.events import Event
from kefu.engine.readers import ReadStats
from kefu.engine.settings import Config
from kefu.insight.facts import FactsBuilder
from kefu.runtime.registry import default_engine
from kefu.runtime.replay import load_sorted, run

Progress = Callable[[int, int], None]


def feed_facts(
    events: Iterable[Event],
    engine: Engine,
    builder: FactsBuilder,
    on_progress: Progress | None = None,
    total: int = 0,
) -> None:
    """Feed time-ordered events through `engine`, recording events and actions in `builder`."""
    run(events, engine, builder, on_progress, total)


def facts_from_log(
    source: str | Path, config: Config, on_progress: Progress | None = None
) -> tuple[dict[str, pa.Table], ReadStats]:
    """Replay `source` under `config` and return the fact tables and the read statistics."""
    stats = ReadStats()
    events = load_sorted(source, stats)
    builder = FactsBuilder(config)
    feed_facts(events, default_engine(config), builder, on_progress, len(events))
    return builder.tables(), stats


def facts_from_events(events: Iterable[Event], config: Config | None = None) -> dict[str, pa.Table]:
    """Fact tables of already decoded events (sorted here by time, stable)."""
    cfg = config or Config()
    ordered = sorted(events, key=lambda e: e.at)
    builder = FactsBuilder(cfg)
    feed_facts(ordered, default_engine(cfg), builder)
    return builder.tables()
