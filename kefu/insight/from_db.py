"""Fact tables of a store from the live database: what the live service committed.

The log and the outbox merged in decision order (`kefu.insight.decisions`) give the facts
of the conversations, assignments and urges the live service decided, without running the
rules again. The insight endpoints read the daily roll-ups instead (`kefu.insight.rollup`:
only the new decisions are read, only the range's buyers); this whole-store read remains for
callers that want every fact of a store at once.
"""

from __future__ import annotations

import pyarrow as pa
from sqlalchemy import Engine as SAEngine

from kefu.engine.settings import Config
from kefu.insight.decisions import project_store
from kefu.insight.facts import FactsBuilder


def facts_from_db(
    db: SAEngine, store: str, config: Config, handoff: bool = False
) -> dict[str, pa.Table]:
    """Fact tables of `store` as committed (timers the server has not fired yet: not yet);
    with `handoff`, the 转人工 report's `handoff` table too."""
    facts = FactsBuilder(config)
    with db.connect() as conn:
        project_store(conn, store, facts)
    tables = facts.tables()
    if handoff:
        tables["handoff"] = facts.handoff()
    return tables
