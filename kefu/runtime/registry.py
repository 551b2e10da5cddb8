"""Which capabilities the engine runs, in dispatch order (core grouping always first).

The engine takes its capabilities as an argument and imports none of them: this module, in
the runtime layer, is where they are composed.
"""

from __future__ import annotations

from kefu.engine.clock import Clock
from kefu.engine.core import Capability, Engine
from kefu.engine.settings import Config


def default_capabilities() -> list[Capability]:
    """The capabilities every store runs; later issues append theirs here."""
    from kefu.conversations import rules as conversations
    from kefu.engine import grouping
    from kefu.guide import intent, intent_model
    from kefu.guide import rules as guide
    from kefu.urge import reviews
    from kefu.urge import rules as urge

    return [
        grouping.CAPABILITY,
        intent.CAPABILITY,
        intent_model.ENGINE_CAPABILITY,
        conversations.CAPABILITY,
        guide.CAPABILITY,
        reviews.CAPABILITY,
        urge.CAPABILITY,
    ]


def default_engine(config: Config | None = None, clock: Clock | None = None) -> Engine:
    """An engine running every default capability (replays, back-tests, tests)."""
    return Engine(config, default_capabilities(), clock)
