"""Real `kefu serve` processes for load and crash tests: start, SIGKILL, restart.

Only loopback addresses are ever targeted: a load test must never leave the machine.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx


class NotLoopback(ValueError):
    """A target URL outside 127.0.0.0/8, ::1 and localhost."""


def check_loopback(url: str) -> str:
    """`url` without a trailing slash if its host is on this machine; else NotLoopback."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NotLoopback(f"{url!r}: give an http://127.0.0.1:PORT URL")
    host = parts.hostname
    if host != "localhost":
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            raise NotLoopback(f"{url!r}: only loopback addresses (127.0.0.0/8, ::1)") from None
        if not ip.is_loopback:
            raise NotLoopback(f"{url!r}: only loopback addresses (127.0.0.0/8, ::1)")
    return url.rstrip("/")


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kefu_command() -> list[str]:
    """The `kefu` entry point of this interpreter (the script, else `python -m`)."""
    script = Path(sys.executable).parent / "kefu"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "kefu.cli.main"]


def wait_healthy(
    base: str, timeout: float = 60.0, proc: subprocess.Popen[bytes] | None = None
) -> bool:
    """Poll `/api/v1/health` until 200 (False on time-out or when `proc` exits)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                return True
        time.sleep(0.1)
    return False


@dataclass
class Server:
    """One `kefu serve` process on a fixed port (kept across restarts)."""

    port: int
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    kills: int = 0
    up: bool = False

    @property
    def url(self) -> str:
        """Its base URL."""
        return f"http://127.0.0.1:{self.port}"


@dataclass
class ServerPool:
    """N `kefu serve` processes on one database (PostgreSQL for more than one)."""

    db: str
    count: int = 1
    redis: str | None = None
    config: Path | None = None
    tick: float = 0.5
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    log: Path | None = None
    servers: list[Server] = field(default_factory=list)
    restart_s: list[float] = field(default_factory=list)

    def start(self, timeout: float = 90.0) -> None:
        """Start every server and wait until each answers its health check."""
        if not self.servers:
            self.servers = [Server(free_port()) for _ in range(self.count)]
        for s in self.servers:
            self._spawn(s)
        for s in self.servers:
            if not wait_healthy(s.url, timeout, s.proc):
                self.stop()
                raise RuntimeError(f"kefu serve on port {s.port} did not start{self._tail()}")
            s.up = True

    def _spawn(self, s: Server) -> None:
        cmd = [
            *kefu_command(),
            "serve",
            "--db",
            self.db,
            "--port",
            str(s.port),
            "--tick",
            str(self.tick),
        ]
        if self.redis:
            cmd += ["--redis", self.redis]
        if self.config is not None:
            cmd += ["--config", str(self.config)]
        out = open(self.log, "ab") if self.log is not None else subprocess.DEVNULL  # noqa: SIM115
        try:
            s.proc = subprocess.Popen(
                cmd, env={**os.environ, **self.env}, cwd=self.cwd, stdout=out, stderr=out
            )
        finally:
            if out is not subprocess.DEVNULL:
                out.close()  # type: ignore[union-attr]
        s.starts += 1

    def kill(self, s: Server) -> None:
        """SIGKILL one server (no clean shutdown: no final snapshot, no closed sockets)."""
        s.up = False
        if s.proc is not None and s.proc.poll() is None:
            os.kill(s.proc.pid, signal.SIGKILL)
            s.proc.wait()
        s.kills += 1

    def restart(self, s: Server, timeout: float = 90.0) -> float:
        """Start a killed server again on its port; seconds until it answered."""
        t0 = time.monotonic()
        self._spawn(s)
        if not wait_healthy(s.url, timeout, s.proc):
            raise RuntimeError(f"kefu serve on port {s.port} did not restart{self._tail()}")
        s.up = True
        took = time.monotonic() - t0
        self.restart_s.append(took)
        return took

    def stop(self) -> None:
        """Terminate every server (SIGTERM, then SIGKILL after 20 s)."""
        for s in self.servers:
            s.up = False
            if s.proc is not None and s.proc.poll() is None:
                s.proc.terminate()
        for s in self.servers:
            if s.proc is None:
                continue
            try:
                s.proc.wait(20)
            except subprocess.TimeoutExpired:
                s.proc.kill()
                s.proc.wait()

    @property
    def urls(self) -> list[str]:
        """Base URLs of every server."""
        return [s.url for s in self.servers]

    def _tail(self) -> str:
        if self.log is None or not self.log.exists():
            return ""
        return ":\n" + self.log.read_text(errors="replace")[-2000:]


async def kill_loop(
    pool: ServerPool,
    every: float,
    max_kills: int,
    seed: int,
    stop: Any,
    on_kill: Any = None,
    on_down: Any = None,
) -> None:
    """SIGKILL a random running server at random moments (`every` s apart on average,
    uniformly 0.5–1.5×) and restart it at once, in the background, so that with several
    servers the next kill may come before the last one is back (all down at once is part
    of the test). Ends when `stop` is set or after `max_kills`, once every server is up
    again. `on_down(url)` is told of each kill, `on_kill(seconds_to_restart)` of each
    restart."""
    import asyncio
    import random

    rng = random.Random(seed)
    kills = 0
    restarts: list[asyncio.Task[None]] = []

    async def revive(victim: Server) -> None:
        took = await asyncio.to_thread(pool.restart, victim)
        if on_kill is not None:
            on_kill(took)

    while kills < max_kills and not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every * rng.uniform(0.5, 1.5))
        if stop.is_set():
            break
        up = [s for s in pool.servers if s.up and s.proc is not None]
        while not up and not stop.is_set():  # all down: kill the first one back
            await asyncio.sleep(0.1)
            up = [s for s in pool.servers if s.up and s.proc is not None]
        if not up:
            break
        victim = rng.choice(up)
        await asyncio.to_thread(pool.kill, victim)
        if on_down is not None:
            on_down(victim.url)
        kills += 1
        restarts.append(asyncio.create_task(revive(victim)))
    for task in restarts:
        await task
