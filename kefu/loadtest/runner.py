"""One load run end to end: tokens, servers (optional, with SIGKILLs), load, checks, figures."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kefu.loadtest.report import summary
from kefu.loadtest.servers import ServerPool, check_loopback, kill_loop
from kefu.loadtest.traffic import Plan, Record, Targets, run_load
from kefu.loadtest.verify import verify

MAX_DURATION = 4 * 3600.0
MAX_RATE = 2_000.0
MAX_BUYERS = 50_000
MAX_AGENTS = 500
MAX_SERVERS = 4
MAX_KILLS = 1_000


class Refused(ValueError):
    """Options a load run will not take (a remote target, unbounded counts)."""


@dataclass
class Options:
    """A load run: an existing server (`url`) or `servers` started here on `db`."""

    db: str
    url: str | None = None
    servers: int = 0
    redis: str | None = None
    duration: float = 60.0
    rate: float = 50.0
    buyers: int = 200
    agents: int = 10
    capacity: int = 5
    kill_every: float | None = None
    max_kills: int = 100
    seed: int = 1
    urge_delay: str = "20s"
    drain_timeout: float = 60.0
    work: Path | None = None

    def validate(self) -> None:
        """Refuse remote targets and unbounded runs."""
        if self.url is not None:
            self.url = check_loopback(self.url)
        if (self.url is None) == (self.servers == 0):
            raise Refused("give either --url (a running server) or --servers N (started here)")
        if not 0 < self.duration <= MAX_DURATION:
            raise Refused(f"--duration must be in (0, {MAX_DURATION:.0f}] seconds")
        if not 0 < self.rate <= MAX_RATE:
            raise Refused(f"--rate must be in (0, {MAX_RATE:.0f}] operations per second")
        if not 1 <= self.buyers <= MAX_BUYERS or not 1 <= self.agents <= MAX_AGENTS:
            raise Refused(f"--buyers 1..{MAX_BUYERS}, --agents 1..{MAX_AGENTS}")
        if not 0 <= self.servers <= MAX_SERVERS:
            raise Refused(f"--servers 0..{MAX_SERVERS}")
        if self.servers > 1 and not self.db.startswith("postgresql"):
            raise Refused("several server processes need PostgreSQL (SQLite is for one)")
        if self.kill_every is not None:
            if self.servers == 0:
                raise Refused(
                    "--kill-every needs --servers N: only servers started here are killed"
                )
            if self.kill_every < 1:
                raise Refused("--kill-every must be at least 1 second")
        if not 0 <= self.max_kills <= MAX_KILLS:
            raise Refused(f"--max-kills 0..{MAX_KILLS}")


def _tokens(
    db: str, store: str, agents: int, buyers: int, secret: str | None
) -> tuple[str, dict[str, str], dict[str, str]]:
    """An admin token and agent tokens in the database; buyer tokens signed here."""
    from kefu.accounts.tokens import buyer_token, create_token
    from kefu.storage.db import make_engine, session_factory, upgrade

    engine = make_engine(db)
    try:
        upgrade(engine)
        with session_factory(engine).begin() as s:
            admin = create_token(s, store, "loadtest-admin", "admin", "kefu loadtest")
            agent_tokens = {
                f"a{i}": create_token(s, store, f"a{i}", "agent", "kefu loadtest")
                for i in range(1, agents + 1)
            }
    finally:
        engine.dispose()
    with _secret(secret):
        buyer_tokens = {f"b{i}": buyer_token(store, f"b{i}") for i in range(1, buyers + 1)}
    return admin, agent_tokens, buyer_tokens


@contextlib.contextmanager
def _secret(value: str | None) -> Iterator[None]:
    old = os.environ.get("KEFU_SECRET")
    if value is not None:
        os.environ["KEFU_SECRET"] = value
    try:
        yield
    finally:
        if value is not None:
            if old is None:
                os.environ.pop("KEFU_SECRET", None)
            else:
                os.environ["KEFU_SECRET"] = old


def execute(opts: Options, progress: Any = None) -> dict[str, Any]:
    """Run the load (and the kills), then the checks; the summary as plain data."""
    opts.validate()
    run = "lt" + secrets.token_hex(4)
    store = f"load-{run}"
    plan = Plan(
        store=store,
        run=run,
        duration=opts.duration,
        rate=opts.rate,
        buyers=opts.buyers,
        agents=opts.agents,
        capacity=opts.capacity,
        seed=opts.seed,
        urge_delay=opts.urge_delay,
        drain_timeout=opts.drain_timeout,
    )
    rec = Record()
    pool: ServerPool | None = None
    secret = None
    if opts.servers:
        secret = os.environ.get("KEFU_SECRET") or secrets.token_hex(16)
        work = opts.work or Path(tempfile.mkdtemp(prefix="kefu-loadtest-"))
        pool = ServerPool(
            db=opts.db,
            count=opts.servers,
            redis=opts.redis,
            cwd=work,
            log=work / "servers.log",
            env={"KEFU_SECRET": secret},
        )
    admin, agents, buyers = _tokens(opts.db, store, opts.agents, opts.buyers, secret)
    try:
        if pool is not None:
            pool.start()
            servers = pool.servers
            targets = Targets(pool.urls, lambda i: servers[i].up)
        else:
            assert opts.url is not None
            targets = Targets([opts.url])
        killer = None
        if pool is not None and opts.kill_every is not None:
            every, limit, the_pool = opts.kill_every, opts.max_kills, pool

            def on_kill(took: float) -> None:
                rec.kills += 1
                rec.restart_s.append(took)
                if progress is not None:
                    progress(f"SIGKILL #{rec.kills}: restarted in {took:.1f} s")

            async def killer(stop: asyncio.Event, on_down: Any) -> None:
                await kill_loop(the_pool, every, limit, opts.seed, stop, on_kill, on_down)

        rec = asyncio.run(run_load(plan, targets, admin, agents, buyers, killer, rec))
    finally:
        if pool is not None:
            pool.stop()
    checks = verify(opts.db, store, run, rec)
    meta = {
        "store": store,
        "servers": opts.servers or 1,
        "db": opts.db.split(":")[0],
        "redis": bool(opts.redis),
        "duration_s": opts.duration,
        "rate": opts.rate,
        "buyers": opts.buyers,
        "agents": opts.agents,
    }
    return summary(rec, checks, meta)
