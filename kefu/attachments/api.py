"""Images in chat over REST: upload (which sends the message) and authorised download.

An upload is the raw image as the request body (no multipart: no extra parser, and the size
limit holds while the body streams in). The server checks the size (413), finds the type
from the bytes (415 unless JPEG, PNG, WebP or GIF that decodes), stores the original and a
JPEG thumbnail under the image's SHA-256 in the store's namespace, and sends a `message`
event whose `attachments` names the image — the same events path as a text message, so the
engine, the outbox, the transcript and the WebSocket fan-out see it like any message.

Downloads are never public: staff read their own store's images; a buyer reads only images of
messages in their own conversations. Ids are content hashes checked against the caller's
store, so an id from another store is a 404.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, Field
from sqlalchemy import Text, cast, select

from kefu.accounts.tokens import Principal
from kefu.api.deps import FORBIDDEN, NOT_FOUND, UNAUTHORIZED, buyer, staff
from kefu.attachments import images
from kefu.attachments.storage import Storage, from_env, key_of
from kefu.conversations import service as live
from kefu.conversations.api import CONFLICT, _emit, _shown, _writable
from kefu.runtime.service import EngineService
from kefu.storage import models

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
ACCEPTED_TYPES = (*images.ALLOWED, "application/octet-stream")

buyer_router = APIRouter(prefix="/api/v1/buyer", tags=["attachments"])
staff_router = APIRouter(prefix="/api/v1/stores/{store}", tags=["attachments"])

AUTH = {**UNAUTHORIZED, **FORBIDDEN, **NOT_FOUND}
LIMITS: dict[int | str, dict[str, Any]] = {
    413: {"description": "The image is larger than the limit (bytes or pixels)", "content": {
        "application/json": {"example": {"detail": "file: 13107200 bytes is over the limit of "
                                                   "10485760 bytes (10 MiB)"}}}},
    415: {"description": "Not a JPEG, PNG, WebP or GIF image (checked from its bytes)",
          "content": {"application/json": {"example": {
              "detail": "file: not an allowed image type (image/jpeg, image/png, image/webp, "
                        "image/gif)"}}}},
    422: {"description": "Empty body or bad parameters", "content": {
        "application/json": {"example": {"detail": "file: the request body is empty"}}}},
}  # fmt: skip
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": "The image's bytes as the whole body. Content-Type: the image's own "
        "type (image/jpeg, image/png, image/webp, image/gif) or application/octet-stream; the "
        "type is checked from the bytes either way.",
        "content": {"application/octet-stream": {"schema": {"type": "string",
                                                            "format": "binary"}}},
    }
}  # fmt: skip
AttachmentId = PathParam(pattern="^[0-9a-f]{64}$", description="The image's SHA-256 (hex).")
Size = Query("full", description="`full`: the original; `thumb`: a JPEG of at most 320 px.")


class Attachments:
    """The storage back-end and the size limit of one app (`app.state.attachments`)."""

    def __init__(self, storage: Storage, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.storage = storage
        self.max_bytes = max_bytes

    def save(self, store: str, data: bytes, name: str | None) -> dict[str, Any]:
        """Check, store (original and thumbnail) and describe an image; ImageError if bad."""
        import hashlib

        kind, width, height = images.inspect(data)
        digest = hashlib.sha256(data).hexdigest()
        if not self.storage.exists(key_of(store, digest)):
            self.storage.put(key_of(store, digest, thumb=True), images.thumbnail(data),
                             images.THUMB_TYPE)  # fmt: skip
            self.storage.put(key_of(store, digest), data, kind)  # last: marks it complete
        ref: dict[str, Any] = {"id": digest, "type": kind, "size": len(data), "width": width,
                               "height": height}  # fmt: skip
        if name:
            ref["name"] = name
        return ref

    def read(self, store: str, digest: str, size: str) -> tuple[bytes, str] | None:
        """(bytes, media type) of an image or its thumbnail; None when not in this store."""
        data = self.storage.get(key_of(store, digest))
        if data is None:
            return None
        if size == "thumb":
            thumb = self.storage.get(key_of(store, digest, thumb=True))
            if thumb is None:  # an image stored by another path: make its thumbnail now
                thumb = images.thumbnail(data)
                self.storage.put(key_of(store, digest, thumb=True), thumb, images.THUMB_TYPE)
            return thumb, images.THUMB_TYPE
        return data, images.sniff(data) or "application/octet-stream"


def attachments_of(request: Request) -> Attachments:
    """The app's attachments (made on first use from the environment: see storage.py)."""
    state = request.app.state
    got: Attachments | None = getattr(state, "attachments", None)
    if got is None:
        svc: EngineService = state.service
        url = svc.db.url
        sqlite_file = url.database if url.get_backend_name() == "sqlite" else None
        limit = os.environ.get("KEFU_ATTACHMENT_MAX_BYTES", "")
        got = Attachments(from_env(sqlite_file),
                          int(limit) if limit.isdigit() else DEFAULT_MAX_BYTES)  # fmt: skip
        state.attachments = got
    return got


def _limit(att: Attachments) -> str:
    mib = att.max_bytes / 1024 / 1024
    return f"the limit of {att.max_bytes} bytes ({mib:.4g} MiB)"


async def _body(request: Request, att: Attachments) -> bytes:
    """The request body, refused early when over the limit or not an image type."""
    declared = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if declared not in ACCEPTED_TYPES:
        raise HTTPException(415, f"file: Content-Type {declared or '(none)'} is not accepted; "
                                 f"send {', '.join(ACCEPTED_TYPES)}")  # fmt: skip
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > att.max_bytes:
        raise HTTPException(413, f"file: {int(length)} bytes is over {_limit(att)}")
    buf = bytearray()
    async for chunk in request.stream():
        buf += chunk
        if len(buf) > att.max_bytes:
            raise HTTPException(413, f"file: over {_limit(att)}")
    if not buf:
        raise HTTPException(422, "file: the request body is empty")
    return bytes(buf)


async def _store(request: Request, store: str, name: str | None) -> dict[str, Any]:
    att = attachments_of(request)
    data = await _body(request, att)
    try:
        return await asyncio.to_thread(att.save, store, data, name)
    except images.ImageError as e:
        status = 413 if e.reason.startswith("image too large") else 415
        raise HTTPException(status, f"file: {e.reason}") from None


class Sent(BaseModel):
    """The image message sent: its conversation, the image and the actions it produced."""

    conversation: str | None
    attachment: dict[str, Any] = Field(
        examples=[{"id": "9f86d0…", "type": "image/png", "size": 48213, "width": 800,
                   "height": 600}])  # fmt: skip
    actions: list[dict[str, Any]]


def _event(store: str, buyer_id: str, sender: str, ref: dict[str, Any], text: str,
           agent: str | None = None) -> dict[str, Any]:  # fmt: skip
    ev: dict[str, Any] = {"type": "message", "store": store, "buyer": buyer_id, "sender": sender,
                          "text": text, "attachments": [ref]}  # fmt: skip
    if agent is not None:
        ev["agent"] = agent
    return ev


def _image(data: bytes, kind: str) -> Response:
    # Content-addressed: the bytes under an id never change. Private: never in shared caches.
    return Response(content=data, media_type=kind, headers={
        "Cache-Control": "private, max-age=31536000, immutable",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Content-Disposition": "inline",
    })  # fmt: skip


Caption = Query("", max_length=2000, description="Text sent with the image (optional).")
FileName = Query(None, max_length=256, description="The file's name, shown as alt text.")


@buyer_router.post("/attachments", summary="Send an image (the raw image as the body)",
                   status_code=201, response_model=Sent, openapi_extra=UPLOAD_BODY,
                   responses={**UNAUTHORIZED, **FORBIDDEN, **LIMITS})  # fmt: skip
async def buyer_upload(
    request: Request, p: Principal = Depends(buyer), text: str = Caption,
    name: str | None = FileName,
) -> Any:  # fmt: skip
    """A buyer `message` with the image in `attachments` (and `text` as its caption); the
    bot or the serving agent sees it like any message."""
    assert p.buyer is not None
    ref = await _store(request, p.store, name)
    svc: EngineService = request.app.state.service
    result = await _emit(svc, _event(p.store, p.buyer, "buyer", ref, text))
    conv = live.buyer_conversation(svc, p.store, p.buyer)
    return Sent(conversation=conv, attachment=ref,
                actions=_shown(svc, result, p.buyer, live.BUYER_ACTIONS))  # fmt: skip


@buyer_router.get("/attachments/{attachment}", summary="An image of my conversations",
                  response_class=Response, responses={
                      **UNAUTHORIZED, **FORBIDDEN, **NOT_FOUND,
                      200: {"content": {t: {} for t in images.ALLOWED}}})  # fmt: skip
def buyer_download(
    request: Request, attachment: str = AttachmentId, size: Literal["full", "thumb"] = Size,
    p: Principal = Depends(buyer),
) -> Response:  # fmt: skip
    """Only an image sent in one of the buyer's own conversations (by them or to them)."""
    svc: EngineService = request.app.state.service
    q = select(models.Message.seq).where(
        models.Message.store == p.store,
        models.Message.buyer == p.buyer,
        models.Message.attachments.is_not(None),
        cast(models.Message.attachments, Text).contains(attachment, autoescape=True),
    )
    with svc.sessions() as s:
        if s.scalars(q.limit(1)).first() is None:
            raise HTTPException(404, "not found")
    got = attachments_of(request).read(p.store, attachment, size)
    if got is None:
        raise HTTPException(404, "not found")
    return _image(*got)


@staff_router.post("/conversations/{conversation}/attachments",
                   summary="Send an image to the buyer (the raw image as the body)",
                   status_code=201, response_model=Sent, openapi_extra=UPLOAD_BODY,
                   responses={**AUTH, **CONFLICT, **LIMITS})  # fmt: skip
async def agent_upload(
    store: str, conversation: str, request: Request, p: Principal = Depends(staff()),
    text: str = Caption, name: str | None = FileName,
) -> Any:  # fmt: skip
    """A `message` with sender `agent` and the image, in one of the caller's open
    conversations (any open one for supervisors and admins)."""
    svc: EngineService = request.app.state.service
    conv = _writable(svc, p, conversation)
    ref = await _store(request, store, name)
    res = await _emit(svc, _event(store, conv.buyer, "agent", ref, text, p.agent))
    return Sent(conversation=conversation, attachment=ref,
                actions=_shown(svc, res, conv.buyer, live.STAFF_ACTIONS))  # fmt: skip


@staff_router.get("/attachments/{attachment}", summary="An image of this store",
                  response_class=Response, responses={
                      **AUTH, 200: {"content": {t: {} for t in images.ALLOWED}}})  # fmt: skip
def staff_download(
    store: str, request: Request, attachment: str = AttachmentId,
    size: Literal["full", "thumb"] = Size, p: Principal = Depends(staff()),
) -> Response:  # fmt: skip
    """Any image sent in the store's conversations; 404 for ids of other stores."""
    got = attachments_of(request).read(store, attachment, size)
    if got is None:
        raise HTTPException(404, "not found")
    return _image(*got)


routers = (buyer_router, staff_router)
