"""The shopping-guide panel in the workbench: read it, mark it viewed, send items (F6).

rules.md §3.2: the agent sends one item or all of them; the message carries `products` and
the store's recommendation copy (`guide.copy`). Only items of the conversation's latest
panel can be sent this way — that is what makes them count as adopted recommendations.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from kefu.accounts.tokens import Principal
from kefu.api.deps import FORBIDDEN, NOT_FOUND, UNAUTHORIZED, staff
from kefu.conversations import service as live
from kefu.conversations.api import CONFLICT, INVALID, Posted, _emit, _owned, _shown, _writable
from kefu.guide.schemas import Panel

router = APIRouter(
    prefix="/api/v1/stores/{store}/conversations/{conversation}/guide",
    tags=["guide"],
    responses={**UNAUTHORIZED, **FORBIDDEN, **NOT_FOUND},
)


class SendIn(BaseModel):
    """Which panel items to send; none given = every complement (F6)."""

    products: list[str] | None = Field(None, max_length=20, examples=[["p2", "p3"]])
    text: str | None = Field(None, max_length=2_000, description="Instead of `guide.copy`.")


def _panel(request: Request, store: str, conversation: str) -> tuple[Any, list[str]]:
    svc = request.app.state.service
    _owned(svc, store, conversation)
    conv = live.open_conversation_of(svc, store, conversation)
    panel = list(conv.ext.get("guide_panel") or []) if conv is not None else []
    return conv, panel


def _reason(conv: Any, panel: list[str], settings: Any) -> dict[str, Any] | None:
    """Why the latest inquiry raised no panel: `low_intent` (with the buyer's intent and the
    store's threshold), `no_complements`, `unavailable`; `disabled` when the store turned the
    guide off; `no_inquiry` before any product was asked about. None when a panel is shown."""
    if not settings.guide.enabled:
        return {"reason": "disabled"}
    why = conv.ext.get("guide_reason") if conv is not None else None
    if why:
        return dict(why)
    return None if panel else {"reason": "no_inquiry"}


def _item(st: Any, pid: str) -> dict[str, Any]:
    p = st.products.get(pid) if st is not None else None
    if p is None:
        return {"product": pid}
    return {"product": pid, "title": p.title, "price": p.price, "category": p.category,
            "stock": p.stock, "status": p.status}  # fmt: skip


@router.get("", summary="The conversation's latest guide panel (inquired item first)",
            response_model=Panel)  # fmt: skip
def read_panel(
    store: str, conversation: str, request: Request, _: Principal = Depends(staff())
) -> dict[str, Any]:
    """Items with title, price and stock; empty when no panel was raised. `reason` says why
    the latest inquiry raised none (see `_reason`); null while its panel is shown."""
    conv, panel = _panel(request, store, conversation)
    service = request.app.state.service
    with service.state_of(store) as st:
        items = [_item(st, pid) for pid in panel]
    settings = service.engine.settings(store)
    return {
        "conversation": conversation,
        "inquired": panel[0] if panel else None,
        "items": items,
        "copy": settings.guide.copy,
        "reason": _reason(conv, panel, settings),
    }


@router.post("/view", summary="The agent looked at the panel (guide.view)", status_code=204,
             responses={**CONFLICT})  # fmt: skip
async def view_panel(
    store: str, conversation: str, request: Request, p: Principal = Depends(staff())
) -> None:
    """Logs `guide.view` for the conversation's buyer: the 'seen' of the guide metrics."""
    svc = request.app.state.service
    conv = _writable(svc, p, conversation)
    await _emit(svc, {"type": "guide.view", "store": store, "agent": p.agent, "buyer": conv.buyer})


@router.post("/send", summary="Send panel items with the recommendation copy (F6)",
             response_model=Posted, responses={**CONFLICT, **INVALID})  # fmt: skip
async def send_items(
    store: str, conversation: str, body: SendIn, request: Request,
    p: Principal = Depends(staff()),
) -> Any:  # fmt: skip
    """One item, several, or (no `products`) every complement of the latest panel."""
    svc = request.app.state.service
    conv = _writable(svc, p, conversation)
    panel = list(conv.ext.get("guide_panel") or [])
    if not panel:
        raise HTTPException(409, "no guide panel in this conversation")
    chosen = body.products if body.products else (panel[1:] or panel)
    unknown = [x for x in chosen if x not in panel]
    if unknown:
        raise HTTPException(422, f"products: not in the panel: {', '.join(unknown)}")
    text = body.text if body.text is not None else svc.engine.settings(store).guide.copy
    event = {"type": "message", "store": store, "buyer": conv.buyer, "sender": "agent",
             "agent": p.agent, "text": text, "products": list(dict.fromkeys(chosen))}  # fmt: skip
    res = await _emit(svc, event)
    return Posted(conversation=conversation,
                  actions=_shown(svc, res, conv.buyer, live.STAFF_ACTIONS))  # fmt: skip
