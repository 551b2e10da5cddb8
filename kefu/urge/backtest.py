"""Back-test urge settings on history: "what if I wait 10 minutes?" answered before switching.

Replays one log under each settings file (the events' own clock, every rule registered) and
compares urges sent, skips by reason and the orders and payments attributed to urges
(metrics.md §5), side by side.

A back-test replays what buyers did: the orders are the log's own. So "orders after urge"
counts historical orders that a setting's urge would have preceded (the urge's reach), not
orders the urge would have caused — the comparison between settings is the useful part.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from kefu.engine.actions import UrgeAlert, UrgeSend, UrgeSkip
from kefu.engine.events import Event
from kefu.engine.settings import Config
from kefu.insight.facts import FactsBuilder
from kefu.insight.metrics import compute
from kefu.runtime.registry import default_engine
from kefu.urge.rules import SKIP_REASONS


@dataclass
class UrgeOutcome:
    """What one settings file would have done over the log."""

    name: str
    sent: int = 0
    alerts: int = 0
    skips: Counter[str] = field(default_factory=Counter)
    urged_buyers: int = 0
    order_buyers: int = 0
    order_amount: float = 0.0
    paid_amount: float = 0.0
    conversion: float | None = None


def backtest(events: list[Event], configs: list[tuple[str, Config]]) -> list[UrgeOutcome]:
    """Replay time-ordered `events` under each named config."""
    from kefu.runtime.replay import run

    results = []
    for name, cfg in configs:
        facts = FactsBuilder(cfg)
        actions = run(events, default_engine(cfg), facts)
        out = UrgeOutcome(name)
        for a in actions:
            if isinstance(a, UrgeSend):
                out.sent += 1
            elif isinstance(a, UrgeSkip):
                out.skips[a.reason] += 1
            elif isinstance(a, UrgeAlert):
                out.alerts += 1
        stores = compute(facts.tables(), cfg)["stores"].values()
        totals = [s["totals"] for s in stores]
        out.urged_buyers = sum(t["urged_buyers"] for t in totals)
        out.order_buyers = sum(t["urge_order_buyers"] for t in totals)
        out.order_amount = round(sum(t["urge_order_amount"] for t in totals), 2)
        out.paid_amount = round(sum(t["urge_paid_amount"] for t in totals), 2)
        out.conversion = round(out.order_buyers / out.urged_buyers, 4) if out.urged_buyers else None
        results.append(out)
    return results


def rows(results: list[UrgeOutcome]) -> list[tuple[str, list[str]]]:
    """The comparison as (label, one cell per settings file) rows."""

    def pct(v: float | None) -> str:
        return "—" if v is None else f"{v:.1%}"

    table = [
        ("urges sent", [str(r.sent) for r in results]),
        ("urged buyers", [str(r.urged_buyers) for r in results]),
        ("orders after urge (buyers)", [str(r.order_buyers) for r in results]),
        ("order amount", [f"{r.order_amount:,.2f}" for r in results]),
        ("paid amount", [f"{r.paid_amount:,.2f}" for r in results]),
        ("conversion", [pct(r.conversion) for r in results]),
        ("fallback alerts", [str(r.alerts) for r in results]),
    ]
    for reason in SKIP_REASONS:
        table.append((f"skipped: {reason}", [str(r.skips.get(reason, 0)) for r in results]))
    return table


def label(path: Path) -> str:
    """A settings file's column name."""
    return path.stem
