"""Webhook endpoints of a store: manage them (admin), read the delivery log and the dead-letter
list, redeliver (supervisor)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kefu.accounts.tokens import Principal
from kefu.api.deps import FORBIDDEN, NOT_FOUND, UNAUTHORIZED, staff
from kefu.storage.repo import wall_ms
from kefu.webhooks import delivery
from kefu.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

router = APIRouter(prefix="/api/v1/stores/{store}/webhooks", tags=["webhooks"])
ERRORS: dict[int | str, dict[str, Any]] = {**UNAUTHORIZED, **FORBIDDEN, **NOT_FOUND}
EndpointId = Annotated[int, Path(ge=1, le=2**62, description="The endpoint's id")]
DeliveryId = Annotated[int, Path(ge=1, le=2**62, description="The delivery's id")]


def action_types() -> list[str]:
    """Every action type the engine emits (what an endpoint may subscribe to)."""
    from kefu.engine import actions as act

    out = set()
    for obj in vars(act).values():
        if isinstance(obj, type) and issubclass(obj, act.Action) and obj is not act.Action:
            tag = obj.__struct_config__.tag
            if isinstance(tag, str):
                out.add(tag)
    return sorted(out)


def _check_url(v: str) -> str:
    if not (v.startswith("https://") or v.startswith("http://")) or len(v) < 10:
        raise ValueError("must be an http:// or https:// URL")
    if any(ch.isspace() for ch in v):
        raise ValueError("must not contain spaces")
    return v


def _check_types(v: list[str] | None) -> list[str] | None:
    if v is None:
        return None
    known = set(action_types())
    bad = [t for t in v if t not in known]
    if bad:
        raise ValueError(f"unknown action type {bad[0]!r}; known: {', '.join(sorted(known))}")
    return sorted(set(v))


def _check_channels(v: list[str] | None) -> list[str] | None:
    if v is None:
        return None
    for c in v:
        if not c or len(c) > 64 or any(ch.isspace() for ch in c):
            raise ValueError(f"channel {c!r} must be 1-64 characters without spaces")
    return sorted(set(v))


class EndpointIn(BaseModel):
    """A webhook endpoint to create."""

    url: str = Field(max_length=2000, description="http(s) URL receiving signed POSTs")
    types: list[str] = Field(default_factory=list, max_length=64,
                             description="Action types to send; empty: every type")  # fmt: skip
    channels: list[str] = Field(
        default_factory=list, max_length=64, description="Buyer channels; empty: every channel"
    )
    description: str = Field("", max_length=256)
    enabled: bool = True
    secret: str | None = Field(None, min_length=16, max_length=128,
                               description="Signing secret; default: a random one")  # fmt: skip

    _url = field_validator("url")(_check_url)
    _types = field_validator("types")(_check_types)
    _channels = field_validator("channels")(_check_channels)


class EndpointPatch(BaseModel):
    """Fields of an endpoint to change (absent: unchanged)."""

    url: str | None = Field(None, max_length=2000)
    types: list[str] | None = Field(None, max_length=64)
    channels: list[str] | None = Field(None, max_length=64)
    description: str | None = Field(None, max_length=256)
    enabled: bool | None = None
    rotate_secret: bool = Field(False, description="Replace the secret by a new random one")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return None if v is None else _check_url(v)

    _types = field_validator("types")(_check_types)
    _channels = field_validator("channels")(_check_channels)


class EndpointOut(BaseModel):
    """An endpoint; `secret` only in the answer that created or rotated it."""

    id: int
    url: str
    types: list[str]
    channels: list[str]
    description: str
    enabled: bool
    secret_hint: str = Field(description="The secret's last 4 characters")
    secret: str | None = None
    created_ms: int
    updated_ms: int
    pending: int = 0
    dead: int = 0
    delivered: int = 0


class EndpointList(BaseModel):
    """The store's endpoints and the action types they may subscribe to."""

    items: list[EndpointOut]
    action_types: list[str]


class DeliveryOut(BaseModel):
    """A delivery of one action to one endpoint."""

    id: int
    action_key: str
    action_type: str
    channel: str | None
    state: str
    attempts: int
    next_attempt_ms: int
    created_ms: int
    delivered_ms: int | None
    last_status: int | None
    last_error: str | None


class DeliveryPage(BaseModel):
    """Newest first; pass `next_before` as `before` for the next page (null: last page)."""

    items: list[DeliveryOut]
    next_before: int | None = None


class AttemptOut(BaseModel):
    """One HTTP attempt of the delivery log."""

    id: int
    delivery: int
    action_key: str
    action_type: str
    attempt: int
    started_ms: int
    latency_ms: int
    status_code: int | None
    ok: bool
    error: str | None
    worker: str = ""


class AttemptPage(BaseModel):
    """Newest first; pass `next_before` as `before` for the next page (null: last page)."""

    items: list[AttemptOut]
    next_before: int | None = None


class Redelivered(BaseModel):
    """How many deliveries were queued again."""

    queued: int


def _out(e: WebhookEndpoint, counts: dict[str, int] | None = None,
         secret: bool = False) -> EndpointOut:  # fmt: skip
    c = counts or {}
    return EndpointOut(id=e.id, url=e.url, types=list(e.types or []),
                       channels=list(e.channels or []), description=e.description,
                       enabled=e.enabled, secret_hint=e.secret[-4:],
                       secret=e.secret if secret else None, created_ms=e.created_ms,
                       updated_ms=e.updated_ms, pending=c.get("pending", 0) + c.get(
                           "delivering", 0), dead=c.get("dead", 0),
                       delivered=c.get("delivered", 0))  # fmt: skip


def _sessions(request: Request) -> Any:
    return request.app.state.service.sessions


def _endpoint(s: Any, store: str, endpoint: int) -> WebhookEndpoint:
    e = s.get(WebhookEndpoint, endpoint) if 0 < endpoint < 2**62 else None
    if e is None or e.store != store:
        raise HTTPException(404, "not found")
    return e


def _counts(s: Any, ids: list[int]) -> dict[int, dict[str, int]]:
    from sqlalchemy import func

    d = WebhookDelivery
    out: dict[int, dict[str, int]] = {}
    if not ids:
        return out
    q = select(d.endpoint, d.state, func.count()).where(d.endpoint.in_(ids))
    for ep, state, n in s.execute(q.group_by(d.endpoint, d.state)):
        out.setdefault(ep, {})[state] = int(n)
    return out


@router.get("", summary="List the store's webhook endpoints (supervisor)",
            response_model=EndpointList, responses=ERRORS)  # fmt: skip
def list_endpoints(
    store: str, request: Request, p: Principal = Depends(staff("supervisor"))
) -> Any:
    """Endpoints with their queue counts (pending, dead, delivered), oldest first."""
    with _sessions(request)() as s:
        rows = list(
            s.scalars(
                select(WebhookEndpoint)
                .where(WebhookEndpoint.store == store)
                .order_by(WebhookEndpoint.id)
                .limit(500)
            )
        )
        counts = _counts(s, [e.id for e in rows])
    return EndpointList(items=[_out(e, counts.get(e.id)) for e in rows],
                        action_types=action_types())  # fmt: skip


@router.post("", summary="Add a webhook endpoint (admin)", response_model=EndpointOut,
             status_code=201, responses=ERRORS)  # fmt: skip
def create_endpoint(
    store: str, body: EndpointIn, request: Request, p: Principal = Depends(staff("admin"))
) -> Any:
    """Subscribe a URL to action types (and channels); the answer shows the secret once."""
    now = wall_ms()
    with _sessions(request).begin() as s:
        n = s.scalar(
            select(WebhookEndpoint.id).where(WebhookEndpoint.store == store).offset(99).limit(1)
        )
        if n is not None:
            raise HTTPException(409, "a store has at most 100 webhook endpoints")
        e = WebhookEndpoint(store=store, url=body.url, secret=body.secret or delivery.new_secret(),
                            types=body.types, channels=body.channels,
                            description=body.description, enabled=body.enabled,
                            created_ms=now, updated_ms=now)  # fmt: skip
        s.add(e)
        s.flush()
        return _out(e, secret=True)


@router.get("/{endpoint}", summary="One webhook endpoint (supervisor)",
            response_model=EndpointOut, responses=ERRORS)  # fmt: skip
def get_endpoint(
    store: str, endpoint: EndpointId, request: Request, p: Principal = Depends(staff("supervisor"))
) -> Any:
    """The endpoint and its queue counts."""
    with _sessions(request)() as s:
        e = _endpoint(s, store, endpoint)
        return _out(e, _counts(s, [e.id]).get(e.id))


@router.patch("/{endpoint}", summary="Change a webhook endpoint (admin)",
              response_model=EndpointOut, responses=ERRORS)  # fmt: skip
def patch_endpoint(
    store: str,
    endpoint: EndpointId,
    body: EndpointPatch,
    request: Request,
    p: Principal = Depends(staff("admin")),
) -> Any:
    """URL, subscriptions, description, enabled; `rotate_secret` shows the new secret once."""
    with _sessions(request).begin() as s:
        e = _endpoint(s, store, endpoint)
        for name in ("url", "types", "channels", "description", "enabled"):
            value = getattr(body, name)
            if value is not None:
                setattr(e, name, value)
        if body.rotate_secret:
            e.secret = delivery.new_secret()
        e.updated_ms = wall_ms()
        s.flush()
        return _out(e, _counts(s, [e.id]).get(e.id), secret=body.rotate_secret)


@router.delete("/{endpoint}", summary="Remove a webhook endpoint (admin)", status_code=204,
               responses=ERRORS)  # fmt: skip
def delete_endpoint(
    store: str, endpoint: EndpointId, request: Request, p: Principal = Depends(staff("admin"))
) -> Response:
    """The endpoint, its queued deliveries and its log."""
    with _sessions(request).begin() as s:
        e = _endpoint(s, store, endpoint)
        s.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint == e.id))
        s.execute(delete(WebhookAttempt).where(WebhookAttempt.endpoint == e.id))
        s.delete(e)
    return Response(status_code=204)


@router.get("/{endpoint}/deliveries", summary="Deliveries of an endpoint (supervisor)",
            response_model=DeliveryPage, responses=ERRORS)  # fmt: skip
def list_deliveries(
    store: str,
    endpoint: EndpointId,
    request: Request,
    state: Literal["pending", "delivering", "delivered", "dead"] | None = Query(
        None, description="Only this state; `dead` is the dead-letter list"
    ),
    before: int | None = Query(None, ge=1, le=2**62, description="`next_before` of the last page"),
    limit: int = Query(50, ge=1, le=500),
    p: Principal = Depends(staff("supervisor")),
) -> Any:
    """Newest first, paged by id."""
    d = WebhookDelivery
    with _sessions(request)() as s:
        _endpoint(s, store, endpoint)
        q = select(d).where(d.store == store, d.endpoint == endpoint)
        if state is not None:
            q = q.where(d.state == state)
        rows, next_before = _newest_first(s, q, d.id, before, limit)
    items = [DeliveryOut.model_validate(r, from_attributes=True) for r in rows]
    return DeliveryPage(items=items, next_before=next_before)


@router.get("/{endpoint}/attempts", summary="Delivery log of an endpoint (supervisor)",
            response_model=AttemptPage, responses=ERRORS)  # fmt: skip
def list_attempts(
    store: str,
    endpoint: EndpointId,
    request: Request,
    ok: bool | None = Query(None, description="Only successful (true) or failed (false)"),
    before: int | None = Query(None, ge=1, le=2**62, description="`next_before` of the last page"),
    limit: int = Query(50, ge=1, le=500),
    p: Principal = Depends(staff("supervisor")),
) -> Any:
    """Every HTTP attempt: status code, latency, error; newest first, paged by id."""
    t = WebhookAttempt
    with _sessions(request)() as s:
        _endpoint(s, store, endpoint)
        q = select(t).where(t.store == store, t.endpoint == endpoint)
        if ok is not None:
            q = q.where(t.ok.is_(ok))
        rows, next_before = _newest_first(s, q, t.id, before, limit)
    items = [AttemptOut.model_validate(r, from_attributes=True) for r in rows]
    return AttemptPage(items=items, next_before=next_before)


def _newest_first(
    s: Session, q: Any, id_col: Any, before: int | None, limit: int
) -> tuple[list[Any], int | None]:
    """One page of `q` by descending id below `before`, and the cursor of the next page
    (None on the last): one row more than the page tells whether there is one."""
    if before is not None:
        q = q.where(id_col < before)
    rows = list(s.scalars(q.order_by(id_col.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more else None)


@router.post("/{endpoint}/deliveries/{delivery_id}/redeliver",
             summary="Send a dead or delivered delivery again (supervisor)",
             response_model=Redelivered, responses=ERRORS)  # fmt: skip
def redeliver_one(
    store: str,
    endpoint: EndpointId,
    delivery_id: DeliveryId,
    request: Request,
    p: Principal = Depends(staff("supervisor")),
) -> Any:
    """Queued again with a fresh set of attempts (same idempotency key); 409 while queued."""
    with _sessions(request).begin() as s:
        _endpoint(s, store, endpoint)
        d = s.get(WebhookDelivery, delivery_id) if 0 < delivery_id < 2**62 else None
        if d is None or d.store != store or d.endpoint != endpoint:
            raise HTTPException(404, "not found")
        if d.state not in ("dead", "delivered"):
            raise HTTPException(409, f"delivery is {d.state}: it is still queued")
        return Redelivered(queued=delivery.redeliver(s, store, [d.id]))


@router.post("/{endpoint}/redeliver-dead",
             summary="Queue the whole dead-letter list again (supervisor)",
             response_model=Redelivered, responses=ERRORS)  # fmt: skip
def redeliver_dead(
    store: str, endpoint: EndpointId, request: Request, p: Principal = Depends(staff("supervisor"))
) -> Any:
    """Every dead delivery of the endpoint (at most 10 000 per call)."""
    d = WebhookDelivery
    with _sessions(request).begin() as s:
        _endpoint(s, store, endpoint)
        ids = list(s.scalars(select(d.id).where(d.store == store, d.endpoint == endpoint,
                                                d.state == "dead").limit(10_000)))  # fmt: skip
        return Redelivered(queued=delivery.redeliver(s, store, ids))
