"""Readies the reports in a thread as the server starts, so a supervisor's first visit does
not pay for it: compiles the insight reports' SQL (kefu.insight.metrics.warm_sql), catches
every store's roll-ups up and reads its card-traffic facts (kefu.traffic.follow)."""

from __future__ import annotations

import asyncio
import logging

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
            for store in ctx.service.stores():
                if ctx.stop.is_set():
                    return
                await asyncio.to_thread(ctx.rollups.refresh, store)
                await asyncio.to_thread(traffic.tables, store, False)
                await asyncio.to_thread(traffic.tables, store, True)
        except Exception:  # the first report then does its own
            log.exception("report warm-up failed")
