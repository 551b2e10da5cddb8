"""The read side of live conversations: lists by waiting time, transcripts, monitor numbers,
and the fan-out of committed events and actions to WebSocket topics.

Waiting time (the reading chosen for the workbench and the 3-minute rule on the monitor): a
conversation waits from the moment it was handed to a person (assigned or queued) or, after
that, from the buyer's first message not yet answered by an agent; an agent's message stops
the wait. `over_3min` is a wait of more than 180 s — the conversations now failing the
3-minute reply rule (metrics.md §3). Live state (who has which conversation, queues,
agents' load) comes from the engine, message times from the `messages` table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import msgspec
from sqlalchemy import select

from kefu.engine import events as ev
from kefu.engine.actions import Action
from kefu.engine.output import action_dict, format_ts
from kefu.realtime.hub import Hub, agent_topic, buyer_topic, monitor_topic
from kefu.runtime.service import EngineService
from kefu.storage import models

THREE_MIN_S = 180.0
BUYER_ACTIONS = ("bot.reply", "transfer.result", "assign", "urge.send", "conversation.closed",
                 "queue.leave")  # fmt: skip
STAFF_ACTIONS = (*BUYER_ACTIONS, "guide.panel", "urge.alert", "agent.notice")
# Never shown to a buyer (rules.md §4: urge.alert is internal; guide.panel is the agent's;
# agent.notice tells an agent a buyer they left unanswered moved on).
_TO_AGENT_ONLY = ("guide.panel", "urge.alert", "agent.notice")


@dataclass
class ConversationView:
    """One open human (or queued) conversation as the workbench lists it."""

    conversation: str
    buyer: str
    agent: str | None
    state: str  # assigned | queued
    group: str | None
    opened: str
    handed: str | None
    waiting_since: str | None
    waiting_s: float
    over_3min: bool
    pending: int
    queue_position: int | None
    last_text: str
    agent_name: str | None = None


def _live(service: EngineService, store: str) -> list[dict[str, Any]]:
    """Open conversations that are with a person or waiting for one (engine state, locked)."""
    with service.state_of(store) as st:
        if st is None:
            return []
        out = []
        positions: dict[str, int] = {}
        for q in st.queues.values():
            for i, e in enumerate(q, 1):
                positions[e.conversation] = i
        for c in st.open.values():
            if not (c.human or c.queued_at is not None):
                continue
            out.append({"id": c.id, "buyer": c.buyer, "agent": c.agent if c.human else None,
                        "queued": c.queued_at is not None and not c.human, "group": c.group,
                        "opened": c.opened, "handed": c.queued_at or c.assigned_at,
                        "assigned_at": c.assigned_at, "position": positions.get(c.id),
                        "last_text": c.last_text})  # fmt: skip
        return out


def open_conversations(
    service: EngineService, store: str, now: int, agent: str | None = None
) -> list[ConversationView]:
    """Open human/queued conversations (of `agent` if given), longest waiting first."""
    live = _live(service, store)
    if agent is not None:
        live = [c for c in live if c["agent"] == agent]
    times: dict[str, list[tuple[str, int]]] = {c["id"]: [] for c in live}
    ids = list(times)
    with service.sessions() as s:
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            q = select(models.Message.conversation, models.Message.sender, models.Message.ts_ms)
            q = q.where(
                models.Message.store == store,
                models.Message.conversation.in_(chunk),
                models.Message.sender.in_(("buyer", "agent")),
            )
            for conv, sender, ts in s.execute(q):
                times[str(conv)].append((sender, ts))
    tz = service.engine.settings(store).tz
    names = agent_names(service, store)
    views = []
    for c in live:
        handed = c["handed"] or c["opened"]
        msgs = times[c["id"]]
        last_agent = max((t for snd, t in msgs if snd == "agent"), default=None)
        if last_agent is not None and last_agent >= handed:
            pending = sorted(t for snd, t in msgs if snd == "buyer" and t > last_agent)
            since = pending[0] if pending else None
        else:  # handed over, no agent word yet: waiting since the hand-over
            pending = sorted(t for snd, t in msgs if snd == "buyer" and t > handed)
            since = handed
        waiting = max(0.0, (now - since) / 1000) if since is not None else 0.0
        views.append(ConversationView(
            conversation=c["id"], buyer=c["buyer"], agent=c["agent"],
            state="queued" if c["queued"] else "assigned", group=c["group"],
            opened=format_ts(c["opened"], tz), handed=format_ts(handed, tz),
            waiting_since=format_ts(since, tz) if since is not None else None,
            waiting_s=round(waiting, 3), over_3min=waiting > THREE_MIN_S, pending=len(pending),
            queue_position=c["position"], last_text=c["last_text"],
            agent_name=names.get(c["agent"] or "") if c["agent"] else None,
        ))  # fmt: skip
    views.sort(key=lambda v: (-v.waiting_s, v.opened, v.conversation))
    return views


def page(items: Sequence[Any], after: str | None, limit: int, key: str) -> tuple[list[Any], Any]:
    """Items following the one whose `key` is `after`; returns (page, next cursor or None)."""
    start = 0
    if after is not None:
        for i, it in enumerate(items):
            if str(getattr(it, key) if not isinstance(it, dict) else it[key]) == after:
                start = i + 1
                break
    chunk = list(items[start : start + limit])
    more = start + limit < len(items)
    last = chunk[-1] if chunk and more else None
    cursor = None if last is None else (last[key] if isinstance(last, dict) else getattr(last, key))
    return chunk, cursor


def monitor(service: EngineService, store: str, now: int) -> dict[str, Any]:
    """The supervisor's live numbers (rules.md §2 supervisor view, §5 3-minute failures)."""
    views = open_conversations(service, store, now)
    settings = service.engine.settings(store)
    from kefu.conversations.routing import capacity

    with service.state_of(store) as st:
        agents = list(st.agents.values()) if st is not None else []
        queues = {g or "default": len(q) for g, q in (st.queues.items() if st else []) if q}
        agent_rows: list[dict[str, Any]] = [
            {"agent": a.agent, "name": a.name, "status": a.status, "open": a.open,
             "capacity": capacity(a, settings), "groups": list(a.groups)}
            for a in agents if a.status != "offline" and a.role != "assistant"
        ]  # fmt: skip
    online = [a for a in agent_rows if a["status"] == "online"]
    total_cap = sum(a["capacity"] for a in online)
    assigned = sum(1 for v in views if v.state == "assigned")
    failing = [v for v in views if v.over_3min]
    return {
        "store": store,
        "at": format_ts(now, settings.tz),
        "pending_messages": sum(v.pending for v in views),
        "waiting_conversations": sum(1 for v in views if v.waiting_s > 0),
        "queue_length": sum(queues.values()),
        "queues": queues,
        "online_agents": len(online),
        "agents": agent_rows,
        "open_conversations": assigned,
        "total_capacity": total_cap,
        "saturation": round(assigned / total_cap, 4) if total_cap else None,
        "longest_wait_s": max((v.waiting_s for v in views), default=0.0),
        "failing_3min": [
            {
                "conversation": v.conversation,
                "buyer": v.buyer,
                "agent": v.agent,
                "waiting_s": v.waiting_s,
            }
            for v in failing
        ],
    }


def conversation_row(service: EngineService, store: str, conversation: str) -> Any:
    """The stored conversation row, or None (scoped to `store`)."""
    with service.sessions() as s:
        return s.get(models.Conversation, (store, conversation))


def transcript(
    service: EngineService, store: str, conversation: str, types: Sequence[str]
) -> list[dict[str, Any]]:
    """Messages and actions (of `types`) of one conversation, in time order.

    Item ids are `m<seq>` (messages) and `a<seq>` (actions): the `after` cursor of the API.
    Actions have no conversation column: they are matched on their payload's exact
    `"conversation":"<id>"` pair within the store and types (both indexed).
    """
    tz = service.engine.settings(store).tz
    needle = '"conversation":' + msgspec.json.encode(conversation).decode("utf-8")
    items: list[tuple[int, int, int, dict[str, Any]]] = []
    with service.sessions() as s:
        mq = select(models.Message).where(
            models.Message.store == store, models.Message.conversation == conversation
        )
        for m in s.scalars(mq.order_by(models.Message.seq).limit(5000)):
            items.append((m.ts_ms, 0, m.seq, {
                "id": f"m{m.seq}", "type": "message", "ts": format_ts(m.ts_ms, tz),
                "sender": m.sender, "agent": m.agent, "text": m.text, "product": m.product,
                "products": m.products, "attachments": m.attachments,
            }))  # fmt: skip
        aq = select(models.Action.seq, models.Action.ts_ms, models.Action.payload).where(
            models.Action.store == store,
            models.Action.type.in_(list(types)),
            models.Action.payload.contains(needle, autoescape=True),
        )
        for seq, ts, payload in s.execute(aq.order_by(models.Action.seq).limit(5000)):
            doc = msgspec.json.decode(payload)
            doc["ts"] = format_ts(ts, tz)
            items.append((ts, 1, seq, {"id": f"a{seq}", **doc}))
    items.sort(key=lambda t: (t[0], t[1], t[2]))
    names = agent_names(service, store)
    for _, _, _, doc in items:
        for field in ("agent", "sender", "to_agent"):
            who = doc.get(field)
            if isinstance(who, str) and who in names:
                doc[f"{field}_name"] = names[who]
    return [t[3] for t in items]


def agent_names(service: EngineService, store: str) -> dict[str, str]:
    """Display names of the store's staff accounts (id → name; the id when it has none)."""
    with service.state_of(store) as st:
        return {a.agent: a.name or a.agent for a in st.agents.values()} if st else {}


def store_display_name(service: EngineService, stored: str | None, store: str) -> str:
    """The store's name: its own, else the shop its sub-accounts are named after (山野茶坊:小宇,
    the platform's convention), else the id."""
    if stored and stored != store:
        return stored
    shops = [n.split(":")[0] for n in agent_names(service, store).values() if ":" in n]
    return max(sorted(set(shops)), key=shops.count) if shops else store


def nickname(name: str) -> str:
    """What a buyer sees of a sub-account name: 山野茶坊:小宇 → 小宇 (the shop is implied)."""
    return name.split(":")[-1].strip() or name


def buyer_state(service: EngineService, store: str, buyer: str) -> dict[str, Any]:
    """The buyer's conversation as the widget header shows it, decided on the server.

    `state`: `agent` (a person serves it), `queued` (with `position`, 1 = next), `bot`, or
    `closed`/`none`. `agent_name` is the serving person's nickname, never an account id.
    """
    with service.state_of(store) as st:
        conv = st.conversation_of(buyer) if st is not None else None
        if st is None or conv is None:
            return {"conversation": None, "state": "none", "agent_name": None, "position": None}
        from kefu.conversations.routing import position

        open_ = conv.closed is None and st.open.get(buyer) is conv
        agent = st.agents.get(conv.agent) if conv.human and conv.agent else None
        if not open_:
            state = "closed"
        elif conv.human:
            state = "agent"
        elif conv.queued_at is not None:
            state = "queued"
        else:
            state = "bot"
        return {
            "conversation": conv.id,
            "state": state,
            "agent_name": nickname(agent.name or agent.agent) if agent and open_ else None,
            "position": position(st, conv) if state == "queued" else None,
        }


def buyer_conversation(service: EngineService, store: str, buyer: str) -> str | None:
    """The buyer's open conversation, else their latest one."""
    with service.state_of(store) as st:
        if st is not None:
            conv = st.conversation_of(buyer)
            if conv is not None:
                return conv.id
    with service.sessions() as s:
        q = select(models.Conversation.conversation).where(
            models.Conversation.store == store, models.Conversation.buyer == buyer
        )
        return s.scalars(q.order_by(models.Conversation.opened_ms.desc()).limit(1)).first()


def open_conversation_of(service: EngineService, store: str, conversation: str) -> Any:
    """The engine's open conversation with this id (None when closed or unknown)."""
    with service.state_of(store) as st:
        if st is None:
            return None
        for c in st.open.values():
            if c.id == conversation:
                return msgspec.structs.replace(c)
    return None


# -- fan-out ---------------------------------------------------------------------------------


class Fanout:
    """After each commit: messages and actions to the buyer, agent and monitor topics.

    Runs under the engine lock, so the conversation's agent is the one right after the batch.
    Agent-only actions (`guide.panel`, `urge.alert`) never go to a buyer topic.
    """

    def __init__(self, service: EngineService, hub: Hub) -> None:
        self.service = service
        self.hub = hub

    def __call__(self, actions: list[Action], events: list[ev.Event]) -> None:
        engine = self.service.engine
        touched: set[str] = set()
        for e in events:
            touched.add(e.store)
            if not isinstance(e, ev.Message):
                continue
            with self.service.state_of(e.store) as st:  # called under the lock: re-entrant
                conv = st.conversation_of(e.buyer) if st else None
            tz = engine.settings(e.store).tz
            msg = {"type": "message", "ts": format_ts(e.at, tz), "store": e.store,
                   "buyer": e.buyer, "conversation": conv.id if conv else e.conversation,
                   "sender": e.sender, "agent": e.agent, "text": e.text, "product": e.product,
                   "products": e.products,
                   "attachments": msgspec.to_builtins(e.attachments) if e.attachments else None,
                   }  # fmt: skip
            self.hub.publish(buyer_topic(e.store, e.buyer), msg)
            owner = conv.agent if conv is not None and conv.human else None
            for who in {x for x in (owner, e.agent) if x}:
                self.hub.publish(agent_topic(e.store, who), msg)
        for act in actions:
            touched.add(act.store)
            doc = action_dict(act, engine.settings(act.store).tz)
            kind = doc["type"]
            buyer = getattr(act, "buyer", None)
            agent = getattr(act, "agent", None)
            if kind in BUYER_ACTIONS and buyer:
                self.hub.publish(buyer_topic(act.store, buyer), doc)
            if kind in _TO_AGENT_ONLY or kind in ("assign", "conversation.closed"):
                if agent:
                    self.hub.publish(agent_topic(act.store, str(agent)), doc)
            elif kind == "transfer.result" and buyer:
                with self.service.state_of(act.store) as st:
                    conv = st.open.get(buyer) if st else None
                if conv is not None and conv.human and conv.agent:
                    self.hub.publish(agent_topic(act.store, conv.agent), doc)
            self.hub.publish(monitor_topic(act.store), doc)
        for store in touched:
            self.hub.publish(monitor_topic(store), {"type": "monitor.changed", "store": store})


def view_dict(v: ConversationView) -> dict[str, Any]:
    """A conversation view as JSON."""
    return asdict(v)


def store_name(service: EngineService, store: str) -> str:
    """What people see of a store: its own name, else the shop its sub-accounts are named
    after (山野茶坊:小宇), else the id."""
    from kefu.storage.models import Store

    with service.sessions() as s:
        row = s.get(Store, store)
    return store_display_name(service, row.name if row is not None else None, store)
