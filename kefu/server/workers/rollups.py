"""Keeps the insight roll-ups of the stores this process wrote at most `rollup_every_s`
behind (off by default: reports catch their store up when asked; busy deployments run
`kefu insight follow` instead)."""

from __future__ import annotations

import asyncio
import logging

from kefu.server.options import Options
from kefu.server.workers import Context, Worker, register

log = logging.getLogger(__name__)


@register
class RollupRefresher(Worker):
    name = "rollups"

    @staticmethod
    def wanted(options: Options) -> bool:
        return options.rollup_every_s > 0

    async def run(self, ctx: Context) -> None:
        every = ctx.options.rollup_every_s
        while await ctx.sleep(min(every, ctx.options.tick_seconds)):
            try:
                await asyncio.to_thread(ctx.rollups.refresh_dirty, every)
            except Exception:  # a failed refresh is retried with the next events
                log.exception("insight roll-up refresh failed")
