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
    # A buyer the workbench's agent leaves unanswered moves to a colleague after 3 minutes.
    "routing": {"reassign_after": "3m"},
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


def _live_stream(
    service: object, lines: Iterator[bytes], stop: threading.Event, keep: set[str]
) -> None:
    """Feed the rest of today's simulated events as the wall clock reaches them.

    The status of the agents in `keep` (the person at the printed workbench, the colleague on
    duty) is not the simulation's to change: their `agent.status` events are left out.
    """
    from kefu.engine import events as ev
    from kefu.engine.readers import decode_line

    ingest = service.ingest  # type: ignore[attr-defined]
    for line in lines:
        event = decode_line(line)
        if isinstance(event, ev.AgentStatus) and event.agent in keep:
            continue
        due = event.at
        while due > time.time() * 1000:
            if stop.wait(min(1.0, due / 1000 - time.time())):
                return
        ingest([line])


def _stand_ins(service: object, responder: object, store: str, stop: threading.Event) -> None:
    """Once a second: the simulated agents' replies to live buyers that are due (sim.responder)."""
    from kefu.runtime.service import EngineService
    from kefu.sim.responder import Responder

    assert isinstance(service, EngineService) and isinstance(responder, Responder)
    while not stop.wait(1.0):
        with service.state_of(store) as st:
            lines = responder.due(st, int(time.time() * 1000)) if st is not None else []
        if lines:
            service.ingest(lines)


def _staff(service: object) -> tuple[str | None, list[object], list[str]]:
    """The demo store, its agents (most open chats first) and its supervisors."""
    from kefu.runtime.service import EngineService

    assert isinstance(service, EngineService)
    stores = service.stores()
    store = "s001" if "s001" in stores else min(stores, default=None)
    with service.state_of(store or "") as st:
        staff = [a for a in st.agents.values() if a.role != "assistant"] if st else []
        agents = sorted(
            (a for a in staff if a.role == "agent"),
            key=lambda a: (a.status != "online", -a.open, a.agent),
        )
        bosses = sorted(a.agent for a in staff if a.role == "supervisor")
    return store, list(agents), bosses


def _put_online(service: object, store: str, agents: list[str]) -> None:
    """Log `agent.status online` now for these agents (the demo's own events)."""
    now = int(time.time() * 1000)
    service.ingest(  # type: ignore[attr-defined]
        [
            {
                "type": "agent.status",
                "store": store,
                "agent": a,
                "status": "online",
                "ts": now,
                "id": f"demo-online-{a}-{now}",
            }
            for a in agents
        ]
    )


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

    from kefu.runtime.service import EngineService
    from kefu.server.app import create_app
    from kefu.sim.responder import Responder, simulated_team
    from kefu.storage.db import make_engine, upgrade

    if fresh and db.startswith("sqlite:///"):
        Path(db.removeprefix("sqlite:///")).unlink(missing_ok=True)
    engine = make_engine(db)
    upgrade(engine)
    service = EngineService(engine, parse_config(DEMO_SETTINGS))
    rest: Iterator[bytes] = iter(())
    if not service.stores():
        rest = _ingest_history(service, days, buyers, seed)
    stop = threading.Event()
    # Today's backlog first (a few seconds), so the printed agent is chosen from today's load.
    rest = _catch_up(service, rest)
    store, agents, _ = _staff(service)
    keep: set[str] = set()
    if store is not None and agents:
        person = agents[0].agent  # type: ignore[attr-defined]
        duty = next((a.agent for a in agents[1:]), None)  # type: ignore[attr-defined]
        keep = {person} | ({duty} if duty else set())
        _put_online(service, store, sorted(keep))
        responder = Responder(simulated_team(seed, buyers), operated={person}, seed=seed)
        threading.Thread(target=_stand_ins, args=(service, responder, store, stop),
                         daemon=True, name="demo-stand-ins").start()  # fmt: skip
    stream = threading.Thread(
        target=_live_stream, args=(service, rest, stop, keep), daemon=True, name="demo-stream"
    )
    stream.start()
    app = create_app(service, warm_bot=True, warm_reports=True)
    err.print(f"[bold green]kefu demo[/] → open http://{host}:{port}/  (API docs: /docs)")
    for label, url in _demo_links(service, host, port):
        err.print(f"  {label}: {url}", soft_wrap=True, highlight=False)  # one line: copyable
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        stop.set()


def _catch_up(service: object, lines: Iterator[bytes]) -> Iterator[bytes]:
    """Ingest what of `lines` is already due (today's backlog); return the rest."""
    from kefu.engine.readers import decode_line

    batch: list[bytes] = []
    for line in lines:
        if decode_line(line).at > time.time() * 1000:
            if batch:
                service.ingest(batch)  # type: ignore[attr-defined]
            return itertools.chain([line], lines)
        batch.append(line)
        if len(batch) >= BATCH:
            service.ingest(batch)  # type: ignore[attr-defined]
            batch = []
    if batch:
        service.ingest(batch)  # type: ignore[attr-defined]
    return iter(())


def _demo_links(service: object, host: str, port: int) -> list[tuple[str, str]]:
    """Signed-in links to the web app: the online agent with the most open chats (put online
    by the demo, so chats reach them), a supervisor (admin role, so settings can be saved) and
    the demo shop with a buyer's widget token."""
    from kefu.accounts.tokens import buyer_token, create_token
    from kefu.runtime.service import EngineService

    assert isinstance(service, EngineService)
    store, agents, bosses = _staff(service)
    if store is None:
        return []
    first = agents[0] if agents else None
    agent = first.agent if first is not None else "demo-agent"  # type: ignore[attr-defined]
    name = (first.name or agent) if first is not None else agent  # type: ignore[attr-defined]
    status = first.status if first is not None else "offline"  # type: ignore[attr-defined]
    open_chats = first.open if first is not None else 0  # type: ignore[attr-defined]
    boss = bosses[0] if bosses else "demo-boss"
    with service.sessions.begin() as s:
        agent_token = create_token(s, store, agent, "agent", "kefu demo")
        boss_token = create_token(s, store, boss, "admin", "kefu demo")
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/app"
    label = f"workbench ({name}, {status}, {open_chats} open)"
    return [
        (label, f"{base}/workbench?token={agent_token}"),
        (f"supervisor ({boss})", f"{base}/supervisor?token={boss_token}"),
        ("demo shop (buyer chat widget)", f"{base}/shop.html?token={buyer_token(store, 'demo')}"),
    ]


def register(app: typer.Typer) -> None:
    """Add `kefu demo`."""
    app.command("demo")(demo_command)
