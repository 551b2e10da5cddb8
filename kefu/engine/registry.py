"""Which capabilities the engine runs, in dispatch order (core grouping always first)."""

from __future__ import annotations

from kefu.engine.core import Capability


def default_capabilities() -> list[Capability]:
    """The capabilities every store runs; later issues append theirs here."""
    from kefu.conversations import rules as conversations
    from kefu.engine import grouping

    return [grouping.CAPABILITY, conversations.CAPABILITY]
