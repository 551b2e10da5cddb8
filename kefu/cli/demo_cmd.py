"""`kefu demo`: a demo store with 14 days of simulated history and a live simulated stream."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kefu.engine.settings import parse_config

err = Console(stderr=True)

DEMO_SETTINGS = {
    # kefu's own bot answers (the simulated log holds no bot messages: logged_bots=False),
    # so the demo shop's widget gets bot replies and the 转人工 button.
    "urge": {"min_intent": 0.4},
}
BATCH = 2_000


def _ingest_history(service: object, days: int, buyers: int, seed: int) -> Iterator[bytes]:
    """Ingest the simulated days before now; return the rest of today's events, still due.

    History and today come from one simulation (same seed, `days + 1` days), so today's
    buyers are the same people with the same carts and orders as in the history.
    """
    from kefu.engine.readers import decode_line
    from kefu.sim import generate

    start = date.today() - timedelta(days=days)
    ingest = service.ingest  # type: ignore[attr-defined]
    now_ms = time.time() * 1000
    lines = generate(
        stores=1, buyers=buyers, days=days + 1, seed=seed, start=start, logged_bots=False
    )
    n = 0
    batch: list[bytes] = []
    with Progress(
        TextColumn("history"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
    ) as bar:
        task = bar.add_task("history", total=None)
        for line in lines:
            if decode_line(line).at > now_ms:
                if batch:
                    ingest(batch)
                    n += len(batch)
                bar.update(task, completed=n)
                err.print(f"demo history: {n:,} events ingested")
                return itertools.chain([line], lines)
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
    err.print(f"demo history: {n:,} events ingested")
    return iter(())


def _live_stream(service: object, lines: Iterator[bytes], stop: threading.Event) -> None:
    """Feed the rest of today's simulated events as the wall clock reaches them."""
    from kefu.engine.readers import decode_line

    ingest = service.ingest  # type: ignore[attr-defined]
    for line in lines:
        due = decode_line(line).at
        while due > time.time() * 1000:
            if stop.wait(min(1.0, due / 1000 - time.time())):
                return
        ingest([line])


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
    rest: Iterator[bytes] = iter(())
    if not service.engine.states:
        rest = _ingest_history(service, days, buyers, seed)
    stop = threading.Event()
    stream = threading.Thread(
        target=_live_stream, args=(service, rest, stop), daemon=True, name="demo-stream"
    )
    stream.start()
    app = create_app(service)
    err.print(f"[bold green]kefu demo[/] → open http://{host}:{port}/  (API docs: /docs)")
    for label, url in _demo_links(service, host, port):
        err.print(f"  {label}: {url}", soft_wrap=True, highlight=False)  # one line: copyable
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        stop.set()


def _demo_links(
    service: object, host: str, port: int, wait_s: float = 5.0
) -> list[tuple[str, str]]:
    """Signed-in links to the web app: the agent with the most open chats, a supervisor (admin
    role, so settings can be saved) and the demo shop with a buyer's widget token.

    Today's simulated backlog is ingested by the stream thread; wait up to `wait_s` for an agent
    to hold a conversation so the workbench opens populated.
    """
    from kefu.accounts.tokens import buyer_token, create_token
    from kefu.engine.service import EngineService

    assert isinstance(service, EngineService)
    deadline = time.time() + wait_s
    while True:
        with service.lock:
            states = service.engine.states
            store = "s001" if "s001" in states else min(states, default=None)
            st = states.get(store) if store is not None else None
            staff = [a for a in st.agents.values() if a.role != "assistant"] if st else []
            agents = sorted(
                (a for a in staff if a.role == "agent"), key=lambda a: (-a.open, a.agent)
            )
            bosses = sorted(a.agent for a in staff if a.role == "supervisor")
        if store is None:
            return []
        if (agents and agents[0].open) or time.time() >= deadline:
            break
        time.sleep(0.25)
    agent = agents[0].agent if agents else "demo-agent"
    boss = bosses[0] if bosses else "demo-boss"
    with service.sessions.begin() as s:
        agent_token = create_token(s, store, agent, "agent", "kefu demo")
        boss_token = create_token(s, store, boss, "admin", "kefu demo")
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/app"
    open_chats = agents[0].open if agents else 0
    return [
        (f"workbench (agent {agent}, {open_chats} open)", f"{base}/workbench?token={agent_token}"),
        (f"supervisor ({boss})", f"{base}/supervisor?token={boss_token}"),
        ("demo shop (buyer chat widget)", f"{base}/shop.html?token={buyer_token(store, 'demo')}"),
    ]


def register(app: typer.Typer) -> None:
    """Add `kefu demo`."""
    app.command("demo")(demo_command)
