"""Compiles the insight reports' SQL in a thread as the server starts, so the first report
does not pay for it (kefu.insight.metrics.warm_sql)."""

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

        try:
            await asyncio.to_thread(warm_sql, (None, ("funnel", "sales")))
        except Exception:  # the first report then compiles its own
            log.exception("report warm-up failed")
