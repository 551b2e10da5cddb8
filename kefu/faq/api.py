"""FAQ endpoints: the store's entries, proposals to review, learning on demand, smart assist.

Entries and approvals become `faq` events, so the bot, a restart and a replay all agree on
what the bot knows. Reading and assist are for every agent; changing is for supervisors.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field, field_validator

from kefu.accounts.tokens import Principal
from kefu.api.deps import FORBIDDEN, NOT_FOUND, UNAUTHORIZED, staff
from kefu.faq import editor
from kefu.faq import live as faq_live
from kefu.faq.learn import Proposal, ReviewError, approve, edit, reject
from kefu.faq.schemas import (
    Assist,
    Entry,
    EntryPage,
    Learnt,
    ProposalOut,
    ProposalPage,
    TryResult,
)

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


def _clean_list(values: list[str], what: str, longest: int) -> list[str]:
    out: list[str] = []
    for i, v in enumerate(values):
        v = v.strip()
        if not v:
            raise ValueError(f"{what} {i + 1} is blank")
        if len(v) > longest:
            raise ValueError(f"{what} {i + 1} is longer than {longest} characters")
        if v not in out:
            out.append(v)
    return out


class EntryIn(BaseModel):
    """A FAQ entry: the standard question, its answer, other wordings, keyword rules, the
    entries offered after it, and whether the bot answers with it."""

    question: str = Field(..., min_length=1, max_length=500)
    answer: str = Field(..., min_length=1, max_length=5_000)
    variants: list[str] = Field(default_factory=list, max_length=200)
    keywords: list[str] = Field(default_factory=list, max_length=50)
    related: list[str] = Field(default_factory=list, max_length=10)
    enabled: bool = True

    @field_validator("question", "answer")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v.strip()

    @field_validator("variants")
    @classmethod
    def _variants(cls, v: list[str]) -> list[str]:
        return _clean_list(v, "variant", 500)

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, v: list[str]) -> list[str]:
        return _clean_list(v, "keyword", 50)

    @field_validator("related")
    @classmethod
    def _related(cls, v: list[str]) -> list[str]:
        return _clean_list(v, "related entry", 256)


class TryIn(BaseModel):
    """A question to try against the live index, optionally next to a product card."""

    text: str = Field(..., min_length=1, max_length=2_000)
    product: str | None = Field(None, min_length=1, max_length=256)


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
    return editor.entry_doc(e)


def _page(items: list[dict[str, Any]], after: str | None, limit: int) -> tuple[list[Any], Any]:
    """Keyset page of entries sorted by `faq` id."""
    if after is not None:
        items = [i for i in items if i["faq"] > after]
    return items[:limit], (items[limit - 1]["faq"] if len(items) > limit else None)


@router.get("", summary="The store's FAQ entries (what the bot answers from)",
            response_model=EntryPage)  # fmt: skip
def list_entries(
    request: Request,
    store: str,
    after: str | None = Query(None, description="Page: the last `faq` id of the previous page."),
    limit: int = Query(100, ge=1, le=1000),
    q: str = Query("", max_length=200, description="In the question, answer or variants."),
    include_disabled: bool = Query(False, description="Also entries switched off."),
    _: Principal = Depends(staff()),
) -> dict[str, Any]:
    """Entries sorted by id; `next` is the `after` of the next page, `total` the count."""
    items = editor.all_entries(_svc(request), store, include_disabled)
    if needle := q.strip().lower():
        items = [i for i in items if needle in i["faq"].lower() or needle in i["question"].lower()
                 or needle in i["answer"].lower()
                 or any(needle in v.lower() for v in i["variants"])]  # fmt: skip
    page, nxt = _page(items, after, limit)
    return {"store": store, "items": page, "next": nxt, "total": len(items)}


def _save(request: Request, store: str, faq: str, body: EntryIn) -> dict[str, Any]:
    svc = _svc(request)
    if not faq.strip() or len(faq) > 256:
        raise HTTPException(422, "faq: the id must be 1 to 256 characters")
    if faq in body.related:
        raise HTTPException(422, "related: an entry cannot be related to itself")
    known = {d["faq"] for d in editor.all_entries(svc, store, True)}
    unknown = [r for r in body.related if r not in known]
    if unknown:
        raise HTTPException(422, f"related: no entry {', '.join(unknown)} in this store")
    _ingest(svc, {"type": "faq", "ts": svc.clock.now(), "store": store, "faq": faq,
                  **body.model_dump()})  # fmt: skip
    found = editor.find(svc, store, faq)
    return found if found is not None else {"faq": faq, **body.model_dump()}


@router.post("", summary="Create a FAQ entry with a new id (supervisor)", status_code=201,
             response_model=Entry)  # fmt: skip
def create_entry(
    request: Request, store: str, body: EntryIn, _: Principal = Depends(staff("supervisor"))
) -> dict[str, Any]:
    """Like PUT with an id made here (`faq-` and 10 hex digits)."""
    import uuid

    return _save(request, store, f"faq-{uuid.uuid4().hex[:10]}", body)


@router.post("/try", summary="Try a question on the live bot (what it would answer)",
             response_model=TryResult)  # fmt: skip
def try_entry(
    request: Request, store: str, body: TryIn, _: Principal = Depends(staff())
) -> dict[str, Any]:
    """The bot's answer, entry and confidence at the store's threshold; nothing is logged."""
    return editor.try_question(_svc(request), store, body.text, body.product)


def _proposal_out(p: Proposal) -> dict[str, Any]:
    import msgspec

    out: dict[str, Any] = msgspec.to_builtins(p)
    return out


@router.get("/proposals", summary="Learnt FAQ proposals with their evidence (supervisor)",
            response_model=ProposalPage)  # fmt: skip
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
    with svc.state_of(store) as st:
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
             responses=CONFLICT, response_model=ProposalOut)  # fmt: skip
def approve_proposal(
    request: Request, store: str, pid: str, p: Principal = Depends(staff("supervisor"))
) -> dict[str, Any]:
    """The proposal becomes a FAQ entry (`faq` event with its id and variants)."""
    return _decide(request, store, pid, p, lambda x, by, at: approve(x, by, at))


@router.post("/proposals/{pid}/reject", summary="Reject: never answered with, not proposed again",
             responses=CONFLICT, response_model=ProposalOut)  # fmt: skip
def reject_proposal(
    request: Request, store: str, pid: str, body: RejectIn | None = None,
    p: Principal = Depends(staff("supervisor")),
) -> dict[str, Any]:  # fmt: skip
    """Withdraws the entry from the bot if it had been approved."""
    note = body.note if body else ""
    return _decide(request, store, pid, p, lambda x, by, at: reject(x, by, note, at))


@router.put("/proposals/{pid}", summary="Edit a proposal's wording (it then answers as edited)",
            responses=CONFLICT, response_model=ProposalOut)  # fmt: skip
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


@router.get("/{faq}", summary="One FAQ entry (enabled or not)", response_model=Entry)
def get_entry(
    request: Request, store: str, faq: str, _: Principal = Depends(staff())
) -> dict[str, Any]:
    """404 when the store has no such entry (or it was deleted)."""
    found = editor.find(_svc(request), store, faq)
    if found is None:
        raise HTTPException(404, "not found")
    return found


@router.put("/{faq}", summary="Create or replace a FAQ entry (supervisor)", response_model=Entry)
def put_entry(
    request: Request, store: str, faq: str, body: EntryIn,
    _: Principal = Depends(staff("supervisor")),
) -> dict[str, Any]:  # fmt: skip
    """Logs a `faq` event; the bot answers with it (or, `enabled: false`, stops) from the
    next message on. `related` must name entries of the store."""
    return _save(request, store, faq, body)


@router.delete("/{faq}", summary="Remove a FAQ entry (supervisor)", status_code=204)
def delete_entry(
    request: Request, store: str, faq: str, _: Principal = Depends(staff("supervisor"))
) -> None:
    """Logs a disabling `faq` event marked `removed`; 404 when the entry does not exist."""
    svc = _svc(request)
    entry = editor.find(svc, store, faq)
    if entry is None:
        raise HTTPException(404, "not found")
    off = {"type": "faq", "ts": svc.clock.now(), "store": store, "faq": faq,
           "question": entry["question"], "answer": entry["answer"], "enabled": False,
           "removed": True}  # fmt: skip
    _ingest(svc, off)


@router.post("/learn", summary="Learn proposals from the store's conversations now",
             response_model=Learnt)  # fmt: skip
async def learn_now(
    request: Request, store: str, _: Principal = Depends(staff("supervisor"))
) -> dict[str, Any]:
    """Mines the whole log of the store (also done every `bot.learn_every` by the server)."""
    svc = _svc(request)
    support = svc.engine.settings(store).bot.learn_min_support
    counts = await asyncio.to_thread(faq_live.learn_store, svc, store, svc.clock.now(), support)
    return {"store": store, **counts}


@assist_router.get("/conversations/{conversation}/assist", response_model=Assist,
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
