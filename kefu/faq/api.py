"""FAQ endpoints: the store's entries, proposals to review, learning on demand, smart assist.

Entries and approvals become `faq` events, so the bot, a restart and a replay all agree on
what the bot knows. Reading and assist are for every agent; changing is for supervisors.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from kefu.accounts.tokens import Principal
from kefu.api.deps import FORBIDDEN, NOT_FOUND, UNAUTHORIZED, staff
from kefu.faq import live as faq_live
from kefu.faq.learn import Proposal, ReviewError, approve, edit, reject

router = APIRouter(
    prefix="/api/v1/stores/{store}/faq",
    tags=["faq"],
    responses={**UNAUTHORIZED, **FORBIDDEN, **NOT_FOUND},
)
assist_router = APIRouter(prefix="/api/v1/stores/{store}", tags=["faq"],
                          responses={**UNAUTHORIZED, **FORBIDDEN, **NOT_FOUND})  # fmt: skip
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "The proposal's status does not allow this step", "content": {
        "application/json": {"example": {"detail": "proposal q1 is rejected; it cannot …"}}}},
}  # fmt: skip
STATUSES = ("proposed", "approved", "rejected", "edited")


class EntryIn(BaseModel):
    """A FAQ entry: the standard question, its answer, other wordings, keyword rules."""

    question: str = Field(..., min_length=1, max_length=500)
    answer: str = Field(..., min_length=1, max_length=5_000)
    variants: list[str] = Field(default_factory=list, max_length=200)
    keywords: list[str] = Field(default_factory=list, max_length=50)
    related: list[str] = Field(default_factory=list, max_length=10)


class EditIn(BaseModel):
    """A supervisor's edit of a proposal (fields left out stay)."""

    question: str | None = Field(None, min_length=1, max_length=500)
    answer: str | None = Field(None, min_length=1, max_length=5_000)
    variants: list[str] | None = Field(None, max_length=200)


class RejectIn(BaseModel):
    """Why a proposal is rejected (kept with it)."""

    note: str = Field("", max_length=1_000)


def _svc(request: Request) -> Any:
    return request.app.state.service


def _ingest(svc: Any, event: dict[str, Any]) -> None:
    result = svc.ingest([event])
    if result.rejected:
        r = result.rejected[0]
        raise HTTPException(422, f"{r.field}: {r.reason}")


def _entry(e: Any) -> dict[str, Any]:
    return {"faq": e.faq, "question": e.question, "answer": e.answer, "variants": e.variants,
            "keywords": e.keywords, "related": e.related}  # fmt: skip


def _page(items: list[dict[str, Any]], after: str | None, limit: int) -> tuple[list[Any], Any]:
    """Keyset page of entries sorted by `faq` id."""
    if after is not None:
        items = [i for i in items if i["faq"] > after]
    return items[:limit], (items[limit - 1]["faq"] if len(items) > limit else None)


@router.get("", summary="The store's FAQ entries (what the bot answers from)")
def list_entries(
    request: Request,
    store: str,
    after: str | None = Query(None, description="Page: the last `faq` id of the previous page."),
    limit: int = Query(100, ge=1, le=1000),
    _: Principal = Depends(staff()),
) -> dict[str, Any]:
    """Entries sorted by id; `next` is the `after` of the next page."""
    st = _svc(request).engine.states.get(store)
    items = [_entry(st.faq[k]) for k in sorted(st.faq)] if st is not None else []
    page, nxt = _page(items, after, limit)
    return {"store": store, "items": page, "next": nxt}


@router.put("/{faq}", summary="Create or replace a FAQ entry (supervisor)")
def put_entry(
    request: Request, store: str, faq: str, body: EntryIn,
    _: Principal = Depends(staff("supervisor")),
) -> dict[str, Any]:  # fmt: skip
    """Logs a `faq` event; the bot answers with it from the next message on."""
    svc = _svc(request)
    _ingest(svc, {"type": "faq", "ts": svc.clock.now(), "store": store, "faq": faq,
                  **body.model_dump()})  # fmt: skip
    return _entry(svc.engine.states[store].faq[faq])


@router.delete("/{faq}", summary="Remove a FAQ entry (supervisor)", status_code=204)
def delete_entry(
    request: Request, store: str, faq: str, _: Principal = Depends(staff("supervisor"))
) -> None:
    """Logs a disabling `faq` event; 404 when the entry does not exist."""
    svc = _svc(request)
    st = svc.engine.states.get(store)
    entry = st.faq.get(faq) if st is not None else None
    if entry is None:
        raise HTTPException(404, "not found")
    off = {"type": "faq", "ts": svc.clock.now(), "store": store, "faq": faq,
           "question": entry.question, "answer": entry.answer, "enabled": False}  # fmt: skip
    _ingest(svc, off)


def _proposal_out(p: Proposal) -> dict[str, Any]:
    import msgspec

    out: dict[str, Any] = msgspec.to_builtins(p)
    return out


@router.get("/proposals", summary="Learnt FAQ proposals with their evidence (supervisor)")
def list_proposals(
    request: Request,
    store: str,
    status: str | None = Query("proposed", pattern="^(proposed|approved|rejected|edited|all)$"),
    offset: int = Query(0, ge=0, le=2**63 - 1),
    limit: int = Query(50, ge=1, le=500),
    _: Principal = Depends(staff("supervisor")),
) -> dict[str, Any]:
    """Best first; `status=all` lists every one. `total` counts the filtered list."""
    with _svc(request).sessions() as s:
        items = faq_live.proposals(s, store, None if status == "all" else status)
    page = items[offset : offset + limit]
    return {"store": store, "total": len(items), "offset": offset,
            "items": [_proposal_out(p) for p in page]}  # fmt: skip


def _decide(request: Request, store: str, pid: str, p: Principal, step: Any) -> dict[str, Any]:
    svc = _svc(request)
    now = svc.clock.now()
    with svc.sessions.begin() as s:
        before = faq_live.proposal(s, store, pid)
        if before is None:
            raise HTTPException(404, "not found")
        try:
            after = step(before, p.agent, now)
        except ReviewError as e:
            raise HTTPException(409, str(e)) from None
        faq_live.save(s, store, [after], now)
    was_live = before.status in ("approved", "edited")
    st = svc.engine.states.get(store)
    current = st.faq.get(after.target) if st is not None and after.target else None
    event = None
    if after.status in ("approved", "edited"):
        event = faq_live.faq_event(store, after, now, current=current)
    elif was_live:
        event = faq_live.faq_event(store, after, now, enabled=False, current=current)
    if event is not None:
        _ingest(svc, event)
    return _proposal_out(after)


@router.post("/proposals/{pid}/approve", summary="Approve: the bot answers with it",
             responses=CONFLICT)  # fmt: skip
def approve_proposal(
    request: Request, store: str, pid: str, p: Principal = Depends(staff("supervisor"))
) -> dict[str, Any]:
    """The proposal becomes a FAQ entry (`faq` event with its id and variants)."""
    return _decide(request, store, pid, p, lambda x, by, at: approve(x, by, at))


@router.post("/proposals/{pid}/reject", summary="Reject: never answered with, not proposed again",
             responses=CONFLICT)  # fmt: skip
def reject_proposal(
    request: Request, store: str, pid: str, body: RejectIn | None = None,
    p: Principal = Depends(staff("supervisor")),
) -> dict[str, Any]:  # fmt: skip
    """Withdraws the entry from the bot if it had been approved."""
    note = body.note if body else ""
    return _decide(request, store, pid, p, lambda x, by, at: reject(x, by, note, at))


@router.put("/proposals/{pid}", summary="Edit a proposal's wording (it then answers as edited)",
            responses=CONFLICT)  # fmt: skip
def edit_proposal(
    request: Request, store: str, pid: str, body: EditIn,
    p: Principal = Depends(staff("supervisor")),
) -> dict[str, Any]:  # fmt: skip
    """The mined answer is kept as `learned_answer`; the edited entry goes to the bot."""
    if body.question is None and body.answer is None and body.variants is None:
        raise HTTPException(422, "nothing to edit: send question, answer or variants")

    def step(x: Proposal, by: str, at: int) -> Proposal:
        return edit(x, by, question=body.question, answer=body.answer,
                    variants=body.variants, at=at)  # fmt: skip

    return _decide(request, store, pid, p, step)


@router.post("/learn", summary="Learn proposals from the store's conversations now")
async def learn_now(
    request: Request, store: str, _: Principal = Depends(staff("supervisor"))
) -> dict[str, Any]:
    """Mines the whole log of the store (also done every `bot.learn_every` by the server)."""
    svc = _svc(request)
    support = svc.engine.settings(store).bot.learn_min_support
    counts = await asyncio.to_thread(faq_live.learn_store, svc, store, svc.clock.now(), support)
    return {"store": store, **counts}


@assist_router.get("/conversations/{conversation}/assist",
                   summary="Smart assist: replies for the latest message")  # fmt: skip
def assist(
    request: Request,
    store: str,
    conversation: str,
    k: int = Query(3, ge=1, le=10),
    text: str | None = Query(None, max_length=2_000, description="Instead of the last message."),
    _: Principal = Depends(staff()),
) -> dict[str, Any]:
    """From the FAQ and the agents' mined good replies; nothing is sent by itself."""
    from kefu.conversations import service as conv_live

    svc = _svc(request)
    row = conv_live.conversation_row(svc, store, conversation)
    if row is None:
        raise HTTPException(404, "not found")
    conv = conv_live.open_conversation_of(svc, store, conversation)
    question = text if text is not None else (conv.last_text if conv is not None else "")
    out = faq_live.assistant(svc, store).suggest(question or "", k=k) if question else []
    return {"conversation": conversation, "question": question or None,
            "suggestions": [{"text": x.text, "source": x.source, "score": x.score,
                             "ref": x.ref, "question": x.question} for x in out]}  # fmt: skip
