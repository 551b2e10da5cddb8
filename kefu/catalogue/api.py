"""Catalogue endpoints: upload a CSV/XLSX, list and search, read, create or update, disable.

Every change is a `product` event logged through the engine service, as if the store's own
system had sent it: the shopping guide, the urge rules and the bot's product answers see the
product from the next message on, a restart or a replay rebuilds the same catalogue, and the
`products` table is projected from it. Reading is for every agent; changing for supervisors.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import msgspec
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field, field_validator

from kefu.accounts.tokens import Principal
from kefu.api.deps import FORBIDDEN, NOT_FOUND, UNAUTHORIZED, staff
from kefu.catalogue.parse import MAX_BYTES, CatalogueError, Parsed, parse
from kefu.catalogue.schemas import CatalogueImport, ProductOut, ProductPage
from kefu.engine.readers import Rejected

router = APIRouter(
    prefix="/api/v1/stores/{store}/catalogue",
    tags=["catalogue"],
    responses={**UNAUTHORIZED, **FORBIDDEN, **NOT_FOUND},
)
_BATCH = 1_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": "The file itself as the body (not a form): CSV (UTF-8, GB18030 or "
        "UTF-16) or XLSX. Header row with at least product (or sku), title, price.",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            XLSX: {"schema": {"type": "string", "format": "binary"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
_BAD_FILE: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "The file cannot be read at all (not CSV/XLSX, no header)",
        "content": {"application/json": {"example": {"detail": "the header has no price column"}}},
    }
}


class ProductIn(BaseModel):
    """A product as a supervisor types it (the id is in the path)."""

    title: str = Field(..., min_length=1, max_length=20_000)
    price: float = Field(..., ge=0, le=1e12)
    category: str = Field("", max_length=256)
    attrs: dict[str, Any] | None = Field(None, description="Attributes the bot answers from.")
    description: str | None = Field(None, max_length=20_000)
    status: Literal["on_sale", "off_sale", "out_of_stock"] = "on_sale"
    stock: int | None = Field(None, ge=0, le=2**31 - 1)
    urge_text: str | None = Field(None, max_length=20_000)
    url: str | None = Field(None, max_length=2_000, pattern=r"^https?://\S+$",
                            description="The product's page (kept as attrs.url).")  # fmt: skip

    @field_validator("title")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v.strip()


def _svc(request: Request) -> Any:
    return request.app.state.service


def product_out(p: Any) -> dict[str, Any]:
    """A ProductState as the API returns it (`url` lifted out of the attributes)."""
    attrs = dict(p.attrs or {})
    url = attrs.get("url")
    return {"product": p.product, "title": p.title, "price": p.price, "category": p.category,
            "status": p.status, "stock": p.stock, "attrs": attrs, "description": p.description,
            "urge_text": p.urge_text, "url": url if isinstance(url, str) else None}  # fmt: skip


def _same(current: Any, fields: dict[str, Any]) -> bool:
    """True when logging `fields` would not change the product (a re-upload of one file)."""
    if current is None:
        return False
    have = msgspec.structs.asdict(current)
    want = {"category": "", "status": "on_sale", "stock": None, "attrs": None,
            "description": None, "urge_text": None, **fields}  # fmt: skip
    return all(have.get(k) == v for k, v in want.items())


def import_rows(svc: Any, store: str, parsed: Parsed) -> dict[str, Any]:
    """Log the good rows as `product` events; rows the engine refuses join the rejected."""
    now = svc.clock.now()
    with svc.state_of(store) as st:
        current = dict(st.products) if st is not None else {}
    todo = [(line, f) for line, f in parsed.rows if not _same(current.get(f["product"]), f)]
    unchanged = len(parsed.rows) - len(todo)
    rejected = list(parsed.rejected)
    accepted = 0
    for i in range(0, len(todo), _BATCH):
        chunk = todo[i : i + _BATCH]
        events = [{"type": "product", "ts": now, "store": store, **f} for _, f in chunk]
        result = svc.ingest(events)
        accepted += result.accepted
        rejected.extend(Rejected(chunk[r.line - 1][0], r.field, r.reason) for r in result.rejected)
    rejected.sort(key=lambda r: r.line)
    return {"store": store, "format": parsed.format, "encoding": parsed.encoding,
            "rows": parsed.lines, "imported": accepted, "unchanged": unchanged,
            "rejected": [{"line": r.line, "field": r.field, "reason": r.reason,
                          "code": parsed.codes.get(r.line, ("invalid", ""))[0],
                          "value": parsed.codes.get(r.line, ("invalid", ""))[1]}
                         for r in rejected],
            "ignored_columns": parsed.ignored_columns}  # fmt: skip


@router.post("/import", summary="Upload a catalogue CSV or XLSX (supervisor)",
             openapi_extra=_UPLOAD_BODY, responses=_BAD_FILE,
             response_model=CatalogueImport)  # fmt: skip
async def upload(
    request: Request, store: str, _: Principal = Depends(staff("supervisor"))
) -> dict[str, Any]:
    """Good rows become products at once; each bad row is listed with its line, the field
    and the reason, and the rest of the file is still imported. Rows equal to the product
    as it stands are counted as `unchanged` and not logged again."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BYTES:
        raise HTTPException(413, f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    data = await request.body()
    try:
        parsed = await asyncio.to_thread(parse, data)
    except CatalogueError as err:
        raise HTTPException(422, str(err)) from None
    return await asyncio.to_thread(import_rows, _svc(request), store, parsed)


@router.get("/products", summary="The store's products: search and pages",
            response_model=ProductPage)  # fmt: skip
def list_products(
    request: Request,
    store: str,
    q: str = Query("", max_length=200, description="In the title, id or category (any case)."),
    category: str | None = Query(None, max_length=256),
    status: Literal["on_sale", "off_sale", "out_of_stock"] | None = Query(None),
    offset: int = Query(0, ge=0, le=2**31 - 1),
    limit: int = Query(50, ge=1, le=500),
    _: Principal = Depends(staff()),
) -> dict[str, Any]:
    """Sorted by id; `total` counts every match (for the pager)."""
    svc = _svc(request)
    needle = q.strip().lower()
    with svc.state_of(store) as st:
        products = [p for _, p in sorted(st.products.items())] if st is not None else []
    found = [
        p
        for p in products
        if (status is None or p.status == status)
        and (category is None or p.category == category)
        and (not needle or needle in f"{p.title}\n{p.product}\n{p.category}".lower())
    ]
    return {"store": store, "total": len(found), "offset": offset,
            "items": [product_out(p) for p in found[offset : offset + limit]]}  # fmt: skip


def _get(svc: Any, store: str, product: str) -> Any:
    with svc.state_of(store) as st:
        p = st.products.get(product) if st is not None else None
    if p is None:
        raise HTTPException(404, "not found")
    return p


@router.get("/products/{product}", summary="One product with its attributes and urge text",
            response_model=ProductOut)  # fmt: skip
def get_product(
    request: Request, store: str, product: str, _: Principal = Depends(staff())
) -> dict[str, Any]:
    """404 when the store has no such product."""
    return product_out(_get(_svc(request), store, product))


def _log(svc: Any, event: dict[str, Any]) -> None:
    result = svc.ingest([event])
    if result.rejected:
        r = result.rejected[0]
        raise HTTPException(422, f"{r.field}: {r.reason}" if r.field else r.reason)


@router.put("/products/{product}", summary="Create or update a product (supervisor)",
            response_model=ProductOut)  # fmt: skip
def put_product(
    request: Request, store: str, product: str, body: ProductIn,
    _: Principal = Depends(staff("supervisor")),
) -> dict[str, Any]:  # fmt: skip
    """Logs a `product` event; the guide, urge and bot use it from the next message on."""
    if not product.strip() or len(product) > 256:
        raise HTTPException(422, "product: 1 to 256 characters")
    svc = _svc(request)
    fields = body.model_dump(exclude={"url"}, exclude_none=True)
    attrs = dict(body.attrs or {})
    if body.url:
        attrs["url"] = body.url
    fields["attrs"] = attrs or None
    _log(svc, {"type": "product", "ts": svc.clock.now(), "store": store, "product": product,
               **{k: v for k, v in fields.items() if v is not None}})  # fmt: skip
    return product_out(_get(svc, store, product))


@router.post("/products/{product}/disable", summary="Take a product off sale (supervisor)",
             response_model=ProductOut)  # fmt: skip
def disable_product(
    request: Request, store: str, product: str, _: Principal = Depends(staff("supervisor"))
) -> dict[str, Any]:
    """Logs the product again with `status: off_sale` (its other fields stay): urges stop and
    the bot says it is no longer on sale. PUT it with `on_sale` to bring it back."""
    svc = _svc(request)
    p = _get(svc, store, product)
    fields = {k: v for k, v in msgspec.structs.asdict(p).items() if v is not None}
    _log(svc, {"type": "product", "ts": svc.clock.now(), "store": store,
               **fields, "status": "off_sale"})  # fmt: skip
    return product_out(_get(svc, store, product))
