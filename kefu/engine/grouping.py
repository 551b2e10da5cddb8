"""Core rules every store runs: the catalogue and agents, and conversation grouping.

Grouping (events.md "Conversations"): a conversation opens at a buyer's first message when
none is open and closes after `store.session_timeout` without messages. An explicit
`conversation` field wins: such a conversation never times out; it ends with
`conversation.close`, another explicit id, or the end of the log.

Readings chosen where the contract is silent:
- A message exactly `session_timeout` after the previous one starts a new conversation
  (timers due at an event's time fire before it).
- A `transfer.click` with no open conversation opens one (the buyer pressed a still-visible
  button); `rating` attaches to the open or most recently closed conversation.
- Agent or bot messages with no open conversation open one: the first sender is recorded,
  so proactive (agent-first) conversations can be told apart.
"""

from __future__ import annotations

from kefu.engine import events as ev
from kefu.engine.actions import Action
from kefu.engine.core import Capability, Ctx
from kefu.engine.state import AgentState, Conversation, ProductState, StoreState, Timer

TIMEOUT = "conversation.timeout"


def _touch(st: StoreState, buyer: str, sender: str, conv_id: str | None, ctx: Ctx) -> Conversation:
    """The buyer's conversation for a message at ctx.now, opening one when needed."""
    conv = st.open.get(buyer)
    if conv is not None and conv_id is not None and conv.id != conv_id:
        conv = None  # a different explicit conversation begins: _open closes the old one
    elif conv is not None and conv_id is None and conv.explicit:
        pass  # an explicit conversation absorbs unlabelled messages of the same buyer
    if conv is None:
        conv = ctx.open_conversation(buyer, sender, conv_id)
        if not conv.explicit:
            ctx.schedule(
                f"{TIMEOUT}:{conv.id}",
                ctx.now + ctx.settings.store.ms("session_timeout"),
                TIMEOUT,
                buyer=buyer,
            )
    conv.last_message = ctx.now
    return conv


def on_message(st: StoreState, e: ev.Message, ctx: Ctx) -> list[Action] | None:
    """Attach the message to its conversation (opening one if needed)."""
    conv = _touch(st, e.buyer, e.sender, e.conversation, ctx)
    conv.messages += 1
    if e.sender == "buyer":
        conv.buyer_messages += 1
    ctx.conversation = conv
    return None


def on_buyer_event(st: StoreState, e: ev.TransferClick, ctx: Ctx) -> list[Action] | None:
    """A click belongs to the buyer's open conversation (or opens one)."""
    conv = st.open.get(e.buyer)
    if conv is None or (e.conversation is not None and conv.id != e.conversation):
        conv = _touch(st, e.buyer, "buyer", e.conversation, ctx)
    ctx.conversation = conv
    return None


def on_close(st: StoreState, e: ev.ConversationClose, ctx: Ctx) -> list[Action] | None:
    """`conversation.close` ends the buyer's open conversation."""
    conv = st.open.get(e.buyer)
    if conv is not None and (e.conversation is None or e.conversation == conv.id):
        ctx.conversation = conv
        ctx.close_conversation(conv, "close", e.agent)
    return None


def on_rating(st: StoreState, e: ev.Rating, ctx: Ctx) -> list[Action] | None:
    """A rating belongs to the open or the latest conversation of the buyer."""
    ctx.conversation = st.conversation_of(e.buyer)
    return None


def on_guide_view(st: StoreState, e: ev.GuideView, ctx: Ctx) -> list[Action] | None:
    """The agent's look at the guide panel belongs to the buyer's open conversation."""
    ctx.conversation = st.open.get(e.buyer)
    return None


def on_timeout(st: StoreState, timer: Timer, ctx: Ctx) -> list[Action] | None:
    """Close a conversation idle for `session_timeout`; re-arm when it saw messages since."""
    conv = st.open.get(timer.data["buyer"])
    if conv is None or timer.key != f"{TIMEOUT}:{conv.id}":
        return None
    due = conv.last_message + ctx.settings.store.ms("session_timeout")
    if due > ctx.now:
        ctx.schedule(timer.key, due, TIMEOUT, buyer=conv.buyer)
    else:
        ctx.conversation = conv
        ctx.close_conversation(conv, "timeout")
    return None


def on_product(st: StoreState, e: ev.Product, ctx: Ctx) -> list[Action] | None:
    """Catalogue upsert."""
    st.products[e.product] = ProductState(
        product=e.product,
        title=e.title,
        price=e.price,
        category=e.category,
        status=e.status,
        stock=e.stock,
        attrs=e.attrs,
        description=e.description,
        urge_text=e.urge_text,
    )
    return None


def agent_state(st: StoreState, agent: str) -> AgentState:
    """The agent's state, created on the fly for agents never declared."""
    a = st.agents.get(agent)
    if a is None:
        a = st.agents[agent] = AgentState(agent=agent)
    return a


def on_agent(st: StoreState, e: ev.Agent, ctx: Ctx) -> list[Action] | None:
    """Sub-account upsert; keeps the live status and load."""
    a = agent_state(st, e.agent)
    a.name = e.name
    a.role = e.role
    if e.groups is not None:
        a.groups = list(e.groups)
    if e.capacity is not None:
        a.capacity = e.capacity
    return None


def on_agent_status(st: StoreState, e: ev.AgentStatus, ctx: Ctx) -> list[Action] | None:
    """An agent goes online, busy or offline."""
    a = agent_state(st, e.agent)
    if a.status != e.status:
        a.status = e.status
        a.status_since = ctx.now
    return None


def on_message_event(st: StoreState, e: ev.Message, ctx: Ctx) -> list[Action] | None:
    """Group the message; an agent who speaks exists even if never declared."""
    on_message(st, e, ctx)
    if e.agent is not None and e.agent not in st.agents:
        agent_state(st, e.agent)
    return None


CAPABILITY = Capability(
    name="core",
    events={
        "message": on_message_event,
        "transfer.click": on_buyer_event,
        "conversation.close": on_close,
        "rating": on_rating,
        "guide.view": on_guide_view,
        "product": on_product,
        "agent": on_agent,
        "agent.status": on_agent_status,
    },
    timers={TIMEOUT: on_timeout},
)
