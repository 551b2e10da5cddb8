"""`kefu serve`: the live service (REST + WebSocket, OpenAPI at /docs)."""

from __future__ import annotations

from pathlib import Path

import typer

from kefu.cli import common
from kefu.cli.common import settings_or_exit

err = common.err


def serve_command(
    db: str | None = typer.Option(
        None, "--db", help="Database URL (default: $KEFU_DB or sqlite:///./var/kefu.db)."
    ),
    config: Path | None = typer.Option(None, "--config", "-c", help="Store settings (TOML)."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    tick: float = typer.Option(1.0, help="Seconds between timer checks."),
    redis: str | None = typer.Option(
        None,
        "--redis",
        envvar="KEFU_REDIS",
        help="Redis URL bridging WebSocket fan-out between several `kefu serve` processes.",
    ),
    rate_limit: str | None = typer.Option(
        None,
        "--rate-limit",
        envvar="KEFU_RATE_LIMIT",
        help="Requests per token: RATE/s or RATE/m[,BURST], or off (default 50/s,200).",
    ),
    rollup_every: float = typer.Option(
        0.0,
        "--rollup-every",
        envvar="KEFU_ROLLUP_EVERY",
        min=0.0,
        help="Seconds between background refreshes of the insight roll-ups in this process; "
        "0: only when a report asks (the replay competes with the API for CPU: on a busy "
        "deployment run `kefu insight follow` beside the servers instead).",
    ),
    webhooks: bool = typer.Option(
        True,
        "--webhooks/--no-webhooks",
        help="Run a webhook delivery worker in this process (default: on unless "
        "KEFU_WEBHOOKS=0); every process may run one, they share the queue.",
    ),
    warm_reports: bool = typer.Option(
        False,
        "--warm-reports/--no-warm-reports",
        envvar="KEFU_WARM_REPORTS",
        help="Compile the insight reports' SQL in a thread at start (~3-6 s of CPU), so the "
        "first supervisor report answers in about a second.",
    ),
) -> None:
    """Run the live server: ingest events, apply the rules, keep timers, serve the API."""
    import uvicorn

    from kefu.runtime.service import EngineService
    from kefu.server.app import create_app
    from kefu.storage.db import database_url, make_engine, upgrade
    from kefu.webhooks.worker import enabled_by_env

    cfg = settings_or_exit(config)
    url = database_url(db)
    engine = make_engine(url)
    upgrade(engine)
    service = EngineService(engine, cfg)
    err.print(f"kefu serving on http://{host}:{port} (API docs: /docs) — database {engine.url!r}")
    app = create_app(service, tick, redis, rate_limit=rate_limit, rollup_every_s=rollup_every,
                     warm_bot=True, warm_reports=warm_reports,
                     webhooks=webhooks and enabled_by_env())  # fmt: skip
    uvicorn.run(app, host=host, port=port, log_level="warning")


def register(app: typer.Typer) -> None:
    """Add `kefu serve`."""
    app.command("serve")(serve_command)
