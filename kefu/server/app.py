"""The FastAPI application: thin routes over the engine service (OpenAPI at /docs)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from kefu import __version__
from kefu.engine.actions import Action
from kefu.engine.events import Event
from kefu.faq import api as faq_api
from kefu.guide import api as guide_api
from kefu.guide import panel_api as guide_panel_api
from kefu.insight import api as insight_api
from kefu.runtime.service import EngineService
from kefu.server import events as events_api
from kefu.server import health as health_api
from kefu.server import home as home_api
from kefu.server import settings as settings_api
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
    """The kefu HTTP API bound to one engine service, with its background workers.

    After each commit the service's `on_commit` fans out to the WebSocket hub; with
    `redis_url` the hub is bridged to the other `kefu serve` processes. Which workers run
    (kefu.server.workers: the ticker firing due timers, roll-up refresh, FAQ re-learning,
    warm-ups, webhook delivery) follows the options (kefu.server.options.Options).
    """
    import asyncio

    from kefu.accounts import api as accounts_api
    from kefu.accounts import manage_api as accounts_manage_api
    from kefu.conversations import api as conversations_api
    from kefu.conversations import report_api as handoff_report_api
    from kefu.conversations.service import Fanout
    from kefu.insight.rollup import Rollups
    from kefu.realtime.hub import Hub, RedisBridge
    from kefu.server.options import Options
    from kefu.server.workers import Context, load_all

    options = Options(
        tick_seconds=tick_seconds,
        redis_url=redis_url,
        learn_check_seconds=learn_check_seconds,
        rate_limit=rate_limit,
        rollup_every_s=rollup_every_s,
        warm_bot=warm_bot,
        warm_reports=warm_reports,
        webhooks=webhooks,
    )
    hub = Hub()
    fanout = Fanout(service, hub)
    rollups = Rollups(service.db, service.config)

    def on_commit(actions: list[Action], events: list[Event]) -> None:
        fanout(actions, events)
        rollups.on_commit(actions, events)

    # marking stores dirty only matters when a worker refreshes them
    service.on_commit = on_commit if rollup_every_s > 0 else fanout

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hub.bind(asyncio.get_running_loop())
        bridge = RedisBridge(hub, redis_url) if redis_url else None
        if bridge is not None:
            await asyncio.to_thread(bridge.start)
        ctx = Context(service, rollups, options, asyncio.Event(), app.state)
        workers = [cls() for cls in load_all().values() if cls.wanted(options)]
        tasks = [asyncio.create_task(w.run(ctx), name=w.name) for w in workers]
        try:
            yield
        finally:
            ctx.stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
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
    from kefu.server.webapp import mount_webapp

    mount_webapp(app)  # the web app at /app (built by `make setup`)
    return app
