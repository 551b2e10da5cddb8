"""`kefu demo`: a demo store with 14 days of simulated history and a live simulated stream."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kefu.engine.settings import parse_config

err = Console(stderr=True)

DEMO_SETTINGS = {
    # The simulator writes the bot's messages itself, as a real store's log would hold them.
    "bot": {"enabled": False},
    "urge": {"min_intent": 0.4},
}
BATCH = 2_000


def _ingest_history(service: object, days: int, buyers: int, seed: int) -> int:
    from kefu.sim import generate

    start = date.today() - timedelta(days=days)
    ingest = service.ingest  # type: ignore[attr-defined]
    n = 0
    batch: list[bytes] = []
    with Progress(
        TextColumn("history"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
    ) as bar:
        task = bar.add_task("history", total=None)
        for line in generate(stores=1, buyers=buyers, days=days, seed=seed, start=start):
            batch.append(line)
            if len(batch) >= BATCH:
                ingest(batch)
                n += len(batch)
                batch = []
                bar.update(task, completed=n)
        if batch:
            ingest(batch)
            n += len(batch)
        bar.update(task, completed=n)
    return n


def _live_stream(service: object, buyers: int, seed: int, stop: threading.Event) -> None:
    """Feed today's simulated events as the wall clock reaches them (earlier ones at once)."""
    from kefu.engine.readers import decode_line
    from kefu.sim import generate

    ingest = service.ingest  # type: ignore[attr-defined]
    backlog: list[bytes] = []
    for line in generate(stores=1, buyers=buyers, days=1, seed=seed + 1, start=date.today()):
        due = decode_line(line).at
        if due <= time.time() * 1000:
            backlog.append(line)
            continue
        if backlog:
            ingest(backlog)
            backlog = []
        while due > time.time() * 1000:
            if stop.wait(min(1.0, due / 1000 - time.time())):
                return
        ingest([line])
    if backlog:
        ingest(backlog)


def demo_command(
    db: str = typer.Option("sqlite:///./var/demo.db", "--db", help="Database for the demo."),
    port: int = typer.Option(8000, help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    days: int = typer.Option(14, help="Days of simulated history."),
    buyers: int = typer.Option(600, help="Simulated buyers."),
    seed: int = typer.Option(1, help="Simulation seed."),
    fresh: bool = typer.Option(False, "--fresh", help="Drop the demo database first."),
) -> None:
    """Start a demo store: simulated history, then the live server with a simulated stream."""
    import uvicorn

    from kefu.api.app import create_app
    from kefu.engine.service import EngineService
    from kefu.storage.db import make_engine, upgrade

    if fresh and db.startswith("sqlite:///"):
        Path(db.removeprefix("sqlite:///")).unlink(missing_ok=True)
    engine = make_engine(db)
    upgrade(engine)
    service = EngineService(engine, parse_config(DEMO_SETTINGS))
    if not service.engine.states:
        n = _ingest_history(service, days, buyers, seed)
        err.print(f"demo history: {n:,} events ingested")
    stop = threading.Event()
    stream = threading.Thread(
        target=_live_stream, args=(service, buyers, seed, stop), daemon=True, name="demo-stream"
    )
    stream.start()
    err.print(f"[bold green]kefu demo[/] → open http://{host}:{port}/  (API docs: /docs)")
    try:
        uvicorn.run(create_app(service), host=host, port=port, log_level="warning")
    finally:
        stop.set()


def register(app: typer.Typer) -> None:
    """Add `kefu demo`."""
    app.command("demo")(demo_command)
