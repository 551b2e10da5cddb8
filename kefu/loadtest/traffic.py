"""The load: buyers and agents of one fresh store, through the REST API and WebSockets.

Open loop: operations start at `rate` per second (exponential gaps) whatever the server's
speed, each on a buyer or agent not already waiting for an answer, so every client's own
requests stay in order (what "messages in order" is checked against). Buyers send messages
(some with a product card), press 转人工 and click products (`view` / `cart.add` events,
batched to `POST /api/v1/events` with ids); agents poll their conversations, reply and
close, and hold WebSockets. Every text carries a marker `[run:who:n]`, so the checks can
find each message in the database.

What the clients were told is recorded: a 200 is *accepted*; a request that may have
reached a server that died before answering is *unknown* (stored at most once, never
retried unless it is idempotent: events with ids and reads are retried, a buyer's message
is not, exactly like a real widget that does not know). A request that never connected is
safe to send again, to another server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

MARKER = re.compile(r"\[(lt[0-9a-f]+):([^:\]]+):(\d+)\]")
PHRASES = (
    "在吗",
    "有货吗",
    "发什么快递",
    "能便宜点吗",
    "这个尺码偏大吗",
    "什么时候发货",
    "可以开发票吗",
    "颜色有色差吗",
    "保修多久",
    "好的谢谢",
)
WEIGHTS = {
    "buyer.message": 0.50,
    "click": 0.15,
    "buyer.transfer": 0.07,
    "agent.reply": 0.22,
    "agent.close": 0.06,
}
_CONNECT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_AMBIGUOUS = (
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
    httpx.ReadTimeout,
    httpx.WriteTimeout,
)


@dataclass
class Plan:
    """What to run: where, how long, how fast, how many clients."""

    store: str
    run: str
    duration: float = 60.0
    rate: float = 50.0
    buyers: int = 200
    agents: int = 10
    capacity: int = 5
    products: int = 20
    seed: int = 1
    ws_buyers: int = 20
    urge_delay: str = "20s"
    drain_timeout: float = 60.0
    max_inflight: int = 256


@dataclass
class Record:
    """What the clients saw: latencies, errors, and every accepted or unknown write."""

    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    ok: Counter[str] = field(default_factory=Counter)
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    conflicts: Counter[str] = field(default_factory=Counter)
    skipped: int = 0
    retries: int = 0
    sent: dict[str, int] = field(default_factory=dict)  # marker → who (for the check)
    accepted_markers: set[str] = field(default_factory=set)
    unknown_markers: set[str] = field(default_factory=set)
    accepted_ids: set[str] = field(default_factory=set)
    unknown_ids: set[str] = field(default_factory=set)
    transfers_ok: int = 0
    transfers_unknown: int = 0
    ws_seen: Counter[tuple[str, str]] = field(default_factory=Counter)
    ws_frames: int = 0
    ws_reconnects: int = 0
    sent_at: dict[str, float] = field(default_factory=dict)
    kills: int = 0
    kill_times: list[float] = field(default_factory=list)
    restart_s: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    sample_transcripts: dict[str, list[str]] = field(default_factory=dict)

    def time(self, op: str, seconds: float) -> None:
        """One answered request of `op`."""
        self.latency[op].append(seconds * 1000.0)

    def check(self, name: str, ok: bool, detail: str) -> None:
        """A pass/fail finding of the run itself (the database checks add theirs later)."""
        self.checks.append((name, ok, detail))


class Targets:
    """The servers to talk to; a server that refused a connection is avoided briefly."""

    def __init__(self, urls: list[str], is_up: Callable[[int], bool] | None = None) -> None:
        self.urls = urls
        self.is_up = is_up
        self._down_until = [0.0] * len(urls)
        self._rr = 0

    def pick(self) -> str:
        """A server believed up (round robin), else any."""
        now = time.monotonic()
        n = len(self.urls)
        for k in range(n):
            i = (self._rr + k) % n
            if self._down_until[i] <= now and (self.is_up is None or self.is_up(i)):
                self._rr = i + 1
                return self.urls[i]
        self._rr += 1
        return self.urls[self._rr % n]

    def any_up(self) -> bool:
        """False while every server is known to be down (being restarted)."""
        return self.is_up is None or any(self.is_up(i) for i in range(len(self.urls)))

    async def wait_up(self, limit: float) -> None:
        """Sleep while no server is up (at most `limit` seconds): no busy reconnecting."""
        stop = time.monotonic() + limit
        while not self.any_up() and time.monotonic() < stop:
            await asyncio.sleep(0.05)

    def down(self, url: str) -> None:
        """Avoid `url` for a moment."""
        self._down_until[self.urls.index(url)] = time.monotonic() + 0.3


@dataclass
class Outcome:
    """The answer to one request: a response, or the kind of failure."""

    response: httpx.Response | None
    failure: str | None = None  # "connect" (never sent), "unknown" (maybe processed), "timeout"

    @property
    def status(self) -> int:
        """HTTP status, 0 without a response."""
        return self.response.status_code if self.response is not None else 0


class Load:
    """The clients of one run (one asyncio loop)."""

    def __init__(
        self,
        plan: Plan,
        targets: Targets,
        admin: str,
        agents: dict[str, str],
        buyers: dict[str, str],
        record: Record | None = None,
    ) -> None:
        self.plan = plan
        self.targets = targets
        self.admin = admin
        self.agent_tokens = agents
        self.buyer_tokens = buyers
        self.rec = record or Record()
        self.rng = random.Random(plan.seed)
        self.counter: Counter[str] = Counter()
        self.busy: set[str] = set()
        self.assigned: dict[str, list[str]] = {a: [] for a in agents}
        self.pending_events: list[dict[str, Any]] = []
        self.running = True
        self.clients: dict[str, httpx.AsyncClient] = {}
        self._event_n = 0
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- HTTP ---------------------------------------------------------------------------------
    def _client(self) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=self.plan.max_inflight + 64,
                              max_keepalive_connections=64)  # fmt: skip
        return httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=2.0), limits=limits)

    def reset(self, url: str) -> None:
        """Drop the kept-alive connections to a server that was just killed: they lead to a
        dead process (requests in flight on them fail, as they would for any client)."""
        old = self.clients.get(url)
        self.clients[url] = self._client()
        if old is not None:
            self._spawn(old.aclose())

    async def call(
        self,
        op: str,
        method: str,
        path: str,
        token: str,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
        idempotent: bool = False,
        deadline: float = 30.0,
        mark: str | None = None,
    ) -> Outcome:
        """One request, retried on another server while it cannot connect (and, when
        `idempotent`, also when the answer was lost); latency of answered attempts."""
        stop = time.monotonic() + deadline
        pause = 0.05
        while True:
            await self.targets.wait_up(max(0.0, stop - time.monotonic()))
            url = self.targets.pick()
            t0 = time.perf_counter()
            if mark is not None:
                self.rec.sent_at[mark] = t0
            try:
                r = await self.clients[url].request(
                    method,
                    url + path,
                    json=body,
                    params=params,
                    headers={"Authorization": f"Bearer {token}"},
                )
            except _CONNECT:
                self.targets.down(url)
                failure = "connect"
            except _AMBIGUOUS as e:
                self.targets.down(url)
                failure = "timeout" if isinstance(e, httpx.TimeoutException) else "unknown"
                if not idempotent:
                    self.rec.errors[(op, f"{failure} ({type(e).__name__})")] += 1
                    return Outcome(None, failure)
            else:
                self.rec.time(op, time.perf_counter() - t0)
                if 200 <= r.status_code < 300:
                    self.rec.ok[op] += 1
                return Outcome(r)
            if time.monotonic() > stop or (not self.running and op != "ingest"):
                self.rec.errors[(op, failure)] += 1
                return Outcome(None, failure)
            self.rec.retries += 1
            await asyncio.sleep(pause)
            pause = min(1.0, pause * 2)

    def _judge(self, op: str, out: Outcome, conflicts: tuple[int, ...] = ()) -> bool:
        """Count the outcome; True for a 2xx."""
        if out.response is None:
            return False
        if 200 <= out.status < 300:
            return True
        if out.status in conflicts:
            self.rec.conflicts[op] += 1
        else:
            self.rec.errors[(op, f"http {out.status}")] += 1
        return False

    # -- set-up -------------------------------------------------------------------------------
    async def setup(self) -> None:
        """Settings, the catalogue, agents online with their capacity."""
        p = self.plan
        out = await self.call(
            "setup",
            "PUT",
            f"/api/v1/stores/{p.store}/settings",
            self.admin,
            body={"urge": {"delay": p.urge_delay}},
            idempotent=True,
        )
        if out.status != 200:
            raise RuntimeError(f"PUT settings: {out.status} {_text(out)}")
        now = _now_ms()
        products = [
            {
                "id": f"{p.run}-p{i}",
                "type": "product",
                "store": p.store,
                "ts": now,
                "product": f"p{i}",
                "title": f"商品{i}",
                "price": 10.0 + i,
                "category": "c",
                "stock": 100,
            }
            for i in range(p.products)
        ]
        out = await self.call(
            "setup", "POST", "/api/v1/events", self.admin, body=products, idempotent=True
        )
        if out.status != 200:
            raise RuntimeError(f"POST products: {out.status} {_text(out)}")
        for agent, token in self.agent_tokens.items():
            base = f"/api/v1/stores/{p.store}/me"
            for path, body in (
                ("/profile", {"capacity": p.capacity, "name": agent}),
                ("/status", {"status": "online"}),
            ):
                out = await self.call(
                    "setup", "PUT", base + path, token, body=body, idempotent=True
                )
                if out.status != 200:
                    raise RuntimeError(f"PUT {path} of {agent}: {out.status} {_text(out)}")
        first = next(iter(self.buyer_tokens.values()))
        out = await self.call("setup", "GET", "/api/v1/me", first, idempotent=True)
        if out.status != 200:
            raise RuntimeError(
                "the server refuses the buyer tokens signed here: run the load "
                "test with the server's $KEFU_SECRET"
            )

    # -- operations ---------------------------------------------------------------------------
    def _marker(self, who: str) -> str:
        self.counter[who] += 1
        return f"[{self.plan.run}:{who}:{self.counter[who]}]"

    async def buyer_message(self, buyer: str) -> None:
        """A buyer's message with a marker; sometimes a product card."""
        mark = self._marker(buyer)
        body: dict[str, Any] = {"text": f"{mark} {self.rng.choice(PHRASES)}"}
        if self.rng.random() < 0.3:
            body["product"] = f"p{self.rng.randrange(self.plan.products)}"
        self.rec.sent[mark] = 1
        out = await self.call(
            "buyer.message",
            "POST",
            "/api/v1/buyer/messages",
            self.buyer_tokens[buyer],
            body=body,
            mark=mark,
        )
        if self._judge("buyer.message", out):
            self.rec.accepted_markers.add(mark)
        elif out.failure in ("unknown", "timeout"):
            self.rec.unknown_markers.add(mark)

    async def buyer_transfer(self, buyer: str) -> None:
        """The 转人工 button."""
        out = await self.call(
            "buyer.transfer", "POST", "/api/v1/buyer/transfer", self.buyer_tokens[buyer]
        )
        if self._judge("buyer.transfer", out):
            self.rec.transfers_ok += 1
        elif out.failure in ("unknown", "timeout"):
            self.rec.transfers_unknown += 1

    def click(self, buyer: str) -> None:
        """A product page visit, sometimes an add to cart: queued for the next batch."""
        product = f"p{self.rng.randrange(self.plan.products)}"
        kinds = ["view"] + (["cart.add"] if self.rng.random() < 0.4 else [])
        for kind in kinds:
            self._event_n += 1
            ev: dict[str, Any] = {
                "id": f"{self.plan.run}-e{self._event_n}",
                "type": kind,
                "store": self.plan.store,
                "ts": _now_ms(),
                "buyer": buyer,
                "product": product,
            }
            if kind == "view":
                ev.update(source="search", carrier="card")
            self.pending_events.append(ev)
        self.rec.ok["click"] += 1

    async def flush_events(self) -> None:
        """Post the queued events (with ids: retried until answered, stored once)."""
        batch, self.pending_events = self.pending_events[:500], self.pending_events[500:]
        if not batch:
            return
        ids = [e["id"] for e in batch]
        self.rec.unknown_ids.update(ids)
        out = await self.call(
            "ingest",
            "POST",
            "/api/v1/events",
            self.admin,
            body=batch,
            idempotent=True,
            deadline=120.0,
        )
        if self._judge("ingest", out):
            doc = out.response.json() if out.response is not None else {}
            if doc.get("rejected"):
                self.rec.errors[("ingest", "rejected line")] += len(doc["rejected"])
            bad = {batch[r["line"] - 1]["id"] for r in doc.get("rejected", [])}
            for i in ids:
                if i not in bad:
                    self.rec.accepted_ids.add(i)
                    self.rec.unknown_ids.discard(i)

    async def agent_poll(self, agent: str) -> None:
        """The agent's own assigned conversations."""
        out = await self.call(
            "agent.poll",
            "GET",
            f"/api/v1/stores/{self.plan.store}/conversations",
            self.agent_tokens[agent],
            params={"scope": "mine", "limit": 500},
            idempotent=True,
            deadline=5.0,
        )
        if self._judge("agent.poll", out) and out.response is not None:
            items = out.response.json()["items"]
            self.assigned[agent] = [
                i["conversation"] for i in items if i["state"] == "assigned" and i["agent"] == agent
            ]

    async def agent_reply(self, agent: str) -> bool:
        """A reply in one of the agent's conversations (False when it has none)."""
        convs = self.assigned[agent]
        if not convs:
            return False
        conv = self.rng.choice(convs)
        mark = self._marker(agent)
        body: dict[str, Any] = {"text": f"{mark} 亲，{self.rng.choice(PHRASES)}"}
        if self.rng.random() < 0.2:
            body["products"] = [f"p{self.rng.randrange(self.plan.products)}"]
        self.rec.sent[mark] = 2
        path = f"/api/v1/stores/{self.plan.store}/conversations/{conv}/messages"
        out = await self.call(
            "agent.reply", "POST", path, self.agent_tokens[agent], body=body, mark=mark
        )
        if self._judge("agent.reply", out, conflicts=(404, 409)):
            self.rec.accepted_markers.add(mark)
        elif out.failure in ("unknown", "timeout"):
            self.rec.unknown_markers.add(mark)
        elif out.status in (404, 409) and conv in convs:
            convs.remove(conv)
        return True

    async def agent_close(self, agent: str) -> bool:
        """Close one of the agent's conversations (False when it has none)."""
        convs = self.assigned[agent]
        if not convs:
            return False
        conv = self.rng.choice(convs)
        path = f"/api/v1/stores/{self.plan.store}/conversations/{conv}/close"
        out = await self.call("agent.close", "POST", path, self.agent_tokens[agent])
        self._judge("agent.close", out, conflicts=(404, 409))
        if conv in convs and out.response is not None:
            convs.remove(conv)
        return True

    # -- the loops ----------------------------------------------------------------------------
    def _free(self, pool: list[str]) -> str | None:
        for _ in range(8):
            who = self.rng.choice(pool)
            if who not in self.busy:
                return who
        return None

    def _guarded(self, who: str, coro: Any) -> Any:
        """`coro` with `who` marked busy from now (not from when the task first runs: two
        requests of one client must never overlap, or its own order is not defined)."""
        self.busy.add(who)

        async def run() -> None:
            try:
                await coro
            finally:
                self.busy.discard(who)

        return run()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _one(self, kind: str) -> None:
        buyers, agents = list(self.buyer_tokens), list(self.agent_tokens)
        if kind in ("agent.reply", "agent.close"):
            agent = self._free(agents)
            if agent is not None and self.assigned[agent]:
                fn = self.agent_reply if kind == "agent.reply" else self.agent_close
                self._spawn(self._guarded(agent, fn(agent)))
                return
            kind = "buyer.message"
        buyer = self._free(buyers)
        if buyer is None:
            self.rec.skipped += 1
            return
        if kind == "click":
            self.click(buyer)
        elif kind == "buyer.transfer":
            self._spawn(self._guarded(buyer, self.buyer_transfer(buyer)))
        else:
            self._spawn(self._guarded(buyer, self.buyer_message(buyer)))

    async def scheduler(self, end: float) -> None:
        """Start operations at `rate` per second until `end` (monotonic)."""
        kinds, weights = list(WEIGHTS), list(WEIGHTS.values())
        t = time.monotonic()
        while t < end:
            if len(self._tasks) >= self.plan.max_inflight:
                self.rec.skipped += 1
            else:
                await self._one(self.rng.choices(kinds, weights)[0])
            t += self.rng.expovariate(self.plan.rate)
            await asyncio.sleep(max(0.0, t - time.monotonic()))

    async def pollers(self) -> None:
        """Each agent refreshes its conversation list about once a second."""
        while self.running:
            for agent in self.agent_tokens:
                if agent not in self.busy:
                    self._spawn(self._guarded(agent, self.agent_poll(agent)))
            await asyncio.sleep(1.0)

    async def pump(self) -> None:
        """Send queued click events four times a second."""
        while self.running:
            await self.flush_events()
            await asyncio.sleep(0.25)

    async def ws_client(self, who: str, path: str, token: str, own: int) -> None:
        """Hold a WebSocket (reconnecting after kills); count each marker delivered."""
        from websockets.asyncio.client import connect

        while self.running:
            url = self.targets.pick().replace("http://", "ws://") + f"{path}?token={token}"
            try:
                async with connect(url, open_timeout=5, close_timeout=1) as ws:
                    while self.running:
                        try:
                            raw = await asyncio.wait_for(ws.recv(), 1.0)
                        except TimeoutError:
                            continue
                        self._on_frame(who, json.loads(raw), own)
            except Exception:  # killed server, refused, closed: reconnect
                self.rec.ws_reconnects += 1
                await asyncio.sleep(0.5)
                await self.targets.wait_up(120.0)

    def _on_frame(self, who: str, msg: dict[str, Any], own: int) -> None:
        self.rec.ws_frames += 1
        if msg.get("type") != "message":
            return
        m = MARKER.search(str(msg.get("text") or ""))
        if m is None or m.group(1) != self.plan.run:
            return
        mark = m.group(0)
        if self.rec.sent.get(mark) == own:  # only the other side's messages
            return
        self.rec.ws_seen[(who, mark)] += 1
        sent = self.rec.sent_at.get(mark)
        if sent is not None and self.rec.ws_seen[(who, mark)] == 1:
            self.rec.time("ws.delivery", time.perf_counter() - sent)

    # -- the end ------------------------------------------------------------------------------
    async def settle(self) -> None:
        """Let in-flight requests finish and send the last events."""
        deadline = time.monotonic() + 30
        while self._tasks and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        while self.pending_events and time.monotonic() < deadline + 60:
            await self.flush_events()

    async def _assignments(self, url: str) -> dict[str, str | None]:
        """conversation → agent of every assigned conversation, as one server sees it."""
        out: dict[str, str | None] = {}
        after: str | None = None
        while True:
            params: dict[str, Any] = {"scope": "all", "limit": 500}
            if after is not None:
                params["after"] = after
            r = await self.clients[url].get(
                f"{url}/api/v1/stores/{self.plan.store}/conversations",
                params=params,
                headers={"Authorization": f"Bearer {self.admin}"},
            )
            doc = r.json()
            out.update({i["conversation"]: i["agent"] for i in doc["items"]
                        if i["state"] == "assigned"})  # fmt: skip
            after = doc.get("next_after")
            if not after:
                return out

    async def consistency(self) -> None:
        """Every server agrees on who has which conversation; nobody over capacity.

        Timers still fire after the load (a session timing out closes a conversation), so
        a difference between two reads is read again, three times at most."""
        views: list[dict[str, str | None]] = []
        for _ in range(3):
            await asyncio.sleep(1.5)  # each server's ticker (0.5 s) applies the others' events
            try:
                views = [await self._assignments(url) for url in self.targets.urls]
            except (httpx.HTTPError, ValueError, KeyError) as e:
                self.rec.check("servers agree on assignments", False, repr(e))
                return
            if all(v == views[0] for v in views[1:]):
                break
        load = Counter(a for a in views[0].values() if a)
        over = {a: n for a, n in load.items() if n > self.plan.capacity}
        self.rec.check(
            "no agent over capacity",
            not over,
            f"{len(views[0])} assigned; max {max(load.values(), default=0)} per "
            f"agent (capacity {self.plan.capacity}){'; over: ' + str(over) if over else ''}",
        )
        agree = all(v == views[0] for v in views[1:])
        self.rec.check(
            "servers agree on assignments",
            agree,
            f"{len(views)} server(s) compared" + ("" if agree else ": they differ"),
        )

    async def drain(self) -> None:
        """Agents close everything they have until no conversation waits in a queue."""
        p = self.plan
        t0 = time.monotonic()
        queued = -1
        while time.monotonic() - t0 < p.drain_timeout:
            out = await self.call(
                "drain", "GET", f"/api/v1/stores/{p.store}/monitor", self.admin, idempotent=True
            )
            doc = out.response.json() if out.status == 200 and out.response is not None else {}
            queued = int(doc.get("queue_length", -1))
            for agent in self.agent_tokens:
                await self.agent_poll(agent)
            if queued == 0 and not any(self.assigned.values()):
                break
            await asyncio.gather(*(self._close_all(a) for a in self.agent_tokens))
            await asyncio.sleep(0.2)
        took = time.monotonic() - t0
        self.rec.check(
            "queues drain",
            queued == 0,
            f"queue empty after {took:.1f} s of closing"
            if queued == 0
            else f"{queued} still queued after {took:.1f} s",
        )

    async def _close_all(self, agent: str) -> None:
        for conv in list(self.assigned[agent]):
            path = f"/api/v1/stores/{self.plan.store}/conversations/{conv}/close"
            await self.call("drain", "POST", path, self.agent_tokens[agent], idempotent=True)
        self.assigned[agent] = []

    async def transcripts(self, n: int = 20) -> None:
        """A sample of transcripts through the API, for the order check against the log."""
        convs: list[str] = []
        out = await self.call(
            "transcript",
            "GET",
            f"/api/v1/stores/{self.plan.store}/actions",
            self.admin,
            params={"type": "assign", "limit": 1000},
            idempotent=True,
        )
        if out.status == 200 and out.response is not None:
            convs = sorted({a["conversation"] for a in out.response.json()["items"]})
        for conv in self.rng.sample(convs, min(n, len(convs))):
            path = f"/api/v1/stores/{self.plan.store}/conversations/{conv}/transcript"
            out = await self.call(
                "transcript", "GET", path, self.admin, params={"limit": 1000}, idempotent=True
            )
            if out.status == 200 and out.response is not None:
                items = out.response.json()["items"]
                self.rec.sample_transcripts[conv] = [
                    m.group(0)
                    for i in items
                    if i.get("type") == "message"
                    and (m := MARKER.search(str(i.get("text") or ""))) is not None
                ]


async def run_load(
    plan: Plan,
    targets: Targets,
    admin: str,
    agents: dict[str, str],
    buyers: dict[str, str],
    killer: Any = None,
    record: Record | None = None,
) -> Record:
    """Set up, drive the load for `plan.duration` (with `killer` running beside it), settle,
    check the servers' agreement, drain the queues and sample transcripts."""
    load = Load(plan, targets, admin, agents, buyers, record)
    for url in targets.urls:
        load.reset(url)
    try:
        await load.setup()
        background = [asyncio.create_task(load.pollers()), asyncio.create_task(load.pump())]
        for agent, token in agents.items():
            background.append(
                asyncio.create_task(load.ws_client(agent, "/api/v1/ws/agent", token, own=2))
            )
        for buyer in list(buyers)[: plan.ws_buyers]:
            background.append(
                asyncio.create_task(load.ws_client(buyer, "/api/v1/ws/buyer", buyers[buyer], own=1))
            )
        stop = asyncio.Event()
        kill_task = asyncio.create_task(killer(stop, load.reset)) if killer else None
        t0 = time.monotonic()
        try:
            await load.scheduler(t0 + plan.duration)
        finally:
            stop.set()
            if kill_task is not None:
                await kill_task
        load.rec.elapsed = time.monotonic() - t0
        await load.settle()
        load.running = False
        for task in background:
            task.cancel()
        for task in background:
            with contextlib.suppress(BaseException):
                await task
        load.running = True  # the final phases may retry again
        await load.consistency()
        await load.drain()
        await load.transcripts()
        load.running = False
    finally:
        for client in load.clients.values():
            await client.aclose()
    return load.rec


def _now_ms() -> int:
    return int(time.time() * 1000)


def _text(out: Outcome) -> str:
    if out.response is None:
        return out.failure or ""
    return out.response.text[:300]
