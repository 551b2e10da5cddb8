"""Live conversations over REST + WebSocket: buyers, agents, supervisors (rules.md §1, §2, §5).

Writes become events (`message`, `transfer.click`, `agent.status`, `agent`,
`conversation.close`, `transfer`) ingested with the server's time; the engine decides, and
the commit fans out to WebSocket topics (`Fanout`). Typing indicators and read receipts are
ephemeral hub messages, never events. Quick replies and private notes are plain rows.

Every staff route sits under `/api/v1/stores/{store}` and answers 404 for a token of another
store; buyer routes take the store and buyer from the buyer's signed token.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, WebSocket
from fastapi import Path as PathParam
from fastapi.websockets import WebSocketDisconnect
from pydantic import BaseModel, Field
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from kefu.accounts.models import Note, QuickReply
from kefu.accounts.tokens import Principal
from kefu.api.deps import FORBIDDEN, NOT_FOUND, UNAUTHORIZED, buyer, staff, ws_principal
from kefu.conversations import service as live
from kefu.conversations.schemas import (
    BuyerState,
    ConversationPage,
    ConversationView,
    Monitor,
    NoteOut,
    NotePage,
    TranscriptPage,
)
from kefu.engine.output import action_dict, format_ts
from kefu.realtime.hub import Hub, agent_topic, buyer_topic, monitor_topic
from kefu.runtime.service import EngineService, IngestResult
from kefu.storage.repo import wall_ms

buyer_router = APIRouter(prefix="/api/v1/buyer", tags=["buyer"])
staff_router = APIRouter(prefix="/api/v1/stores/{store}", tags=["agents"])
ws_router = APIRouter(tags=["websocket"])

AUTH = {**UNAUTHORIZED, **FORBIDDEN, **NOT_FOUND}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "The conversation is closed or not yours", "content": {
        "application/json": {"example": {"detail": "conversation is closed"}}}},
}  # fmt: skip
INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "The request breaks the event contract", "content": {
        "application/json": {"example": {"detail": "text or product is required"}}}},
}  # fmt: skip


# -- models ----------------------------------------------------------------------------------


class MessageIn(BaseModel):
    """A chat message: text, one product card, or several cards at once."""

    text: str = Field("", max_length=20_000)
    product: str | None = Field(None, max_length=256)
    products: list[str] | None = None


class Posted(BaseModel):
    """What a write did: the conversation and the actions it produced for this audience."""

    conversation: str | None
    actions: list[dict[str, Any]] = Field(
        description="Actions of this commit shown to the caller (bot.reply, transfer.result…)",
        examples=[[{"type": "bot.reply", "text": "亲，欢迎光临…", "transfer_button": True}]],
    )


class Page(BaseModel):
    """A page of items; pass `next_after` as `after` for the next page (null: last page)."""

    items: list[dict[str, Any]]
    next_after: str | None = None


class StatusIn(BaseModel):
    """An agent's status."""

    status: Literal["online", "busy", "offline"]


class ProfileIn(BaseModel):
    """An agent's capacity, skill groups and display name (an `agent` upsert)."""

    capacity: int = Field(ge=0, le=1000)
    groups: list[str] | None = None
    name: str | None = None


class TransferIn(BaseModel):
    """Hand the conversation to a colleague or to a skill group (exactly one)."""

    to_agent: str | None = None
    to_group: str | None = None


class NoteIn(BaseModel):
    """A private note (never shown to the buyer)."""

    text: str = Field(min_length=1, max_length=20_000)


class QuickReplyIn(BaseModel):
    """A quick reply: `scope` store (supervisors/admins) or mine (the caller's own)."""

    shortcut: str = Field(min_length=1, max_length=32, examples=["/hi"])
    text: str = Field(min_length=1, max_length=20_000)
    scope: Literal["store", "mine"] = "mine"


class QuickReplyOut(BaseModel):
    """A stored quick reply."""

    id: int
    shortcut: str
    text: str
    scope: Literal["store", "mine"]


class Signal(BaseModel):
    """An ephemeral signal: typing on/off, or read up to a transcript item id."""

    typing: bool | None = None
    read_up_to: str | None = None


# -- helpers ---------------------------------------------------------------------------------


def _service(request: Request) -> EngineService:
    svc: EngineService = request.app.state.service
    return svc


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


async def _emit(svc: EngineService, event: dict[str, Any]) -> IngestResult:
    """Ingest one event stamped with the server's time; 422 with the reason if refused."""
    event.setdefault("ts", svc.clock.now())
    event.setdefault("id", f"api-{uuid.uuid4().hex}")
    result = await asyncio.to_thread(svc.ingest, [event])
    if result.rejected:
        r = result.rejected[0]
        raise HTTPException(422, f"{r.field}: {r.reason}")
    return result


def _shown(svc: EngineService, result: IngestResult, buyer_id: str, types: tuple[str, ...]) -> Any:
    tz = svc.engine.settings
    return [
        action_dict(a, tz(a.store).tz)
        for a in result.actions
        if getattr(a, "buyer", None) == buyer_id and str(a.__struct_config__.tag) in types
    ]


def _message_event(store: str, buyer_id: str, body: MessageIn, sender: str,
                   agent: str | None = None) -> dict[str, Any]:  # fmt: skip
    if not body.text and not body.product and not body.products:
        raise HTTPException(422, "text or product is required")
    ev: dict[str, Any] = {"type": "message", "store": store, "buyer": buyer_id,
                          "sender": sender, "text": body.text}  # fmt: skip
    if agent is not None:
        ev["agent"] = agent
    if body.product:
        ev["product"] = body.product
    if body.products:
        ev["products"] = body.products
    return ev


def _owned(svc: EngineService, store: str, conversation: str) -> Any:
    row = live.conversation_row(svc, store, conversation)
    if row is None:
        raise HTTPException(404, "not found")
    return row


def _writable(svc: EngineService, p: Principal, conversation: str) -> Any:
    """The open conversation the caller may act on: 409 if closed or another agent's."""
    _owned(svc, p.store, conversation)
    conv = live.open_conversation_of(svc, p.store, conversation)
    if conv is None:
        raise HTTPException(409, "conversation is closed")
    if not p.at_least("supervisor") and conv.agent != p.agent:
        raise HTTPException(409, "conversation is not assigned to you")
    return conv


def _engine_role(p: Principal) -> str:
    return "agent" if p.role == "agent" else "supervisor"


# -- buyer -----------------------------------------------------------------------------------


@buyer_router.post("/messages", summary="Send text or a product card", response_model=Posted,
                   responses={**UNAUTHORIZED, **FORBIDDEN, **INVALID})  # fmt: skip
async def buyer_send(body: MessageIn, request: Request, p: Principal = Depends(buyer)) -> Any:
    """A buyer `message`; the reply is the bot's `bot.reply` (with the 转人工 button on the
    first reply when the buyer is in the rollout) or a transfer result for words like 人工."""
    svc = _service(request)
    assert p.buyer is not None
    result = await _emit(svc, _message_event(p.store, p.buyer, body, "buyer"))
    conv = live.buyer_conversation(svc, p.store, p.buyer)
    return Posted(conversation=conv, actions=_shown(svc, result, p.buyer, live.BUYER_ACTIONS))


@buyer_router.post("/transfer", summary="Press 转人工 / talk to a person", response_model=Posted,
                   responses={**UNAUTHORIZED, **FORBIDDEN})  # fmt: skip
async def buyer_transfer(request: Request, p: Principal = Depends(buyer)) -> Any:
    """A `transfer.click`: `transfer.result` assigned / queued (with `position`) / failed
    (with the store's text) / ignored, plus `assign` when a person takes it."""
    svc = _service(request)
    assert p.buyer is not None
    ev = {"type": "transfer.click", "store": p.store, "buyer": p.buyer}
    result = await _emit(svc, ev)
    conv = live.buyer_conversation(svc, p.store, p.buyer)
    return Posted(conversation=conv, actions=_shown(svc, result, p.buyer, live.BUYER_ACTIONS))


@buyer_router.get("/transcript", summary="The buyer's own transcript",
                  response_model=TranscriptPage,
                  responses={**UNAUTHORIZED, **FORBIDDEN, **NOT_FOUND})  # fmt: skip
def buyer_transcript(
    request: Request,
    p: Principal = Depends(buyer),
    conversation: str | None = Query(None, description="Default: the open or latest one."),
    after: str | None = Query(None, description="Item id of the previous page's last item."),
    limit: int = Query(100, ge=1, le=1000),
) -> Any:
    """Messages, bot replies and transfer results of one of the buyer's conversations."""
    svc = _service(request)
    assert p.buyer is not None
    conv = conversation or live.buyer_conversation(svc, p.store, p.buyer)
    if conv is None:
        return Page(items=[])
    row = live.conversation_row(svc, p.store, conv)
    if row is None or row.buyer != p.buyer:
        raise HTTPException(404, "not found")
    items = live.transcript(svc, p.store, conv, live.BUYER_ACTIONS)
    chunk, cursor = live.page(items, after, limit, "id")
    return Page(items=chunk, next_after=cursor)


@buyer_router.get("/state", summary="Who serves the buyer now (the widget header)",
                  response_model=BuyerState, responses={**UNAUTHORIZED, **FORBIDDEN})  # fmt: skip
def buyer_state(request: Request, p: Principal = Depends(buyer)) -> Any:
    """`state` agent / queued / bot / closed / none, the serving person's nickname and the
    queue position (1 = next): the widget re-reads it after every assign, queue, transfer and
    reassignment instead of replaying the transcript's history."""
    from kefu.conversations.service import store_name

    svc = _service(request)
    assert p.buyer is not None
    return {**live.buyer_state(svc, p.store, p.buyer), "store_name": store_name(svc, p.store)}


@buyer_router.post("/signal", summary="Typing indicator / read receipt (ephemeral)",
                   status_code=204, responses={**UNAUTHORIZED, **FORBIDDEN})  # fmt: skip
def buyer_signal(body: Signal, request: Request, p: Principal = Depends(buyer)) -> None:
    """Sent to the agent who has the conversation; not stored, not an event."""
    assert p.buyer is not None
    _buyer_signal(_service(request), _hub(request), p, body.model_dump(exclude_none=True))


def _buyer_signal(svc: EngineService, hub: Hub, p: Principal, data: dict[str, Any]) -> None:
    assert p.buyer is not None
    with svc.state_of(p.store) as st:
        conv = st.open.get(p.buyer) if st else None
        agent = conv.agent if conv is not None and conv.human else None
        conv_id = conv.id if conv is not None else None
    if agent is None:
        return
    msg = {"type": "typing" if "typing" in data else "read", "from": "buyer", "buyer": p.buyer,
           "conversation": conv_id, "typing": data.get("typing"),
           "read_up_to": data.get("read_up_to")}  # fmt: skip
    hub.publish(agent_topic(p.store, agent), msg)


# -- agents ----------------------------------------------------------------------------------


@staff_router.put("/me/status", summary="Set my status (online, busy, offline)",
                  response_model=Posted, responses=AUTH)  # fmt: skip
async def set_status(
    body: StatusIn, store: str, request: Request, p: Principal = Depends(staff())
) -> Any:
    """An `agent.status`; going online may drain the queue (its `assign`s are returned)."""
    svc = _service(request)
    res = await _emit(svc, {"type": "agent.status", "store": store, "agent": p.agent,
                            "status": body.status})  # fmt: skip
    tz = svc.engine.settings(store).tz
    return Posted(conversation=None, actions=[action_dict(a, tz) for a in res.actions])


@staff_router.put("/me/profile", summary="Set my capacity, groups and name",
                  response_model=Posted, responses={**AUTH, **INVALID})  # fmt: skip
async def set_profile(
    body: ProfileIn, store: str, request: Request, p: Principal = Depends(staff())
) -> Any:
    """An `agent` upsert keeping what is not given; a capacity raise may drain the queue."""
    svc = _service(request)
    assert p.agent is not None
    with svc.state_of(store) as st:
        cur = st.agents.get(p.agent) if st else None
        name = cur.name if cur else ""
        groups = list(cur.groups) if cur else []
    ev = {"type": "agent", "store": store, "agent": p.agent, "role": _engine_role(p),
          "name": body.name if body.name is not None else name,
          "groups": body.groups if body.groups is not None else groups,
          "capacity": body.capacity}  # fmt: skip
    res = await _emit(svc, ev)
    tz = svc.engine.settings(store).tz
    return Posted(conversation=None, actions=[action_dict(a, tz) for a in res.actions])


@staff_router.get("/conversations", summary="Open conversations, longest waiting first",
                  response_model=ConversationPage, responses=AUTH)  # fmt: skip
def list_conversations(
    store: str,
    request: Request,
    p: Principal = Depends(staff()),
    scope: Literal["mine", "all"] = Query("mine", description="`all` needs supervisor."),
    after: str | None = Query(None, description="Conversation id ending the previous page."),
    limit: int = Query(50, ge=1, le=500),
) -> Any:
    """Assigned and queued conversations with `waiting_s`, `over_3min`, `pending` (unanswered
    buyer messages) and queue position. Agents see their own; supervisors may ask `all`."""
    if scope == "all" and not p.at_least("supervisor"):
        raise HTTPException(403, "needs role supervisor or above")
    svc = _service(request)
    views = live.open_conversations(svc, store, svc.clock.now(),
                                    agent=p.agent if scope == "mine" else None)  # fmt: skip
    chunk, cursor = live.page(views, after, limit, "conversation")
    return Page(items=[live.view_dict(v) for v in chunk], next_after=cursor)


@staff_router.get("/conversations/longest", summary="The longest-waiting conversation (hotkey)",
                  response_model=ConversationView, responses=AUTH)  # fmt: skip
def longest(store: str, request: Request, p: Principal = Depends(staff())) -> Any:
    """The caller's conversation that has waited longest; 404 when none is waiting."""
    svc = _service(request)
    views = live.open_conversations(svc, store, svc.clock.now(), agent=p.agent)
    waiting = [v for v in views if v.waiting_s > 0]
    if not waiting:
        raise HTTPException(404, "no conversation is waiting")
    return live.view_dict(waiting[0])


@staff_router.get("/conversations/{conversation}/transcript", summary="A conversation's transcript",
                  response_model=TranscriptPage, responses=AUTH)  # fmt: skip
def staff_transcript(
    store: str,
    conversation: str,
    request: Request,
    p: Principal = Depends(staff()),
    after: str | None = Query(None, description="Item id ending the previous page."),
    limit: int = Query(200, ge=1, le=1000),
) -> Any:
    """Messages and every action of the conversation (bot replies, transfers, assignments,
    guide panels, urges), in time order."""
    svc = _service(request)
    _owned(svc, store, conversation)
    items = live.transcript(svc, store, conversation, live.STAFF_ACTIONS)
    chunk, cursor = live.page(items, after, limit, "id")
    return Page(items=chunk, next_after=cursor)


@staff_router.post("/conversations/{conversation}/messages", summary="Send text or product cards",
                   response_model=Posted, responses={**AUTH, **CONFLICT, **INVALID})  # fmt: skip
async def agent_send(
    store: str, conversation: str, body: MessageIn, request: Request,
    p: Principal = Depends(staff()),
) -> Any:  # fmt: skip
    """A `message` with sender `agent` in one of the caller's open conversations."""
    svc = _service(request)
    conv = _writable(svc, p, conversation)
    res = await _emit(svc, _message_event(store, conv.buyer, body, "agent", p.agent))
    return Posted(conversation=conversation,
                  actions=_shown(svc, res, conv.buyer, live.STAFF_ACTIONS))  # fmt: skip


@staff_router.post("/conversations/{conversation}/close", summary="Close the conversation",
                   response_model=Posted, responses={**AUTH, **CONFLICT})  # fmt: skip
async def close(
    store: str, conversation: str, request: Request, p: Principal = Depends(staff())
) -> Any:
    """A `conversation.close`: frees the agent's capacity and serves the queue."""
    svc = _service(request)
    conv = _writable(svc, p, conversation)
    res = await _emit(svc, {"type": "conversation.close", "store": store, "buyer": conv.buyer,
                            "agent": conv.agent or p.agent})  # fmt: skip
    tz = svc.engine.settings(store).tz
    return Posted(conversation=conversation, actions=[action_dict(a, tz) for a in res.actions])


@staff_router.post("/conversations/{conversation}/transfer",
                   summary="Transfer to a colleague or a group", response_model=Posted,
                   responses={**AUTH, **CONFLICT, **INVALID})  # fmt: skip
async def transfer(
    store: str, conversation: str, body: TransferIn, request: Request,
    p: Principal = Depends(staff()),
) -> Any:  # fmt: skip
    """A `transfer`: `assign` to the colleague (or a free group member), the group's queue,
    or `transfer.result` failed when the colleague is offline or full."""
    if (body.to_agent is None) == (body.to_group is None):
        raise HTTPException(422, "give exactly one of `to_agent` and `to_group`")
    svc = _service(request)
    conv = _writable(svc, p, conversation)
    ev: dict[str, Any] = {"type": "transfer", "store": store, "buyer": conv.buyer,
                          "agent": p.agent}  # fmt: skip
    ev.update({k: v for k, v in body.model_dump().items() if v is not None})
    res = await _emit(svc, ev)
    tz = svc.engine.settings(store).tz
    return Posted(conversation=conversation, actions=[action_dict(a, tz) for a in res.actions])


@staff_router.post("/conversations/{conversation}/signal",
                   summary="Typing indicator / read receipt to the buyer (ephemeral)",
                   status_code=204, responses={**AUTH, **CONFLICT})  # fmt: skip
def agent_signal(
    store: str, conversation: str, body: Signal, request: Request,
    p: Principal = Depends(staff()),
) -> None:  # fmt: skip
    """Sent to the buyer's widget; not stored, not an event."""
    svc = _service(request)
    conv = _writable(svc, p, conversation)
    _agent_signal(_hub(request), p, conv.buyer, conversation, body.model_dump(exclude_none=True))


def _agent_signal(hub: Hub, p: Principal, buyer_id: str, conv: str, data: dict[str, Any]) -> None:
    msg = {"type": "typing" if "typing" in data else "read", "from": "agent", "agent": p.agent,
           "conversation": conv, "typing": data.get("typing"),
           "read_up_to": data.get("read_up_to")}  # fmt: skip
    hub.publish(buyer_topic(p.store, buyer_id), msg)


# -- notes -----------------------------------------------------------------------------------


@staff_router.get("/conversations/{conversation}/notes", summary="Private notes",
                  response_model=NotePage, responses=AUTH)  # fmt: skip
def list_notes(
    store: str, conversation: str, request: Request, p: Principal = Depends(staff()),
    after: str | None = Query(None, description="Note id ending the previous page."),
    limit: int = Query(100, ge=1, le=1000),
) -> Any:  # fmt: skip
    """Staff-only notes on the conversation, oldest first."""
    svc = _service(request)
    _owned(svc, store, conversation)
    tz = svc.engine.settings(store).tz
    q = select(Note).where(Note.store == store, Note.conversation == conversation)
    if after is not None and after.isdigit():
        q = q.where(Note.seq > int(after))
    with svc.sessions() as s:
        rows = list(s.scalars(q.order_by(Note.seq).limit(limit + 1)))
    items = [{"id": str(n.seq), "agent": n.agent, "text": n.text,
              "created": format_ts(n.created_ms, tz)} for n in rows[:limit]]  # fmt: skip
    return Page(items=items, next_after=items[-1]["id"] if len(rows) > limit else None)


@staff_router.post("/conversations/{conversation}/notes", summary="Add a private note",
                   status_code=201, response_model=NoteOut, responses=AUTH)  # fmt: skip
def add_note(
    store: str, conversation: str, body: NoteIn, request: Request,
    p: Principal = Depends(staff()),
) -> Any:  # fmt: skip
    """A note visible to the store's staff only."""
    svc = _service(request)
    _owned(svc, store, conversation)
    with svc.sessions.begin() as s:
        n = Note(store=store, conversation=conversation, agent=p.agent or "", text=body.text,
                 created_ms=wall_ms())  # fmt: skip
        s.add(n)
        s.flush()
        nid = n.seq
    return {"id": str(nid), "agent": p.agent, "text": body.text}


# -- quick replies ---------------------------------------------------------------------------


def _qr_out(r: QuickReply) -> QuickReplyOut:
    return QuickReplyOut(id=r.seq, shortcut=r.shortcut, text=r.text,
                         scope="store" if r.agent == "" else "mine")  # fmt: skip


@staff_router.get("/quick-replies", summary="Quick replies (store-wide and mine)",
                  response_model=list[QuickReplyOut], responses=AUTH)  # fmt: skip
def list_quick_replies(store: str, request: Request, p: Principal = Depends(staff())) -> Any:
    """The store's quick replies and the caller's own, by shortcut (own first on a clash)."""
    q = select(QuickReply).where(QuickReply.store == store,
                                 QuickReply.agent.in_(("", p.agent or "")))  # fmt: skip
    with _service(request).sessions() as s:
        rows = list(s.scalars(q))
    rows.sort(key=lambda r: (r.shortcut, r.agent == ""))
    return [_qr_out(r) for r in rows]


def _qr_owner(p: Principal, scope: str) -> str:
    if scope == "store":
        if not p.at_least("supervisor"):
            raise HTTPException(403, "store-wide quick replies need role supervisor or above")
        return ""
    return p.agent or ""


@staff_router.post("/quick-replies", summary="Create a quick reply", status_code=201,
                   response_model=QuickReplyOut, responses={**AUTH, **CONFLICT})  # fmt: skip
def create_quick_reply(
    store: str, body: QuickReplyIn, request: Request, p: Principal = Depends(staff())
) -> Any:
    """409 when the shortcut is already taken in that scope."""
    owner = _qr_owner(p, body.scope)
    try:
        with _service(request).sessions.begin() as s:
            r = QuickReply(store=store, agent=owner, shortcut=body.shortcut, text=body.text,
                           updated_ms=wall_ms())  # fmt: skip
            s.add(r)
            s.flush()
            return _qr_out(r)
    except IntegrityError:
        raise HTTPException(409, f"shortcut {body.shortcut!r} already exists") from None


QuickReplyId = Annotated[int, PathParam(ge=1, le=2**63 - 1)]


def _qr_get(s: Any, store: str, p: Principal, qid: int) -> QuickReply:
    r = s.get(QuickReply, qid)
    if r is None or r.store != store or r.agent not in ("", p.agent):
        raise HTTPException(404, "not found")
    _qr_owner(p, "store" if r.agent == "" else "mine")
    return r


@staff_router.put("/quick-replies/{qid}", summary="Edit a quick reply",
                  response_model=QuickReplyOut, responses={**AUTH, **CONFLICT})  # fmt: skip
def update_quick_reply(
    store: str,
    qid: QuickReplyId,
    body: QuickReplyIn,
    request: Request,
    p: Principal = Depends(staff()),
) -> Any:
    """Change shortcut and text (the scope stays)."""
    try:
        with _service(request).sessions.begin() as s:
            r = _qr_get(s, store, p, qid)
            r.shortcut, r.text, r.updated_ms = body.shortcut, body.text, wall_ms()
            s.flush()
            return _qr_out(r)
    except IntegrityError:
        raise HTTPException(409, f"shortcut {body.shortcut!r} already exists") from None


@staff_router.delete("/quick-replies/{qid}", summary="Delete a quick reply", status_code=204,
                     responses=AUTH)  # fmt: skip
def delete_quick_reply(
    store: str, qid: QuickReplyId, request: Request, p: Principal = Depends(staff())
) -> None:
    """Own replies by anyone; store-wide ones by supervisors and admins."""
    with _service(request).sessions.begin() as s:
        r = _qr_get(s, store, p, qid)
        s.execute(delete(QuickReply).where(QuickReply.seq == r.seq))


# -- supervisor ------------------------------------------------------------------------------


@staff_router.get("/monitor", summary="Live monitor numbers (supervisor)", responses=AUTH,
                  response_model=Monitor)  # fmt: skip
def monitor(store: str, request: Request, p: Principal = Depends(staff("supervisor"))) -> Any:
    """Pending messages, queue length per group, online agents, saturation (assigned open
    conversations / total capacity of online agents), longest wait, and the conversations
    now failing the 3-minute rule."""
    svc = _service(request)
    return live.monitor(svc, store, svc.clock.now())


# -- WebSockets ------------------------------------------------------------------------------


async def _pump(ws: WebSocket, topics: list[str], hello: dict[str, Any], on_client: Any,
                periodic: Any = None, every: float = 5.0,
                still_signed_in: Any = None) -> None:  # fmt: skip
    """Forward hub messages on `topics` to `ws`; hand client frames to `on_client`.

    With `still_signed_in`, the caller's sign-in is checked again every `every` seconds: a
    staff member disabled, signed out everywhere or whose token was revoked is disconnected
    (4401) instead of receiving the store's chats until the next reconnect.
    """
    hub: Hub = ws.app.state.hub
    async with hub.subscribe(*topics) as q:
        await ws.send_json(hello)

        async def reader() -> None:
            while True:
                data = await ws.receive_json()
                if isinstance(data, dict):
                    await on_client(data)

        rtask = asyncio.create_task(reader())
        try:
            while True:
                get = asyncio.ensure_future(q.get())
                done, _ = await asyncio.wait({get, rtask}, timeout=every,
                                             return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
                if rtask in done:
                    get.cancel()
                    break
                if get in done:
                    msg = get.result()
                    if periodic is not None:
                        msg = await periodic(msg)
                    if msg is not None:
                        await ws.send_json(msg)
                else:
                    get.cancel()
                    if still_signed_in is not None and not await still_signed_in():
                        await ws.close(code=4401, reason="signed out")
                        break
                    if periodic is not None and (msg := await periodic(None)) is not None:
                        await ws.send_json(msg)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            rtask.cancel()
            with contextlib.suppress(BaseException):
                await rtask


def _signed_in(ws: WebSocket, p: Principal) -> Any:
    """A check that the socket's token still signs in the same staff member and role."""

    async def check() -> bool:
        now = await asyncio.to_thread(ws_principal, ws)
        return now is not None and (now.store, now.agent, now.role) == (p.store, p.agent, p.role)

    return check


async def _refuse(ws: WebSocket, reason: str) -> None:
    await ws.close(code=4401 if reason == "unauthorized" else 4403, reason=reason)


@ws_router.websocket("/api/v1/ws/buyer")
async def ws_buyer(ws: WebSocket) -> None:
    """Buyer widget (`?token=b1…`): bot replies, transfer results (position, failure text),
    agent messages, typing and read receipts. Send `{"typing": true}` or
    `{"read_up_to": "m12"}` to signal the agent."""
    p = await asyncio.to_thread(ws_principal, ws)
    await ws.accept()
    if p is None or not p.is_buyer or p.buyer is None:
        await _refuse(ws, "unauthorized" if p is None else "needs a buyer token")
        return
    svc: EngineService = ws.app.state.service
    hub: Hub = ws.app.state.hub

    async def on_client(data: dict[str, Any]) -> None:
        _buyer_signal(svc, hub, p, {k: v for k, v in data.items() if k in ("typing", "read_up_to")})

    hello = {"type": "hello", "store": p.store, "buyer": p.buyer}
    await _pump(ws, [buyer_topic(p.store, p.buyer)], hello, on_client)


@ws_router.websocket("/api/v1/ws/agent")
async def ws_agent(ws: WebSocket) -> None:
    """Agent workbench (`?token=kefu_…`): messages of its conversations, `assign`,
    `guide.panel`, `urge.alert`, typing/read. Send `{"conversation": id, "typing": true}`."""
    p = await asyncio.to_thread(ws_principal, ws)
    await ws.accept()
    if p is None or p.is_buyer or p.agent is None:
        await _refuse(ws, "unauthorized" if p is None else "needs a staff token")
        return
    svc: EngineService = ws.app.state.service
    hub: Hub = ws.app.state.hub

    async def on_client(data: dict[str, Any]) -> None:
        conv_id = data.get("conversation")
        conv = live.open_conversation_of(svc, p.store, str(conv_id)) if conv_id else None
        if conv is None or (conv.agent != p.agent and not p.at_least("supervisor")):
            return
        signal = {k: v for k, v in data.items() if k in ("typing", "read_up_to")}
        _agent_signal(hub, p, conv.buyer, conv.id, signal)

    hello = {"type": "hello", "store": p.store, "agent": p.agent, "role": p.role}
    await _pump(ws, [agent_topic(p.store, p.agent)], hello, on_client,
                still_signed_in=_signed_in(ws, p))  # fmt: skip


@ws_router.websocket("/api/v1/ws/monitor")
async def ws_monitor(ws: WebSocket) -> None:
    """Supervisor live monitor (`?token=`, supervisor or admin): the numbers of
    `GET /monitor` on connect, after each change (at most twice a second) and every 5 s."""
    p = await asyncio.to_thread(ws_principal, ws)
    await ws.accept()
    if p is None or not p.at_least("supervisor"):
        await _refuse(ws, "unauthorized" if p is None else "needs role supervisor or above")
        return
    svc: EngineService = ws.app.state.service
    loop = asyncio.get_running_loop()
    last = [0.0]

    async def numbers(_msg: Any) -> Any:
        if _msg is not None and loop.time() - last[0] < 0.5:
            return None
        last[0] = loop.time()
        doc = await asyncio.to_thread(live.monitor, svc, p.store, svc.clock.now())
        return {"type": "monitor", **doc}

    async def on_client(data: dict[str, Any]) -> None:
        return None

    hello = {"type": "monitor", **await numbers(None)}
    await _pump(ws, [monitor_topic(p.store)], hello, on_client, periodic=numbers,
                still_signed_in=_signed_in(ws, p))  # fmt: skip


routers = (buyer_router, staff_router, ws_router)
