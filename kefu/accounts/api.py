"""Account endpoints: who am I, staff tokens (admin), buyer widget tokens (admin)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from kefu.accounts.tokens import Principal, buyer_token, create_token
from kefu.api.deps import FORBIDDEN, NOT_FOUND, UNAUTHORIZED, principal, staff

router = APIRouter(tags=["accounts"])


class Me(BaseModel):
    """The caller of a token."""

    store: str
    role: str = Field(description="agent, supervisor, admin or buyer")
    agent: str | None = None
    buyer: str | None = None
    timezone: str = Field(description="The store's timezone (IANA name): its days' edges")
    utc_offset_min: int = Field(
        description="The store's UTC offset now, in minutes (for the store-local date)"
    )
    today: str = Field(description="The store-local date now, YYYY-MM-DD")
    store_name: str = Field("", description="The store's display name (its id when it has none)")
    agent_name: str | None = Field(None, description="The staff account's display name")


class TokenIn(BaseModel):
    """A staff token to create."""

    agent: str = Field(min_length=1, max_length=256)
    role: Literal["agent", "supervisor", "admin"] = "agent"
    label: str = ""


class TokenOut(BaseModel):
    """A new token: shown once, only its SHA-256 is stored."""

    token: str
    store: str
    agent: str | None = None
    buyer: str | None = None
    role: str


class BuyerTokenIn(BaseModel):
    """The buyer a widget token is for."""

    buyer: str = Field(min_length=1, max_length=256)


@router.get("/api/v1/me", summary="Who the token belongs to (log in)", response_model=Me,
            responses=UNAUTHORIZED)  # fmt: skip
def me(request: Request, p: Principal = Depends(principal)) -> Any:
    """Resolve the bearer token: store, role and agent (or buyer), and the store's clock
    (timezone, UTC offset, today) so the web app's date ranges use the store's days."""
    from datetime import datetime

    service = request.app.state.service
    tz = service.engine.settings(p.store).tz
    now = datetime.fromtimestamp(service.clock.now() / 1000, tz)
    offset = now.utcoffset()
    from kefu.conversations.service import agent_names, store_name

    agent_name = agent_names(service, p.store).get(p.agent, p.agent) if p.agent else None
    return Me(store=p.store, role=p.role, agent=p.agent, buyer=p.buyer, timezone=str(tz),
              utc_offset_min=int(offset.total_seconds() // 60) if offset else 0,
              today=now.date().isoformat(), store_name=store_name(service, p.store),
              agent_name=agent_name)  # fmt: skip


@router.post(
    "/api/v1/stores/{store}/tokens",
    summary="Create a staff token (admin)",
    response_model=TokenOut,
    status_code=201,
    responses={**UNAUTHORIZED, **FORBIDDEN, **NOT_FOUND},
)
def new_token(
    body: TokenIn, store: str, request: Request, p: Principal = Depends(staff("admin"))
) -> Any:
    """A random token for an agent of this store; returned once, stored hashed."""
    with request.app.state.service.sessions.begin() as s:
        token = create_token(s, store, body.agent, body.role, body.label)
    return TokenOut(token=token, store=store, agent=body.agent, role=body.role)


@router.post(
    "/api/v1/stores/{store}/buyer-tokens",
    summary="Issue a buyer widget token (admin)",
    response_model=TokenOut,
    status_code=201,
    responses={**UNAUTHORIZED, **FORBIDDEN, **NOT_FOUND},
)
def new_buyer_token(body: BuyerTokenIn, store: str, p: Principal = Depends(staff("admin"))) -> Any:
    """An HMAC-signed token that lets the widget of `buyer` read and write only their chat."""
    return TokenOut(token=buyer_token(store, body.buyer), store=store, buyer=body.buyer,
                    role="buyer")  # fmt: skip
