"""Readies the reports in a thread as the server starts, so a supervisor's first visit does
not pay for it: compiles the insight reports' SQL (kefu.insight.metrics.warm_sql), catches
every store's roll-ups up and reads its card-traffic facts (kefu.traffic.follow)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kefu.server.options import Options
from kefu.server.workers import Context, Worker, register

log = logging.getLogger(__name__)


@register
class WarmReports(Worker):
    name = "warm-reports"

    @staticmethod
    def wanted(options: Options) -> bool:
        return options.warm_reports

    async def run(self, ctx: Context) -> None:
        from kefu.insight.metrics import warm_sql
        from kefu.traffic.follow import follower_of

        try:
            await asyncio.to_thread(warm_sql, (None, ("funnel", "sales")))
            traffic = follower_of(ctx.state)
            for n, store in enumerate(ctx.service.stores()):
                if ctx.stop.is_set():
                    return
                await asyncio.to_thread(ctx.rollups.refresh, store)
                await asyncio.to_thread(traffic.tables, store, False)
                facts = await asyncio.to_thread(traffic.tables, store, True)
                if n == 0:  # the compiled SQL serves every store
                    await asyncio.to_thread(_warm_traffic, ctx, store, facts)
        except Exception:  # the first report then does its own
            log.exception("report warm-up failed")


def _warm_traffic(ctx: Context, store: str, facts: Any) -> None:
    """Compile the card-traffic tab's SQL (once per process: stores share it)."""
    from kefu.traffic import reports
    from kefu.traffic.facts import LocalTime
    from kefu.traffic.metrics import Session

    reports.warm(Session(facts), store, ctx.service.clock.now(), LocalTime(ctx.service.config))
