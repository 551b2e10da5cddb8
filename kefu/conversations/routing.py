"""Routing and the queue (rules.md §2): who gets a conversation that needs a person.

Preference, one small step each: the buyer's last agent (within `sticky_hours`, online, with
free capacity); then the least-loaded online agent of the matching skill group (分流 by
keyword or product category), ties by longest idle (earliest last assignment), then id.
Nobody free: queue FIFO per group when queueing is on. The queue drains whenever capacity
frees — a closed conversation, an agent coming online, a capacity raise.

`busy` agents are logged in but take no new conversations: with everyone busy or full the
buyer queues; with everyone offline the transfer fails.

Reply timeout (`routing.reassign_after`): a buyer left unanswered that long by the person
serving them moves to a colleague of the group with free capacity (`assign`, reason
`reassign:timeout`), or to the head of the group's queue when nobody else is free; the first
agent gets an `agent.notice` (a project action: internal, never shown to the buyer). A queued
buyer who was already waiting keeps the head: their wait started before anyone else's.
"""

from __future__ import annotations

from kefu.engine.actions import Action, Assign, QueueLeave, TransferResult
from kefu.engine.core import Ctx
from kefu.engine.settings import Settings
from kefu.engine.state import AgentState, Conversation, QueueEntry, StoreState

HOUR_MS = 3_600_000
REASSIGN_TIMEOUT = "reassign:timeout"


class AgentNotice(Action, tag="agent.notice", kw_only=True):
    """Project addition: an internal notice to the person `agent` (never shown to the buyer).

    `reason` `reassign:timeout`: the buyer waited `waited_s` for this agent's reply and moved
    to `to_agent` (None: to the head of the group's queue).
    """

    buyer: str
    conversation: str
    agent: str
    reason: str
    to_agent: str | None = None
    waited_s: float = 0.0


def capacity(agent: AgentState, settings: Settings) -> int:
    """The agent's max concurrent conversations."""
    return agent.capacity if agent.capacity is not None else settings.routing.default_capacity


def serves(agent: AgentState) -> bool:
    """Human agents and supervisors take conversations; the assistant (bot) account does not."""
    return agent.role != "assistant"


def pick_group(conv: Conversation, st: StoreState, settings: Settings) -> str:
    """The skill group for this conversation by the store's 分流 rules ("" = everyone)."""
    text = conv.last_text.lower()
    product = st.products.get(conv.last_product) if conv.last_product else None
    category = product.category if product is not None else ""
    for rule in settings.routing.rules:
        if category and category in rule.categories:
            return rule.group
        if any(k.lower() in text for k in rule.keywords if k):
            return rule.group
    return ""


def members(st: StoreState, group: str) -> list[AgentState]:
    """Agents of `group`; everyone when the group is "" or has no member at all."""
    agents = [a for a in st.agents.values() if serves(a)]
    if not group:
        return agents
    in_group = [a for a in agents if group in a.groups]
    return in_group or agents


def free_agent(
    st: StoreState, group: str, settings: Settings, exclude: str | None = None
) -> AgentState | None:
    """The least-loaded online agent of the group with spare capacity, ties by longest idle."""
    best: AgentState | None = None
    for a in members(st, group):
        if a.status != "online" or a.open >= capacity(a, settings) or a.agent == exclude:
            continue
        if best is None or (a.open, a.last_assigned, a.agent) < (
            best.open,
            best.last_assigned,
            best.agent,
        ):
            best = a
    return best


def sticky_agent(st: StoreState, buyer: str, now: int, settings: Settings) -> AgentState | None:
    """The buyer's last agent if served within `sticky_hours` and free now."""
    last = st.last_agent.get(buyer)
    if last is None:
        return None
    agent_id, when = last
    if now - when > settings.routing.sticky_hours * HOUR_MS:
        return None
    a = st.agents.get(agent_id)
    if a is None or a.status != "online" or a.open >= capacity(a, settings) or not serves(a):
        return None
    return a


def assign(st: StoreState, conv: Conversation, agent: AgentState, now: int, reason: str) -> Assign:
    """Give `conv` to `agent`: counts its load, leaves the queue, remembers the last agent."""
    if conv.human and conv.agent is not None and conv.agent != agent.agent:
        release(st, conv)
    leave_queue(st, conv)
    conv.human = True
    conv.agent = agent.agent
    conv.assigned_at = now
    agent.open += 1
    agent.last_assigned = now
    st.last_agent[conv.buyer] = (agent.agent, now)
    return Assign(ts=now, store=st.store, buyer=conv.buyer, conversation=conv.id,
                  agent=agent.agent, reason=reason)  # fmt: skip


def release(st: StoreState, conv: Conversation) -> None:
    """Free the capacity `conv` held on its agent."""
    if conv.human and conv.agent is not None:
        a = st.agents.get(conv.agent)
        if a is not None and a.open > 0:
            a.open -= 1


def leave_queue(st: StoreState, conv: Conversation) -> int | None:
    """Take `conv` out of its queue; returns when it had joined."""
    if conv.queued_at is None:
        return None
    since = conv.queued_at
    q = st.queues.get(conv.group or "", [])
    st.queues[conv.group or ""] = [e for e in q if e.conversation != conv.id]
    conv.queued_at = None
    return since


def result(
    st: StoreState,
    conv: Conversation,
    now: int,
    outcome: str,
    agent: str | None = None,
    position: int | None = None,
    text: str | None = None,
) -> TransferResult:
    """A `transfer.result` action for `conv`."""
    return TransferResult(ts=now, store=st.store, buyer=conv.buyer, conversation=conv.id,
                          outcome=outcome, agent=agent, position=position, text=text)  # fmt: skip


def enqueue(st: StoreState, conv: Conversation, group: str, now: int, queue_text: str) -> Action:
    """Put `conv` at the back of `group`'s queue; the result carries its position."""
    q = st.queues.setdefault(group, [])
    q.append(QueueEntry(conv.buyer, conv.id, now))
    conv.group = group or None
    conv.queued_at = now
    pos = len(q)
    return result(st, conv, now, "queued", position=pos,
                  text=queue_text.replace("{position}", str(pos)))  # fmt: skip


def route(st: StoreState, conv: Conversation, ctx: Ctx, trigger: str) -> list[Action]:
    """Find a person for `conv`: assigned, queued (with position) or failed."""
    settings, now = ctx.settings, ctx.now
    h = settings.handoff
    group = pick_group(conv, st, settings)
    conv.group = group or None
    agent = sticky_agent(st, conv.buyer, now, settings)
    reason = "last_agent"
    if agent is None:
        agent = free_agent(st, group, settings)
        reason = "least_loaded"
    if agent is not None:
        a = assign(st, conv, agent, now, f"{trigger}:{reason}")
        return [result(st, conv, now, "assigned", agent=agent.agent), a]
    anyone_on = any(a.status != "offline" for a in members(st, group))
    if not anyone_on:
        return [result(st, conv, now, "failed", text=h.offline_text)]
    if not h.queue:
        return [result(st, conv, now, "failed", text=h.full_text)]
    return [enqueue(st, conv, group, now, h.queue_text)]


def position(st: StoreState, conv: Conversation) -> int | None:
    """1-based place of `conv` in its queue, if queued."""
    if conv.queued_at is None:
        return None
    for i, e in enumerate(st.queues.get(conv.group or "", []), 1):
        if e.conversation == conv.id:
            return i
    return None


def drain(st: StoreState, ctx: Ctx) -> list[Action]:
    """Assign queued buyers, longest-waiting first, while some agent of their group is free."""
    out: list[Action] = []
    while True:
        best: tuple[int, str, QueueEntry, AgentState] | None = None
        for group, q in st.queues.items():
            if not q:
                continue
            head = q[0]
            agent = free_agent(st, group, ctx.settings)
            if agent is not None and (best is None or (head.since, group) < (best[0], best[1])):
                best = (head.since, group, head, agent)
        if best is None:
            return out
        _, group, head, agent = best
        conv = st.open.get(head.buyer)
        if conv is None or conv.id != head.conversation:
            st.queues[group].pop(0)  # stale entry: the conversation already ended
            continue
        out.append(assign(st, conv, agent, ctx.now, "queue"))


def queue_leave_action(st: StoreState, conv: Conversation, now: int, reason: str) -> QueueLeave:
    """Record a buyer leaving the queue without a person."""
    group = conv.group or ""
    since = leave_queue(st, conv) or now
    return QueueLeave(ts=now, store=st.store, buyer=conv.buyer, conversation=conv.id,
                      group=group, waited_s=(now - since) / 1000, reason=reason)  # fmt: skip


def enqueue_first(st: StoreState, conv: Conversation, group: str, now: int) -> None:
    """Put `conv` at the head of `group`'s queue (its wait began before the others')."""
    q = st.queues.setdefault(group, [])
    q.insert(0, QueueEntry(conv.buyer, conv.id, now))
    conv.group = group or None
    conv.queued_at = now


def reassign(st: StoreState, conv: Conversation, ctx: Ctx, waited_ms: int) -> list[Action]:
    """Reply timeout: move `conv` from its silent agent to a colleague, else to the queue head.

    The first agent's capacity is released before the colleague's is taken, so the
    conversation is never held by two agents; the first agent is told (`agent.notice`).
    """
    first = conv.agent
    if not conv.human or first is None:
        return []
    group = conv.group or ""
    target = free_agent(st, group, ctx.settings, exclude=first)
    out: list[Action] = []
    if target is not None:
        out.append(assign(st, conv, target, ctx.now, REASSIGN_TIMEOUT))
    else:
        release(st, conv)
        conv.human = False
        conv.agent = None
        enqueue_first(st, conv, group, ctx.now)
        text = ctx.settings.handoff.queue_text.replace("{position}", "1")
        out.append(result(st, conv, ctx.now, "queued", position=1, text=text))
    out.append(AgentNotice(ts=ctx.now, store=st.store, buyer=conv.buyer, conversation=conv.id,
                           agent=first, reason=REASSIGN_TIMEOUT,
                           to_agent=target.agent if target is not None else None,
                           waited_s=waited_ms / 1000))  # fmt: skip
    return out
