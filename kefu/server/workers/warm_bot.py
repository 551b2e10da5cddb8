"""Loads the FAQ bot's dictionaries in a thread as the server starts, so the first buyer
after a restart does not wait for them with the store locked."""

from __future__ import annotations

import asyncio
import logging

from kefu.server.options import Options
from kefu.server.workers import Context, Worker, register

log = logging.getLogger(__name__)


@register
class WarmBot(Worker):
    name = "warm-bot"

    @staticmethod
    def wanted(options: Options) -> bool:
        return options.warm_bot

    async def run(self, ctx: Context) -> None:
        from kefu.faq.index import warm

        try:
            await asyncio.to_thread(warm)
        except Exception:  # the bot then loads them with its first answer
            log.exception("FAQ bot warm-up failed")
