"""Delivers the stores' webhooks (kefu.webhooks.worker: rows claimed with SKIP LOCKED, so
several processes may run it)."""

from __future__ import annotations

from kefu.server.options import Options
from kefu.server.workers import Context, Worker, register


@register
class WebhookDelivery(Worker):
    name = "webhooks"

    @staticmethod
    def wanted(options: Options) -> bool:
        return options.webhooks

    async def run(self, ctx: Context) -> None:
        from kefu.webhooks.worker import Worker

        await Worker(ctx.service.sessions).run(ctx.stop)
