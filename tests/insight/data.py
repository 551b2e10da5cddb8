"""The hand-built data set of the insight tests: one store per group of edge cases.

Times are Asia/Shanghai (+08:00). D1 = 2026-03-02, D2 = 03-03, D3 = 03-04. Every expected
number in test_metrics.py is computed by hand from these events (see the comments there).
"""

from __future__ import annotations

from typing import Any

import msgspec

from kefu.engine.events import AnyEvent, Event
from kefu.engine.settings import Config, parse_config

DAYS = {1: "2026-03-02", 2: "2026-03-03", 3: "2026-03-04"}

SETTINGS: dict[str, Any] = {
    "bot": {"enabled": False},
    "stores": {
        "bot": {"bot": {"enabled": True}},
        "funnel_pay": {"insight": {"attribution": "payment"}},
        "funnel_first": {"insight": {"attribution": "order_first"}},
        "funnel_v3": {"insight": {"validity_days": 3}},
        "funnel_pro": {"insight": {"proactive_excluded": False}},
    },
}


def config() -> Config:
    """The settings of the data set (per-store overrides)."""
    return parse_config(SETTINGS)


def at(day: int, hms: str) -> str:
    """RFC 3339 for day `day` (1-3) at HH:MM[:SS] in +08:00."""
    if hms.count(":") == 1:
        hms += ":00"
    return f"{DAYS[day]}T{hms}+08:00"


class Log:
    """Builds the events of one store."""

    def __init__(self, store: str) -> None:
        self.store = store
        self.events: list[Event] = []

    def add(self, type_: str, day: int, hms: str, **fields: Any) -> None:
        raw = {"type": type_, "ts": at(day, hms), "store": self.store, **fields}
        self.events.append(msgspec.convert(raw, AnyEvent))

    def buyer(self, buyer: str, day: int, hms: str, **kw: Any) -> None:
        self.add("message", day, hms, buyer=buyer, sender="buyer", text="question", **kw)

    def agent(self, agent: str, buyer: str, day: int, hms: str, **kw: Any) -> None:
        self.add("message", day, hms, buyer=buyer, sender="agent", agent=agent, text="answer", **kw)

    def bot(self, buyer: str, day: int, hms: str) -> None:
        self.add("message", day, hms, buyer=buyer, sender="bot", text="auto")

    def online(self, day: int, hms: str, *agents: str, capacity: int | None = None) -> None:
        for a in agents:
            extra = {"capacity": capacity} if capacity is not None else {}
            self.add("agent", day, hms, agent=a, **extra)
            self.add("agent.status", day, hms, agent=a, status="online")


def resp() -> list[Event]:
    """Rounds, first/average response, reply rate, 3-minute rule, transfer, reopen, ratings."""
    s = Log("resp")
    s.online(1, "08:00", "a1", "a2")
    # c1 (u1): a1 answers two rounds (30 s, 120 s), hands over to a2, who answers in 240 s
    s.buyer("u1", 1, "10:00:00")
    s.agent("a1", "u1", 1, "10:00:30")
    s.buyer("u1", 1, "10:01:00")
    s.buyer("u1", 1, "10:01:10")
    s.agent("a1", "u1", 1, "10:03:00")
    s.add("transfer", 1, "10:05", buyer="u1", agent="a1", to_agent="a2")
    s.buyer("u1", 1, "10:06:00")
    s.agent("a2", "u1", 1, "10:10:00")
    s.add("conversation.close", 1, "10:12", buyer="u1", agent="a2")
    s.add("rating", 1, "10:13", buyer="u1", agent="a2", score=5)
    # c2 (u2): 60 s at 22:51; the round starting 23:01 (540 s) is outside 08-23: passes
    s.buyer("u2", 1, "22:50:00")
    s.agent("a1", "u2", 1, "22:51:00")
    s.buyer("u2", 1, "23:01:00")
    s.agent("a1", "u2", 1, "23:10:00")
    # c3 (u3): the round starting 22:59 is answered at 23:03 (240 s): fails
    s.buyer("u3", 1, "22:55:00")
    s.agent("a1", "u3", 1, "22:56:00")
    s.buyer("u3", 1, "22:59:00")
    s.agent("a1", "u3", 1, "23:03:00")
    s.add("rating", 1, "23:20", buyer="u3", score=3)  # no agent: the conversation's (a1)
    # c4 (u4): assigned at 23:05, outside 08-23: not in the 3-minute denominator
    s.buyer("u4", 1, "23:05:00")
    s.agent("a2", "u4", 1, "23:06:00")
    # c5, c6 (u5): the session times out and the buyer comes back: two conversations
    s.buyer("u5", 2, "09:00:00")
    s.agent("a1", "u5", 2, "09:01:00")
    s.buyer("u5", 2, "09:40:00")
    s.agent("a1", "u5", 2, "09:45:00")
    # c7, c8 (u6): explicit ids; t-2 reopens while t-1's last round is unanswered
    s.buyer("u6", 2, "14:00:00", conversation="t-1")
    s.agent("a2", "u6", 2, "14:01:00", conversation="t-1")
    s.buyer("u6", 2, "14:02:00", conversation="t-1")
    s.buyer("u6", 2, "14:30:00", conversation="t-2")
    s.agent("a2", "u6", 2, "14:31:00", conversation="t-2")
    return s.events


def bot() -> list[Event]:
    """The engine's bot and 转人工 button: hand-off, queue, failure (§6); bot time not counted."""
    s = Log("bot")
    s.online(1, "08:00", "a1", capacity=1)
    # v1: bot answers at 10:00, click at 10:02 assigns a1, who answers at 10:03 (60 s)
    s.buyer("v1", 1, "10:00:00")
    s.add("transfer.click", 1, "10:02", buyer="v1")
    s.agent("a1", "v1", 1, "10:03:00")
    # v2: click at 10:06 while a1 is full: queued until v1 closes at 10:10 (240 s wait)
    s.buyer("v2", 1, "10:05:00")
    s.add("transfer.click", 1, "10:06", buyer="v2")
    s.add("conversation.close", 1, "10:10", buyer="v1", agent="a1")
    s.agent("a1", "v2", 1, "10:11:00")
    s.add("conversation.close", 1, "10:15", buyer="v2", agent="a1")
    # v3: everyone offline: the click fails
    s.add("agent.status", 1, "10:20", agent="a1", status="offline")
    s.buyer("v3", 1, "10:21:00")
    s.add("transfer.click", 1, "10:22", buyer="v3")
    # v4: offered the button, never clicks
    s.buyer("v4", 1, "10:30:00")
    # v5 assigned at 11:01; v6 queued at 11:04 until v5 closes at 11:05:40 (100 s wait)
    s.add("agent.status", 1, "11:00", agent="a1", status="online")
    s.buyer("v5", 1, "11:00:00")
    s.add("transfer.click", 1, "11:01", buyer="v5")
    s.agent("a1", "v5", 1, "11:02:00")
    s.buyer("v6", 1, "11:03:00")
    s.add("transfer.click", 1, "11:04", buyer="v6")
    s.add("conversation.close", 1, "11:05:40", buyer="v5", agent="a1")
    s.agent("a1", "v6", 1, "11:06:40")
    return s.events


def log() -> list[Event]:
    """A log from a real system: logged bot messages, no assign (hand-off after the bot)."""
    s = Log("log")
    s.buyer("w1", 2, "16:00:00")
    s.bot("w1", 2, "16:00:05")
    s.buyer("w1", 2, "16:01:00")
    s.bot("w1", 2, "16:01:05")
    s.buyer("w1", 2, "16:03:00")
    s.agent("a1", "w1", 2, "16:04:00")
    return s.events


def funnel(store: str) -> list[Event]:
    """Inquiries, orders, payments and who gets the credit under each setting (§1, §2)."""
    s = Log(store)
    s.online(1, "08:00", "a1", "a2")
    # u1: asks D1, a1 replies; orders and pays D1 (credited a1 by every rule)
    s.buyer("u1", 1, "10:00")
    s.agent("a1", "u1", 1, "10:01")
    s.add("order", 1, "12:00", order="o1", buyer="u1", amount=100.0)
    s.add("payment", 1, "12:30", order="o1", amount=100.0)
    # u2: a1 replies D1, orders D1 14:00; asks again D2, a2 replies, pays D2 10:00
    s.buyer("u2", 1, "11:00")
    s.agent("a1", "u2", 1, "11:01")
    s.add("order", 1, "14:00", order="o2", buyer="u2", amount=200.0)
    s.buyer("u2", 2, "09:00")
    s.agent("a2", "u2", 2, "09:01")
    s.add("payment", 2, "10:00", order="o2", amount=200.0)
    # u3: asks D1, orders and pays on D3: outside a 2-day window
    s.buyer("u3", 1, "15:00")
    s.agent("a1", "u3", 1, "15:01")
    s.add("order", 3, "10:00", order="o3", buyer="u3", amount=80.0)
    s.add("payment", 3, "10:05", order="o3", amount=80.0)
    # u4: a2 follows up proactively D1 (agent first), u4 orders and pays D1
    s.agent("a2", "u4", 1, "16:00")
    s.buyer("u4", 1, "16:05")
    s.agent("a2", "u4", 1, "16:06")
    s.add("order", 1, "17:00", order="o4", buyer="u4", amount=40.0)
    s.add("payment", 1, "17:05", order="o4", amount=40.0)
    # u5: never chats: silent sale
    s.add("order", 1, "13:00", order="o5", buyer="u5", amount=50.0)
    s.add("payment", 1, "13:10", order="o5", amount=50.0)
    # u6: asks D2, orders D2, never pays
    s.buyer("u6", 2, "11:00")
    s.agent("a1", "u6", 2, "11:01")
    s.add("order", 2, "12:00", order="o6", buyer="u6", amount=30.0)
    # u7: orders D2 08:00 before any chat, asks 09:00 (a2 replies), pays 09:30
    s.add("order", 2, "08:00", order="o7", buyer="u7", amount=60.0)
    s.buyer("u7", 2, "09:00")
    s.agent("a2", "u7", 2, "09:01")
    s.add("payment", 2, "09:30", order="o7", amount=60.0)
    return s.events


FUNNEL_STORES = ("funnel", "funnel_pay", "funnel_first", "funnel_v3", "funnel_pro")


def all_events() -> list[Event]:
    """Every store's events."""
    events = resp() + bot() + log()
    for store in FUNNEL_STORES:
        events += funnel(store)
    return events
