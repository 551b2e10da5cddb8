"""The FAQ bot re-learns each store every `bot.learn_every` (the run is claimed in the
database, so one process of many does it)."""

from __future__ import annotations

import asyncio
import logging

from kefu.server.options import Options
from kefu.server.workers import Context, Worker, register

log = logging.getLogger(__name__)


@register
class FaqLearner(Worker):
    name = "faq-learner"

    @staticmethod
    def wanted(options: Options) -> bool:
        return True

    async def run(self, ctx: Context) -> None:
        from kefu.faq.live import relearn_due

        while await ctx.sleep(ctx.options.learn_check_seconds):
            try:
                await asyncio.to_thread(relearn_due, ctx.service, ctx.service.clock.now())
            except Exception:  # a failed run is retried next period, never fatal
                log.exception("FAQ re-learning failed")
