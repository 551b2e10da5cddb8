"""The clock of the live engine: fire due timers every tick, after reading other processes'
events (PostgreSQL), so a timer never fires on a stale state."""

from __future__ import annotations

import asyncio

from kefu.server.options import Options
from kefu.server.workers import Context, Worker, register


@register
class Ticker(Worker):
    name = "ticker"

    @staticmethod
    def wanted(options: Options) -> bool:
        return True

    async def run(self, ctx: Context) -> None:
        while True:
            await asyncio.to_thread(ctx.service.refresh)
            await asyncio.to_thread(ctx.service.tick)
            if not await ctx.sleep(ctx.options.tick_seconds):
                return
