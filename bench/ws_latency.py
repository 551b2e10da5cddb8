"""Buyer message → agent WebSocket: latency and sustained messages/s against real servers.

    .venv/bin/python bench/ws_latency.py [--buyers 1000] [--agents 50] [--rate 50]
        [--duration 15] [--concurrency 32] [--modes sqlite1,pg1,pg2]

Starts real `kefu serve` processes on loopback with a fresh database (a SQLite file in a
temporary folder; a new PostgreSQL database `kefu_bench_<pid>_<mode>` on 127.0.0.1:5432,
dropped at the end), then:

1. set-up: two stores (`bench-a`, `bench-b`), half the agents each, online with room for
   every buyer; each buyer says 在吗 (the bot answers) and presses 转人工 → assigned;
2. opens one WebSocket per agent (`/api/v1/ws/agent`) and one per buyer (`/api/v1/ws/buyer`);
3. `latency` phase: buyers POST `/api/v1/buyer/messages` at a fixed `--rate` (open loop);
4. `throughput` phase: `--concurrency` senders post back to back (closed loop).

Latency = from just before the POST to the agent's WebSocket frame carrying that message,
measured in this one process (one clock). Sustained msgs/s = messages of the throughput phase
delivered to agents / phase length.

Modes: `sqlite1` one process on SQLite; `pg1` one process on PostgreSQL; `pg2` two
processes on one PostgreSQL database bridged by Redis (`--redis`). Engine writes for a store
must go to one process (docs/api.md "Several processes"), so in `pg2` store A is written
through process 1 and store B through process 2, and every agent holds its WebSocket on the
*other* process: each measured message crosses processes through Redis.

The client (this process) shares the machine with the servers, so on few cores it competes
with them; its event-loop lag is part of the numbers. Nothing is written into the repository.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

SECRET = "kefu-bench-secret"
os.environ["KEFU_SECRET"] = SECRET  # buyer tokens are signed with it, here and in the servers
STORES = ("bench-a", "bench-b")
PG_ADMINS = ("postgresql://postgres@127.0.0.1:5432/test", "postgresql://root@127.0.0.1:5432/test")
MODES = {"sqlite1": ("sqlite", 1), "pg1": ("postgresql", 1), "pg2": ("postgresql", 2)}


# -- servers and databases ---------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pg_admin() -> str:
    import psycopg

    for url in PG_ADMINS:
        try:
            with psycopg.connect(url, connect_timeout=3):
                return url
        except psycopg.OperationalError:
            continue
    raise SystemExit("PostgreSQL not reachable on 127.0.0.1:5432 (database `test`)")


def pg_database(admin: str, name: str, create: bool) -> str:
    """Create (or drop) the bench database `name`; returns its URL."""
    import psycopg

    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            c.execute(f'CREATE DATABASE "{name}"')
    return admin.rsplit("/", 1)[0] + f"/{name}"


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def ws(self) -> str:
        return self.url.replace("http://", "ws://")


def start_servers(db_url: str, n: int, redis: str | None, work: Path) -> list[Server]:
    servers = []
    env = {**os.environ, "KEFU_SECRET": SECRET}
    for i in range(n):
        port = free_port()
        cmd = [sys.executable, "-c", "from kefu.cli.main import app; app()", "serve",
               "--db", db_url, "--port", str(port)]  # fmt: skip
        if redis:
            cmd += ["--redis", redis]
        log = work / f"server{i}.log"
        with log.open("wb") as fh:
            proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=fh, stderr=subprocess.STDOUT)
        servers.append(Server(f"http://127.0.0.1:{port}", proc, log))
    for s in servers:
        for _ in range(300):
            try:
                if httpx.get(f"{s.url}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if s.proc.poll() is not None:
                raise SystemExit(f"server exited:\n{s.log.read_text()[-2000:]}")
            time.sleep(0.1)
        else:
            raise SystemExit(f"{s.url} did not start:\n{s.log.read_text()[-2000:]}")
    return servers


def stop_servers(servers: list[Server]) -> None:
    for s in servers:
        s.proc.terminate()
    for s in servers:
        try:
            s.proc.wait(15)
        except subprocess.TimeoutExpired:
            s.proc.kill()
            s.proc.wait(5)


def staff_tokens(db_url: str, agents: dict[str, list[str]]) -> dict[tuple[str, str], str]:
    """A token per (store, agent), written straight into the database."""
    from kefu.accounts.tokens import create_token
    from kefu.storage.db import make_engine, session_factory

    engine = make_engine(db_url)
    try:
        with session_factory(engine).begin() as s:
            return {(st, a): create_token(s, st, a, "agent") for st, names in agents.items()
                    for a in names}  # fmt: skip
    finally:
        engine.dispose()


# -- the run -----------------------------------------------------------------------------------
@dataclass
class Phase:
    name: str
    sent: int = 0
    http_errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)  # status code or exception name
    http_ms: list[float] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    lag_ms: list[float] = field(default_factory=list)  # this client's event-loop lag
    server_cpu_s: float | None = None
    client_cpu_s: float = 0.0


@dataclass
class Run:
    """One mode's clients: who writes where, who listens where, and what arrived."""

    servers: list[Server]
    writer: dict[str, Server]
    listener: dict[str, Server]
    buyers: list[tuple[str, str]] = field(default_factory=list)  # (store, buyer)
    owner: dict[tuple[str, str], str] = field(default_factory=dict)  # (store, buyer) → agent
    sent_at: dict[int, float] = field(default_factory=dict)
    seq_phase: dict[int, Phase] = field(default_factory=dict)
    misrouted: int = 0
    buyer_frames: int = 0


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a process (Linux /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def servers_cpu(servers: list[Server]) -> float | None:
    values = [cpu_seconds(s.proc.pid) for s in servers]
    return None if any(v is None for v in values) else sum(v for v in values if v is not None)


@contextlib.asynccontextmanager
async def measured(phase: Phase, servers: list[Server]) -> Any:
    """Server and client CPU over the phase, and the client's event-loop lag every 10 ms."""
    stop = asyncio.Event()

    async def probe() -> None:
        while not stop.is_set():
            t = time.perf_counter()
            await asyncio.sleep(0.01)
            phase.lag_ms.append((time.perf_counter() - t - 0.01) * 1000)

    task = asyncio.create_task(probe())
    srv0, cli0 = servers_cpu(servers), time.process_time()
    try:
        yield
    finally:
        srv1 = servers_cpu(servers)
        phase.client_cpu_s = time.process_time() - cli0
        if srv0 is not None and srv1 is not None:
            phase.server_cpu_s = srv1 - srv0
        stop.set()
        await task


def pct(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    s = sorted(values)
    return s[max(0, math.ceil(q * len(s)) - 1)]


def buyer_headers(store: str, buyer: str) -> dict[str, str]:
    from kefu.accounts.tokens import buyer_token

    return {"Authorization": f"Bearer {buyer_token(store, buyer)}"}


async def gather_limited(coros: list[Any], limit: int) -> list[Any]:
    sem = asyncio.Semaphore(limit)

    async def one(c: Any) -> Any:
        async with sem:
            return await c

    return await asyncio.gather(*(one(c) for c in coros))


async def set_up(run: Run, http: httpx.AsyncClient, tokens: dict[tuple[str, str], str],
                 capacity: int) -> None:  # fmt: skip
    for (store, agent), token in tokens.items():
        h = {"Authorization": f"Bearer {token}"}
        base = f"{run.writer[store].url}/api/v1/stores/{store}/me"
        r = await http.put(f"{base}/profile", headers=h, json={"capacity": capacity,
                                                                "name": agent})  # fmt: skip
        r.raise_for_status()
        r = await http.put(f"{base}/status", headers=h, json={"status": "online"})
        r.raise_for_status()

    async def hand_over(store: str, buyer: str) -> None:
        h = buyer_headers(store, buyer)
        url = run.writer[store].url
        r = await http.post(f"{url}/api/v1/buyer/messages", headers=h, json={"text": "在吗"})
        r.raise_for_status()
        r = await http.post(f"{url}/api/v1/buyer/transfer", headers=h)
        r.raise_for_status()
        results = [a for a in r.json()["actions"] if a["type"] == "transfer.result"]
        if not results or results[0]["outcome"] != "assigned":
            raise SystemExit(f"{store}/{buyer} not assigned: {r.json()['actions']}")
        run.owner[(store, buyer)] = results[0]["agent"]

    await gather_limited([hand_over(s, b) for s, b in run.buyers], 16)


async def agent_reader(run: Run, ws: ClientConnection, store: str, agent: str) -> None:
    with contextlib.suppress(Exception):
        async for raw in ws:
            now = time.perf_counter()
            msg = json.loads(raw)
            if msg.get("type") != "message" or msg.get("sender") != "buyer":
                continue
            text = msg.get("text") or ""
            if not text.startswith("bench:"):
                continue
            seq = int(text[6:].split(" ", 1)[0])
            t0 = run.sent_at.get(seq)
            phase = run.seq_phase.get(seq)
            if t0 is None or phase is None:
                continue
            if run.owner.get((store, msg.get("buyer", ""))) != agent:
                run.misrouted += 1
            phase.latency_ms.append((now - t0) * 1000)


async def buyer_reader(run: Run, ws: ClientConnection) -> None:
    with contextlib.suppress(Exception):
        async for _ in ws:
            run.buyer_frames += 1


async def open_sockets(
    run: Run, tokens: dict[tuple[str, str], str]
) -> tuple[list[ClientConnection], list[asyncio.Task[None]]]:
    socks: list[ClientConnection] = []
    tasks: list[asyncio.Task[None]] = []

    async def agent_ws(store: str, agent: str, token: str) -> None:
        ws = await connect(f"{run.listener[store].ws}/api/v1/ws/agent?token={token}",
                           open_timeout=30, max_size=2**22)  # fmt: skip
        assert json.loads(await ws.recv())["type"] == "hello"
        socks.append(ws)
        tasks.append(asyncio.create_task(agent_reader(run, ws, store, agent)))

    async def buyer_ws(store: str, buyer: str) -> None:
        from kefu.accounts.tokens import buyer_token

        url = f"{run.writer[store].ws}/api/v1/ws/buyer?token={buyer_token(store, buyer)}"
        ws = await connect(url, open_timeout=30)
        assert json.loads(await ws.recv())["type"] == "hello"
        socks.append(ws)
        tasks.append(asyncio.create_task(buyer_reader(run, ws)))

    await gather_limited([agent_ws(s, a, t) for (s, a), t in tokens.items()], 16)
    await gather_limited([buyer_ws(s, b) for s, b in run.buyers], 32)
    return socks, tasks


class Sender:
    """Posts numbered buyer messages round-robin over every buyer (stores interleaved)."""

    def __init__(self, run: Run, http: httpx.AsyncClient) -> None:
        self.run = run
        self.http = http
        self.seq = itertools.count(1)
        self.next_buyer = itertools.cycle(run.buyers)
        self.headers = {b: buyer_headers(*b) for b in run.buyers}

    async def send(self, phase: Phase) -> None:
        store, buyer = next(self.next_buyer)
        seq = next(self.seq)
        self.run.seq_phase[seq] = phase
        url = f"{self.run.writer[store].url}/api/v1/buyer/messages"
        t0 = time.perf_counter()
        self.run.sent_at[seq] = t0
        phase.sent += 1
        kind = ""
        try:
            r = await self.http.post(url, headers=self.headers[(store, buyer)],
                                     json={"text": f"bench:{seq} 这件还有货吗"})  # fmt: skip
            if r.status_code != 200:
                kind = f"HTTP {r.status_code}"
        except httpx.HTTPError as e:
            kind = type(e).__name__
        if not kind:
            phase.http_ms.append((time.perf_counter() - t0) * 1000)
        else:
            phase.http_errors += 1
            phase.error_kinds[kind] = phase.error_kinds.get(kind, 0) + 1


async def settle(phase: Phase, wait: float) -> None:
    """Give the last messages up to `wait` seconds to arrive."""
    end = time.perf_counter() + wait
    while len(phase.latency_ms) < phase.sent - phase.http_errors and time.perf_counter() < end:
        await asyncio.sleep(0.05)


async def open_loop(sender: Sender, rate: float, seconds: float) -> Phase:
    phase = Phase("latency")
    total = int(rate * seconds)
    async with measured(phase, sender.run.servers):
        t0 = time.perf_counter()
        pending = []
        for i in range(total):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            pending.append(asyncio.create_task(sender.send(phase)))
        await asyncio.gather(*pending)
        phase.seconds = time.perf_counter() - t0
        await settle(phase, 10)
    return phase


async def closed_loop(sender: Sender, concurrency: int, seconds: float) -> Phase:
    phase = Phase("throughput")
    async with measured(phase, sender.run.servers):
        t0 = time.perf_counter()
        end = t0 + seconds

        async def worker() -> None:
            while time.perf_counter() < end:
                await sender.send(phase)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        phase.seconds = time.perf_counter() - t0
        await settle(phase, 10)
    return phase


async def drive(run: Run, tokens: dict[tuple[str, str], str], args: argparse.Namespace,
                capacity: int) -> list[Phase]:  # fmt: skip
    limits = httpx.Limits(max_connections=max(64, args.concurrency * 2),
                          max_keepalive_connections=max(64, args.concurrency * 2))  # fmt: skip
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        t = time.perf_counter()
        await set_up(run, http, tokens, capacity)
        print(f"  set-up: {len(tokens)} agents online, {len(run.buyers)} buyers assigned "
              f"in {time.perf_counter() - t:.1f} s", file=sys.stderr)  # fmt: skip
        t = time.perf_counter()
        socks, tasks = await open_sockets(run, tokens)
        print(f"  {len(socks)} WebSockets open in {time.perf_counter() - t:.1f} s",
              file=sys.stderr)  # fmt: skip
        await asyncio.sleep(1.0)  # Redis bridges subscribed, hub queues attached
        sender = Sender(run, http)
        warm = Phase("warm-up")
        for _ in range(20):
            await sender.send(warm)
        await settle(warm, 10)
        phases = [await open_loop(sender, args.rate, args.duration)]
        phases.append(await closed_loop(sender, args.concurrency, args.duration))
        for ws in socks:
            with contextlib.suppress(Exception):
                await ws.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return phases


def run_mode(mode: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    from kefu.storage.db import upgrade

    backend, nproc = MODES[mode]
    work = Path(tempfile.mkdtemp(prefix=f"kefu-ws-bench-{mode}-"))
    admin = pg_admin() if backend == "postgresql" else None
    name = f"kefu_bench_{os.getpid()}_{mode}"
    db_url = pg_database(admin, name, True) if admin else f"sqlite:///{work / 'kefu.db'}"
    servers: list[Server] = []
    try:
        upgrade(db_url)  # once, before the servers: two processes must not race the migration
        redis = args.redis if nproc > 1 else None
        print(f"{mode}: {nproc} × kefu serve on {backend}" + (f", {redis}" if redis else ""),
              file=sys.stderr)  # fmt: skip
        servers = start_servers(db_url, nproc, redis, work)
        writer = {STORES[0]: servers[0], STORES[1]: servers[-1]}
        listener = {STORES[0]: servers[-1], STORES[1]: servers[0]}
        run = Run(servers, writer, listener)
        per_store = args.buyers // len(STORES)
        run.buyers = [(STORES[i % 2], f"u{i // 2:05d}") for i in range(per_store * len(STORES))]
        agents = {s: [f"agent{j:03d}" for j in range(args.agents // len(STORES))] for s in STORES}
        capacity = math.ceil(per_store / len(agents[STORES[0]])) + 2
        tokens = staff_tokens(db_url, agents)
        phases = asyncio.run(drive(run, tokens, args, capacity))
        rows = []
        for p in phases:
            delivered = len(p.latency_ms)
            rows.append({
                "mode": mode, "processes": nproc, "db": backend, "phase": p.name,
                "buyer_ws": len(run.buyers), "agent_ws": len(tokens), "sent": p.sent,
                "delivered": delivered, "lost": p.sent - p.http_errors - delivered,
                "http_errors": p.http_errors,
                "msgs_per_s": delivered / p.seconds if p.seconds else 0.0,
                "p50_ms": pct(p.latency_ms, 0.5), "p99_ms": pct(p.latency_ms, 0.99),
                "max_ms": max(p.latency_ms, default=None),
                "http_p50_ms": pct(p.http_ms, 0.5), "http_p99_ms": pct(p.http_ms, 0.99),
                "misrouted": run.misrouted,
                "server_cpu_ms_per_msg": (1000 * p.server_cpu_s / delivered
                                          if p.server_cpu_s is not None and delivered else None),
                "client_cpu_ms_per_msg": 1000 * p.client_cpu_s / delivered if delivered else None,
                "client_lag_p99_ms": pct(p.lag_ms, 0.99),
                "errors": p.error_kinds,
            })  # fmt: skip
        return rows
    finally:
        stop_servers(servers)
        if admin:
            pg_database(admin, name, False)
        shutil.rmtree(work, ignore_errors=True)


def fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.1f}"
    return str(v)


COLUMNS = {  # row key → column title
    "mode": "mode", "processes": "procs", "db": "db", "phase": "phase", "buyer_ws": "buyer_ws",
    "agent_ws": "agent_ws", "sent": "sent", "delivered": "delivered", "lost": "lost",
    "http_errors": "http_err", "msgs_per_s": "msgs/s", "p50_ms": "p50_ms", "p99_ms": "p99_ms",
    "max_ms": "max_ms", "http_p50_ms": "http_p50", "http_p99_ms": "http_p99",
    "server_cpu_ms_per_msg": "srv_cpu_ms/msg", "client_cpu_ms_per_msg": "cli_cpu_ms/msg",
    "client_lag_p99_ms": "cli_lag_p99",
}  # fmt: skip


def print_table(rows: list[dict[str, Any]]) -> None:
    """Aligned columns; refused or failed requests listed underneath."""
    cells = [[fmt(r[c]) for c in COLUMNS] for r in rows]
    titles = list(COLUMNS.values())
    widths = [max(len(t), *(len(x[i]) for x in cells)) for i, t in enumerate(titles)]
    print("  ".join(t.rjust(w) for t, w in zip(titles, widths, strict=True)))
    for line in cells:
        print("  ".join(x.rjust(w) for x, w in zip(line, widths, strict=True)))
    for r in rows:
        if r["errors"]:
            print(f"{r['mode']} {r['phase']}: failed requests {r['errors']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--buyers", type=int, default=1000, help="buyer WebSockets (2 stores)")
    ap.add_argument("--agents", type=int, default=50, help="agent WebSockets (2 stores)")
    ap.add_argument("--rate", type=float, default=50.0, help="latency phase: msgs/s, open loop")
    ap.add_argument("--duration", type=float, default=15.0, help="seconds per phase")
    ap.add_argument("--concurrency", type=int, default=32, help="throughput phase: senders")
    ap.add_argument("--modes", default="sqlite1,pg1,pg2", help="any of " + ",".join(MODES))
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="Redis for pg2")
    ap.add_argument("--json", action="store_true", help="also print the rows as JSON lines")
    args = ap.parse_args()
    if args.buyers < 2 or args.agents < 2:
        ap.error("--buyers and --agents must be at least 2 (two stores)")
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if unknown := [m for m in modes if m not in MODES]:
        ap.error(f"unknown mode(s): {', '.join(unknown)}")
    with contextlib.suppress(ValueError, OSError):
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = min(hard, max(soft, 4 * (args.buyers + args.agents) + 256))
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    rows: list[dict[str, Any]] = []
    for mode in modes:
        rows += run_mode(mode, args)
    print_table(rows)
    if args.json:
        for r in rows:
            print(json.dumps(r))


if __name__ == "__main__":
    main()
