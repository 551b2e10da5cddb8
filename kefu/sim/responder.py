"""Stand-ins for the simulated agents in the live demo: they answer the demo's live buyers.

The simulated stream was written in advance, so its agents answer only the simulated buyers
(`s001-u17` …). A buyer typing in the demo shop's widget is someone the log knows nothing
about; without a stand-in, a simulated agent holding that chat would never reply. Here each
simulated agent answers such a buyer within its own simulated reply time (the log-normal
delay of `kefu.sim.agents.Agent.reply_delay`, drawn deterministically per round), as a
`message` event through the same door as everything else. Agents a person operates (the
workbench link the demo prints) are never answered for.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from datetime import date
from typing import Any

import msgspec

from kefu.conversations.rules import unanswered_since
from kefu.engine.state import StoreState
from kefu.sim.agents import Agent
from kefu.sim.calibrate import JD_KINDS
from kefu.sim.texts import AGENT, AGENT_HELLO

SIM_BUYER = re.compile(r"^s\d{3}-u\d+$")
_ENC = msgspec.json.Encoder()


def simulated_team(seed: int, buyers: int, index: int = 0) -> dict[str, Agent]:
    """The simulated store's team exactly as `kefu.sim.generate` builds it (by agent id)."""
    from kefu.sim.store import Store
    from kefu.sim.stream import Sink

    st = Store(index, seed, buyers, Sink(date(2026, 1, 1), 1), logged_bots=False)
    return {a.id: a for a in st.team if a.role != "assistant"}


def answer_text(question: str, agent: Agent, first: bool, rng: random.Random) -> str:
    """A simulated agent's reply to a live buyer's question (greeting on its first reply)."""
    kind = next((k for k, words in JD_KINDS.items() if any(w in question for w in words)), "other")
    # Lines that hold for any product: no blanks, no stock or fabric claims about this one.
    options = [t for t in AGENT.get(kind, AGENT["other"])
               if "{" not in t and "只剩" not in t and "面料" not in t]  # fmt: skip
    text = rng.choice(options or list(AGENT["other"]))
    if first:
        hello = AGENT_HELLO[1].format(name=agent.name.split(":")[-1])
        text = f"{hello}。{text}"
    return text


class Responder:
    """Decides, from the engine's state, which live buyers a simulated agent answers now."""

    def __init__(self, team: dict[str, Agent], operated: Iterable[str], seed: int = 1) -> None:
        self.team = team
        self.operated = set(operated)
        self.seed = seed
        self.delays: dict[tuple[str, int], int] = {}  # (conversation, round start) -> ms
        self.spoken: set[str] = set()  # conversations a stand-in already greeted in
        self.sent: set[tuple[str, int]] = set()

    def due(self, st: StoreState, now_ms: int) -> list[bytes]:
        """`message` event lines for every round whose simulated reply time has passed."""
        out: list[bytes] = []
        for conv in list(st.open.values()):
            agent = self.team.get(conv.agent or "")
            if not conv.human or agent is None or agent.id in self.operated:
                continue
            if SIM_BUYER.match(conv.buyer):
                continue  # the pre-written log answers simulated buyers
            since = unanswered_since(conv)
            if since is None:
                continue
            start = max(since, conv.assigned_at or since)
            key = (conv.id, start)
            if key in self.sent:
                continue
            rng = random.Random(f"{self.seed}:{conv.id}:{start}")
            delay = self.delays.get(key)
            if delay is None:
                delay = self.delays[key] = agent.reply_delay(rng, agent_load(st, agent)) * 1000
            if now_ms < start + delay:
                continue
            self.sent.add(key)
            first = conv.id not in self.spoken
            self.spoken.add(conv.id)
            text = answer_text(conv.last_text, agent, first, rng)
            event: dict[str, Any] = {
                "id": f"demo-reply-{conv.id}-{start}", "ts": now_ms, "type": "message",
                "store": st.store, "buyer": conv.buyer, "sender": "agent", "agent": agent.id,
                "text": text,
            }  # fmt: skip
            out.append(_ENC.encode(event))
        return out


def agent_load(st: StoreState, agent: Agent) -> int:
    """The engine's count of the agent's open conversations."""
    a = st.agents.get(agent.id)
    return a.open if a is not None else 0
