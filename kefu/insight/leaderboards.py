"""Leaderboards over per-agent metrics — the shared ranking helper (guide, agent KPIs).

Ties break by agent id so a board is stable; agents without a value rank after the others.
"""

from __future__ import annotations

from typing import Any

ACTIVE_ADOPTION = 0.30  # seed 000: 积极使用榜 above 30 %, 不积极使用榜 at or below


def rank(
    agents: dict[str, dict[str, Any]], metric: str, n: int | None = None, best: str = "high"
) -> list[dict[str, Any]]:
    """Agents ordered by `metric` (high or low first), with their value; the top `n`."""
    have = [(a, v[metric]) for a, v in agents.items() if v.get(metric) is not None]
    missing = sorted(a for a, v in agents.items() if v.get(metric) is None)
    sign = -1 if best == "high" else 1
    ordered = sorted(have, key=lambda av: (sign * av[1], av[0]))
    rows = [{"agent": a, metric: v} for a, v in ordered] + [
        {"agent": a, metric: None} for a in missing
    ]
    return rows[:n] if n is not None else rows


def guide_boards(agents: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Seed 000's three boards of one day: 成交TOP榜, 积极使用榜, 不积极使用榜."""
    prompted = {a: v for a, v in agents.items() if v.get("guide_prompted_buyers")}
    top = [r for r in rank(prompted, "guide_gmv", 5) if (r["guide_gmv"] or 0) > 0]
    active: list[dict[str, Any]] = []
    inactive: list[dict[str, Any]] = []
    for row in rank(prompted, "guide_adoption_rate"):
        rate = row["guide_adoption_rate"]
        (active if rate is not None and rate > ACTIVE_ADOPTION else inactive).append(row)
    return {"top_gmv": top, "active": active, "inactive": inactive}
