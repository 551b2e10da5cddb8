"""How `kefu serve` runs its app: tick, fan-out, rate limit and which workers it starts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Options:
    """The server's options (`kefu serve --help` documents each)."""

    tick_seconds: float = 1.0  # due timers fire at most this late
    redis_url: str | None = None  # WebSocket fan-out between processes
    learn_check_seconds: float = 300.0  # how often the FAQ bot checks `bot.learn_every`
    rate_limit: str | None = None  # None: $KEFU_RATE_LIMIT, else 50/s,200
    rollup_every_s: float = 0.0  # 0: roll-ups refresh only when a report asks
    warm_bot: bool = False  # load the FAQ bot's dictionaries as the server starts
    warm_reports: bool = False  # compile the insight reports' SQL as the server starts
    webhooks: bool = False  # this process delivers webhooks
