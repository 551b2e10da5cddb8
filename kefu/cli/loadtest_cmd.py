"""`kefu loadtest`: simulated buyers and agents against kefu on this machine, then checks."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from kefu.cli import common

err = common.err


def loadtest_command(
    url: str | None = typer.Option(
        None, "--url", help="A running server on this machine (http://127.0.0.1:PORT only)."
    ),
    servers: int = typer.Option(
        0, "--servers", help="Start N `kefu serve` processes here instead (PostgreSQL for N>1)."
    ),
    db: str | None = typer.Option(
        None,
        "--db",
        help="The server's database (default: $KEFU_DB or ./var/kefu.db): "
        "tokens are made in it and the checks read it.",
    ),
    redis: str | None = typer.Option(
        None, "--redis", envvar="KEFU_REDIS", help="Redis URL for the servers started here."
    ),
    duration: float = typer.Option(60.0, "--duration", help="Seconds of load (at most 4 h)."),
    rate: float = typer.Option(50.0, "--rate", help="Operations started per second."),
    buyers: int = typer.Option(200, "--buyers", help="Simulated buyers."),
    agents: int = typer.Option(10, "--agents", help="Simulated agents (online)."),
    capacity: int = typer.Option(5, "--capacity", help="Conversations per agent."),
    kill_every: float | None = typer.Option(
        None,
        "--kill-every",
        help="SIGKILL a random server about every S seconds and restart it (needs --servers).",
    ),
    max_kills: int = typer.Option(100, "--max-kills", help="Stop killing after this many."),
    urge_delay: str = typer.Option("20s", "--urge-delay", help="The store's urge.delay."),
    seed: int = typer.Option(1, "--seed", help="Random seed of the traffic."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the figures here."),
) -> None:
    """Load-test kefu on this machine: simulated buyers and agents, then integrity checks.

    Buyers' messages, clicks and 转人工 presses and agents' replies and closes go through the
    REST API and WebSockets of a fresh store (optionally SIGKILLing servers); then the
    database is checked: every accepted event stored exactly once, conversations complete and
    in order, nothing twice in the outbox, queues drained. Prints throughput, p50/p99
    latencies and errors; exits 1 when a check fails. Loopback targets only; bounded in time
    and rate.
    """
    from kefu.loadtest.report import render
    from kefu.loadtest.runner import Options, Refused, execute
    from kefu.loadtest.servers import NotLoopback
    from kefu.storage.db import database_url

    opts = Options(
        db=database_url(db),
        url=url,
        servers=servers,
        redis=redis,
        duration=duration,
        rate=rate,
        buyers=buyers,
        agents=agents,
        capacity=capacity,
        kill_every=kill_every,
        max_kills=max_kills,
        seed=seed,
        urge_delay=urge_delay,
    )
    try:
        opts.validate()
    except (Refused, NotLoopback) as e:
        err.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None
    err.print(
        f"load: {rate:g} operations/s for {duration:g} s, {buyers} buyers, {agents} agents"
        + (f", SIGKILL every ~{kill_every:g} s" if kill_every else "")
    )
    with err.status("load running…") as status:
        doc = execute(opts, progress=lambda msg: status.update(msg))
    render(doc, Console())
    if json_out is not None:
        json_out.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    if not doc["passed"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `kefu loadtest`."""
    app.command("loadtest")(loadtest_command)
