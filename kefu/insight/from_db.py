"""Fact tables of a store from the live database: its event log replayed through the engine.

The engine is deterministic, so replaying the logged events gives the same conversations,
assignments and urges the live service decided. The insight endpoints read the daily
roll-ups instead (`kefu.insight.rollup`: only the new events are replayed, only the range's
buyers read); this whole-log replay remains for callers that want a log's end-of-replay view
(every pending timer fired).
"""

from __future__ import annotations

import pyarrow as pa
from sqlalchemy import Engine as SAEngine

from kefu.engine.core import Engine
from kefu.engine.replay import run
from kefu.engine.settings import Config
from kefu.insight.facts import FactsBuilder
from kefu.storage.repo import logged_events


def facts_from_db(db: SAEngine, store: str, config: Config) -> dict[str, pa.Table]:
    """Fact tables of `store` rebuilt from its event log (time order, stable on log order)."""
    events = sorted(logged_events(db, store), key=lambda e: e.at)
    facts = FactsBuilder(config)
    run(events, Engine(config), facts)
    return facts.tables()
