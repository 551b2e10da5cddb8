"""Response bodies of the conversation endpoints (kefu.conversations.api, search_api).

The pages keep the shape of `kefu.conversations.api.Page` (`items`, `next_after`) with their
items typed.
"""

from __future__ import annotations

from typing import Any, Literal

from kefu.api.schemas import ApiModel, Num, Sparse


class ConversationView(ApiModel):
    """An open conversation with a person (`assigned`) or waiting for one (`queued`)."""

    conversation: str
    buyer: str
    agent: str | None
    state: Literal["assigned", "queued"]
    group: str | None
    opened: str
    handed: str | None
    waiting_since: str | None
    waiting_s: Num
    over_3min: bool
    pending: int
    queue_position: int | None
    last_text: str
    agent_name: str | None


class ConversationPage(ApiModel):
    """Open conversations, longest waiting first; `next_after` pages on (null: the last)."""

    items: list[ConversationView]
    next_after: str | None = None


class TranscriptItem(Sparse):
    """A message (`m<seq>`, type `message`) or an action (`a<seq>`, its action type) of a
    conversation, with the fields of its type (events.md); names of staff ids are added as
    `<field>_name`."""

    id: str
    type: str
    ts: str
    sender: str | None = None
    agent: str | None = None
    agent_name: str | None = None
    sender_name: str | None = None
    text: str | None = None
    product: str | None = None
    products: list[str] | None = None
    attachments: list[dict[str, Any]] | None = None
    conversation: str | None = None
    buyer: str | None = None
    outcome: str | None = None
    position: int | None = None
    reason: str | None = None
    transfer_button: bool | None = None
    intent: Num | None = None
    waited_s: Num | None = None


class TranscriptPage(ApiModel):
    """A page of a transcript, in time order; `next_after` pages on (null: the last)."""

    items: list[TranscriptItem]
    next_after: str | None = None


class NoteOut(Sparse):
    """A private note (`created` in lists; just added: id, agent and text)."""

    id: str
    agent: str | None
    text: str
    created: str | None = None


class NotePage(ApiModel):
    """Private notes, oldest first."""

    items: list[NoteOut]
    next_after: str | None = None


class SearchHit(ApiModel):
    """A conversation found: who, its status, when, how many messages and a snippet."""

    conversation: str
    buyer: str
    agent: str | None
    agent_name: str | None
    status: str
    opened: str
    closed: str | None
    messages: int
    snippet: str


class SearchPage(ApiModel):
    """Conversations found, newest first; `next_after` pages on (null: the last)."""

    items: list[SearchHit]
    next_after: str | None = None


class BuyerState(ApiModel):
    """Who serves the buyer now: `state` agent, queued, bot, closed or none; the person's
    nickname and the queue position (1 = next)."""

    conversation: str | None
    state: str
    agent_name: str | None
    position: int | None
    store_name: str


class MonitorAgent(ApiModel):
    """An agent on the monitor: status, open conversations, capacity, groups."""

    agent: str
    name: str
    status: str
    open: int
    capacity: int
    groups: list[str]


class Failing(ApiModel):
    """A conversation failing the 3-minute rule now."""

    conversation: str
    buyer: str
    agent: str | None
    waiting_s: Num


class Monitor(ApiModel):
    """The supervisor's live numbers of the store."""

    store: str
    at: str
    pending_messages: int
    waiting_conversations: int
    queue_length: int
    queues: dict[str, int]
    online_agents: int
    agents: list[MonitorAgent]
    open_conversations: int
    total_capacity: int
    saturation: Num | None
    longest_wait_s: Num
    failing_3min: list[Failing]
