"""Message counts gathered while replaying: the part of metrics.md the engine sees directly.

The full metric set (metrics.md §1–§8) is computed by the insight layer over fact tables;
these counters give `kefu replay` its `metrics.json` shape (stores → totals, days, agents)
with exact values for the ids they cover.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from kefu.engine.events import Event, Message

_IDS = ("buyer_messages", "agent_messages")


class MessageCounts:
    """Counts buyer and agent messages per store: in total, per day and per agent."""

    def __init__(self) -> None:
        # store -> scope key -> metric id -> count
        self._totals: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(_IDS, 0))
        self._days: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
        self._agents: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
        self._conv_agent: dict[tuple[str, str], str] = {}
        self._day_cache: dict[tuple[int, str], str] = {}

    def observe(self, event: Event, conversation: str | None, tz: ZoneInfo) -> None:
        """Count `event` if it is a buyer or agent message."""
        if not isinstance(event, Message) or event.sender not in ("buyer", "agent"):
            return
        key = "buyer_messages" if event.sender == "buyer" else "agent_messages"
        store = event.store
        self._totals[store][key] += 1
        hour = event.at // 3_600_000
        day = self._day_cache.get((hour, tz.key))
        if day is None:
            day = datetime.fromtimestamp(event.at / 1000, tz).date().isoformat()
            self._day_cache[(hour, tz.key)] = day
        days = self._days[store]
        days.setdefault(day, dict.fromkeys(_IDS, 0))[key] += 1
        if conversation is None:
            return
        if event.sender == "agent" and event.agent is not None:
            self._conv_agent[(store, conversation)] = event.agent
        agent = self._conv_agent.get((store, conversation))
        if agent is not None:
            self._agents[store].setdefault(agent, dict.fromkeys(_IDS, 0))[key] += 1

    def result(self) -> dict[str, Any]:
        """The `metrics.json` document: {"stores": {store: {totals, days, agents}}}."""
        stores: dict[str, Any] = {}
        for store in sorted(set(self._totals) | set(self._days)):
            stores[store] = {
                "totals": _with_ratio(self._totals[store]),
                "days": {d: _with_ratio(v) for d, v in sorted(self._days[store].items())},
                "agents": {a: _with_ratio(v) for a, v in sorted(self._agents[store].items())},
            }
        return {"stores": stores}

    def ensure_store(self, store: str) -> None:
        """Make `store` appear in the result even with no messages."""
        self._totals[store]


def _with_ratio(counts: dict[str, int]) -> dict[str, Any]:
    b, a = counts["buyer_messages"], counts["agent_messages"]
    return {"buyer_messages": b, "agent_messages": a, "qa_ratio": (a / b) if b else None}
