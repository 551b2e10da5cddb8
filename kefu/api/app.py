"""The FastAPI application: thin routes over the engine service (OpenAPI at /docs)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from kefu import __version__
from kefu.api import events as events_api
from kefu.api import health as health_api
from kefu.api import home as home_api
from kefu.api import settings as settings_api
from kefu.engine.actions import Action
from kefu.engine.events import Event
from kefu.faq import api as faq_api
from kefu.guide import api as guide_api
from kefu.guide import panel_api as guide_panel_api
from kefu.insight import api as insight_api
from kefu.runtime.service import EngineService
from kefu.traffic import api as traffic_api
from kefu.urge import api as urge_api

log = logging.getLogger(__name__)


def create_app(
    service: EngineService,
    tick_seconds: float = 1.0,
    redis_url: str | None = None,
    learn_check_seconds: float = 300.0,
    rate_limit: str | None = None,
    rollup_every_s: float = 0.0,
    warm_bot: bool = False,
    warm_reports: bool = False,
    webhooks: bool = False,
) -> FastAPI:
    """The kefu HTTP API bound to one engine service; fires due timers every tick.

    After each commit the service's `on_commit` fans out to the WebSocket hub; with
    `redis_url` the hub is bridged to the other `kefu serve` processes. The insight
    roll-ups of stores with new events are refreshed every `rollup_every_s` in the
    background (0, the default: only when a report asks; or run `kefu insight follow`).
    With `warm_bot` the FAQ bot's dictionaries load in a thread as the server starts; with
    `warm_reports` the insight reports' SQL is compiled there too (kefu.insight.metrics).
    With `webhooks` this process runs a webhook delivery worker (kefu.webhooks.worker).
    """
    import asyncio

    from kefu.accounts import api as accounts_api
    from kefu.accounts import manage_api as accounts_manage_api
    from kefu.conversations import api as conversations_api
    from kefu.conversations import report_api as handoff_report_api
    from kefu.conversations.service import Fanout
    from kefu.insight.rollup import Rollups
    from kefu.realtime.hub import Hub, RedisBridge

    hub = Hub()
    fanout = Fanout(service, hub)
    rollups = Rollups(service.db, service.config)

    def on_commit(actions: list[Action], events: list[Event]) -> None:
        fanout(actions, events)
        rollups.on_commit(actions, events)

    # marking stores dirty only matters when the ticker refreshes them
    service.on_commit = on_commit if rollup_every_s > 0 else fanout

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        hub.bind(asyncio.get_running_loop())
        bridge = RedisBridge(hub, redis_url) if redis_url else None
        if bridge is not None:
            await asyncio.to_thread(bridge.start)

        async def ticker() -> None:
            while not stop.is_set():
                await asyncio.to_thread(service.refresh)  # other processes' events (PostgreSQL)
                await asyncio.to_thread(service.tick)
                if rollup_every_s > 0:
                    try:  # reports find the roll-ups at most `rollup_every_s` behind
                        await asyncio.to_thread(rollups.refresh_dirty, rollup_every_s)
                    except Exception:  # a failed refresh is retried with the next events
                        log.exception("insight roll-up refresh failed")
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), tick_seconds)

        async def learner() -> None:
            """The FAQ bot re-learns each store every `bot.learn_every` (claimed in the DB)."""
            from kefu.faq.live import relearn_due

            while not stop.is_set():
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), learn_check_seconds)
                if not stop.is_set():
                    try:
                        await asyncio.to_thread(relearn_due, service, service.clock.now())
                    except Exception:  # a failed run is retried next period, never fatal
                        log.exception("FAQ re-learning failed")

        background: set[asyncio.Task[None]] = set()
        if warm_bot:
            from kefu.faq.index import warm

            async def warm_up() -> None:
                try:
                    await asyncio.to_thread(warm)
                except Exception:  # the bot then loads them with its first answer
                    log.exception("FAQ bot warm-up failed")

            background.add(asyncio.create_task(warm_up()))  # kept until done (RUF006)
        if warm_reports:
            from kefu.insight.metrics import warm_sql

            async def warm_insight() -> None:
                try:
                    await asyncio.to_thread(warm_sql, (None, ("funnel", "sales")))
                except Exception:  # the first report then compiles its own
                    log.exception("report warm-up failed")

            background.add(asyncio.create_task(warm_insight()))
        task = asyncio.create_task(ticker())
        learning = asyncio.create_task(learner())
        hooks = None
        if webhooks:
            from kefu.webhooks.worker import Worker

            hooks = asyncio.create_task(Worker(service.sessions).run(stop))
        try:
            yield
        finally:
            stop.set()
            await task
            await learning
            if hooks is not None:  # the webhook worker ends its round and stops
                await hooks
            if bridge is not None:
                await asyncio.to_thread(bridge.stop)
            await asyncio.to_thread(service.close)

    app = FastAPI(
        title="kefu",
        version=__version__,
        summary="Customer service for e-commerce stores: events in, actions out.",
        lifespan=lifespan,
    )
    app.state.service = service
    from kefu.api import ratelimit

    ratelimit.install(app, rate_limit, redis_url)  # None: $KEFU_RATE_LIMIT, else 50/s,200
    app.state.hub = hub
    app.state.insight_rollups = rollups
    app.include_router(home_api.router)
    app.include_router(health_api.router)
    app.include_router(events_api.router)
    app.include_router(urge_api.router)
    app.include_router(insight_api.router)
    app.include_router(guide_api.router)
    app.include_router(guide_panel_api.router)
    app.include_router(settings_api.router)
    app.include_router(faq_api.router)
    app.include_router(faq_api.assist_router)
    app.include_router(handoff_report_api.router)
    app.include_router(traffic_api.router)
    app.include_router(accounts_api.router)
    from kefu.webhooks import api as webhooks_api

    app.include_router(webhooks_api.router)
    for router in accounts_manage_api.routers:
        app.include_router(router)
    from kefu.catalogue import api as catalogue_api

    app.include_router(catalogue_api.router)
    for router in conversations_api.routers:
        app.include_router(router)
    from kefu.attachments import api as attachments_api
    from kefu.conversations import search_api

    for router in attachments_api.routers:
        app.include_router(router)
    app.include_router(search_api.router)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            schema.setdefault("components", {}).setdefault("schemas", {}).update(
                events_api.openapi_components()
            )
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    from kefu.api.webapp import mount_webapp

    mount_webapp(app)  # the web app at /app (built by `make setup`)
    return app
