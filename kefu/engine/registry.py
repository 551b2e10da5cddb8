"""Which capabilities the engine runs, in dispatch order (core grouping always first)."""

from __future__ import annotations

from kefu.engine.core import Capability


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
