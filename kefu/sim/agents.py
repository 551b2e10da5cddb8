"""The store's customer-service team: accounts, shifts, reply speed, capacity and routing.

Each agent has a personal median reply time (log-normal spread between agents, calibrated on
the Twitter sample) and a capacity of 3-8 concurrent chats. Routing follows kefu's own
rules: the buyer's last agent if online and free, else the least-loaded online agent of the
group, else the first one to free a slot (the buyer waits: the round runs long).
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from kefu.sim import calibration as cal
from kefu.sim.texts import AGENT_NICKNAMES

MIN = 60
HOUR = 3600
# Shift patterns (start, end) in minutes after midnight: early, day and late cover 8-24 h.
SHIFTS = ((8 * 60 + 30, 17 * 60 + 30), (10 * 60, 19 * 60), (14 * 60, 23 * 60 + 30))
STICKY_S = 48 * HOUR  # kefu's default routing.sticky_hours


@dataclass(eq=False)
class Agent:
    """One sub-account (子账号) and its state during the simulation."""

    id: str
    name: str
    role: str
    groups: list[str]
    capacity: int
    median_s: float  # this agent's typical reply delay
    shift: tuple[int, int]
    windows: list[tuple[int, int]] = field(default_factory=list)  # today's online spans
    ends: list[int] = field(default_factory=list)  # heap: when each open chat frees its slot
    last_assign: int = 0

    def event(self) -> dict[str, object]:
        """The `agent` event fields (the assistant account takes no chats: no capacity)."""
        if self.role == "assistant":
            return {"agent": self.id, "name": self.name, "role": self.role}
        return {"agent": self.id, "name": self.name, "role": self.role, "groups": self.groups,
                "capacity": self.capacity}  # fmt: skip

    def online(self, t: int) -> bool:
        """Online (not busy, not offline) at `t`."""
        return any(a <= t < b for a, b in self.windows)

    def load(self, t: int) -> int:
        """Chats still open at `t`."""
        ends = self.ends
        while ends and ends[0] <= t:
            heapq.heappop(ends)
        return len(ends)

    def reply_delay(self, rng: random.Random, load: int) -> int:
        """Seconds to answer one message: log-normal around the median, slower when loaded."""
        delay = self.median_s * math.exp(rng.gauss(0.0, cal.REPLY_SIGMA_WITHIN_AGENT))
        return max(3, int(delay * (1.0 + 0.25 * max(0, load - 1))))


def build_team(rng: random.Random, store: str, shop: str, theme: str, buyers: int) -> list[Agent]:
    """The store's agents: one supervisor, pre-sale and after-sale agents, one assistant."""
    n = max(3, min(40, 2 + buyers // 400 + rng.randrange(2)))
    names = list(AGENT_NICKNAMES)
    rng.shuffle(names)
    team = []
    for i in range(n):
        if i == 0:
            role, groups = "supervisor", ["售前", "售后"]
        elif i % 4 == 3:
            role, groups = "agent", ["售后"]
        else:
            role, groups = "agent", ["售前", theme]
        speed = cal.AGENT_MEDIAN_REPLY_S * math.exp(rng.gauss(0.0, cal.REPLY_SIGMA_BETWEEN_AGENTS))
        team.append(Agent(
            id=f"{store}-a{i + 1}", name=f"{shop}:{names[i % len(names)]}", role=role,
            groups=groups, capacity=rng.randint(3, 8), median_s=min(240.0, max(6.0, speed)),
            shift=SHIFTS[i % len(SHIFTS)] if i else SHIFTS[1],
        ))  # fmt: skip
    team.append(Agent(id=f"{store}-bot", name=f"{shop}:店小助", role="assistant", groups=[],
                      capacity=0, median_s=2.0, shift=(0, 0)))  # fmt: skip
    return team


Emit = Callable[..., None]


def plan_shifts(rng: random.Random, team: list[Agent], day_start: int, emit: Emit) -> None:
    """Today's windows and `agent.status` events: online, a meal break, short breaks, offline."""
    for a in team:
        a.windows = []
        if a.role == "assistant" or rng.random() < 0.12:  # a day off
            continue
        start = day_start + (a.shift[0] + rng.randint(-10, 10)) * MIN
        end = day_start + (a.shift[1] + rng.randint(-5, 25)) * MIN
        breaks = []
        meal_hour = 12 if a.shift[0] < 11 * 60 else 18  # lunch, or dinner on the late shift
        meal = day_start + meal_hour * HOUR + rng.randint(-30, 30) * MIN
        breaks.append((meal, meal + rng.randint(30, 60) * MIN, "busy"))
        if rng.random() < 0.5:
            short = start + rng.randint(60, max(61, (end - start) // MIN - 60)) * MIN
            if not meal - 20 * MIN < short < meal + 80 * MIN:
                breaks.append((short, short + rng.randint(10, 20) * MIN, "busy"))
        if rng.random() < 0.15:  # logged off for a meeting or training
            off = start + rng.randint(60, 120) * MIN
            if off + 45 * MIN < meal:
                breaks.append((off, off + rng.randint(20, 45) * MIN, "offline"))
        kept: list[tuple[int, int, str]] = []
        for b in sorted(breaks):  # no overlaps, none at the shift's edges
            if b[0] >= (kept[-1][1] if kept else start) + 10 * MIN and b[1] <= end - 10 * MIN:
                kept.append(b)
        emit(start, "agent.status", agent=a.id, status="online")
        t = start
        for b0, b1, status in kept:
            a.windows.append((t, b0))
            emit(b0, "agent.status", agent=a.id, status=status)
            emit(b1, "agent.status", agent=a.id, status="online")
            t = b1
        a.windows.append((t, end))
        emit(end, "agent.status", agent=a.id, status="offline")


def route(
    team: list[Agent], group: str, t: int, last: tuple[Agent, int] | None
) -> tuple[Agent, int] | None:
    """Who answers a buyer asking at `t`, and when they can start (> t when all are full).

    None when nobody of the team is online at `t`.
    """
    serving = [a for a in team if a.role != "assistant" and a.online(t)]
    if not serving:
        return None
    if last is not None:
        agent, at = last
        if t - at <= STICKY_S and agent in serving and agent.load(t) < agent.capacity:
            return agent, t
    pool = [a for a in serving if group in a.groups] or serving
    free = [a for a in pool if a.load(t) < a.capacity]
    if free:
        best = min(free, key=lambda a: (len(a.ends), a.last_assign))
        return best, t
    first = min(pool, key=lambda a: (a.ends[0], a.last_assign))
    return first, first.ends[0]


def next_online(team: list[Agent], t: int) -> tuple[Agent, int] | None:
    """The first agent to come online after `t` today (who answers a message left overnight)."""
    best: tuple[Agent, int] | None = None
    for a in team:
        for w0, _ in a.windows:
            if w0 > t and (best is None or w0 < best[1]):
                best = (a, w0)
    return best
