"""Urge-to-buy endpoints: stats per day and range, the detail list with transcripts, preview."""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from sqlalchemy import select

from kefu.api.deps import FORBIDDEN, UNAUTHORIZED, staff
from kefu.api.params import csv_download, csv_text, day_range
from kefu.engine.output import format_ts
from kefu.insight.metrics import URGE_IDS
from kefu.storage.models import Action, Message, Product
from kefu.urge.copy import MAX_LEN, generated_text
from kefu.urge.reviews import points
from kefu.urge.schemas import UrgePage, UrgePreview, UrgeStats

router = APIRouter(
    prefix="/api/v1/stores/{store}/urge",
    tags=["urge"],
    dependencies=[Depends(staff("supervisor"))],
    responses={**UNAUTHORIZED, **FORBIDDEN},
)


@router.get("/stats", summary="Urge stats (metrics.md §5) per day and for the range",
            response_model=UrgeStats)  # fmt: skip
def stats(
    request: Request,
    store: str,
    date_from: str | None = Query(None, alias="from", description="First day, YYYY-MM-DD."),
    date_to: str | None = Query(None, alias="to", description="Last day, YYYY-MM-DD."),
    fmt: str = Query("json", alias="format", pattern="^(json|csv)$"),
) -> Any:
    """Urged buyers, their orders and payments (counted on the order/payment day), conversion."""
    from kefu.insight.api import rollups_of

    lo, hi = day_range(date_from, date_to)
    doc = rollups_of(request).report([store], lo, hi, parts=["urge"])
    s = doc["stores"].get(store)
    if s is None:
        totals: dict[str, Any] = dict.fromkeys(URGE_IDS)
        totals.update(urged_buyers=0, urge_order_buyers=0, urge_order_amount=0.0,
                      urge_paid_amount=0.0)  # fmt: skip
        days: list[dict[str, Any]] = []
    else:
        totals = {k: s["totals"][k] for k in URGE_IDS}
        days = [{"day": d, **{k: v[k] for k in URGE_IDS}} for d, v in sorted(s["days"].items())]
    if fmt == "csv":
        rows = [[d["day"], *(d[k] for k in URGE_IDS)] for d in days]
        rows.append(["total", *(totals[k] for k in URGE_IDS)])
        return csv_download(csv_text(["day", *URGE_IDS], rows), f"urge-stats-{store}.csv")
    return {"store": store, "from": date_from, "to": date_to, "totals": totals, "days": days}


@router.get("/urges", summary="Urges sent, with their conversation transcripts",
            response_model=UrgePage)  # fmt: skip
def urges(
    request: Request,
    store: str,
    date_from: str | None = Query(None, alias="from"),
    date_to: str | None = Query(None, alias="to"),
    sender: str | None = Query(None, description="Only urges sent by this account."),
    buyer: str | None = Query(None, description="Only urges to this buyer."),
    after: int = Query(
        0, ge=0, le=2**63 - 1, description="Page: urges with a sequence number above this."
    ),
    limit: int = Query(50, ge=1, le=500),
    fmt: str = Query("json", alias="format", pattern="^(json|csv)$"),
    order: str = Query(
        "asc", pattern="^(asc|desc)$", description="desc: newest first, paged with `before`."
    ),
    before: int | None = Query(
        None, ge=1, le=2**63 - 1, description="Page (desc): urges with a sequence number below."
    ),
) -> Any:
    """One row per urge: buyer, sender, time, product, text and the transcript."""
    service = request.app.state.service
    tz = service.engine.settings(store).tz
    newest_first = order == "desc"
    q = select(Action.seq, Action.payload, Action.ts_ms).where(
        Action.store == store, Action.type == "urge.send", Action.seq > after
    )
    if before is not None:
        q = q.where(Action.seq < before)
    from datetime import datetime, time

    lo, hi = day_range(date_from, date_to)
    if lo is not None:
        q = q.where(Action.ts_ms >= int(datetime.combine(lo, time(), tz).timestamp() * 1000))
    if hi is not None:
        end = datetime.combine(hi, time(23, 59, 59, 999_000), tz)
        q = q.where(Action.ts_ms <= int(end.timestamp() * 1000))
    q = q.order_by(Action.seq.desc() if newest_first else Action.seq)
    q = q.limit(limit if fmt == "json" else 100_000)
    items: list[dict[str, Any]] = []
    with service.sessions() as s:
        for seq, payload, ts_ms in s.execute(q):
            a = msgspec.json.decode(payload)
            if (sender and a["sender"] != sender) or (buyer and a["buyer"] != buyer):
                continue
            transcript = [
                {"ts": format_ts(m.ts_ms, tz), "sender": m.sender, "agent": m.agent,
                 "text": m.text, "product": m.product}
                for m in s.scalars(
                    select(Message).where(Message.store == store,
                                          Message.conversation == a["conversation"])
                    .order_by(Message.seq)
                )
            ]  # fmt: skip
            items.append({"seq": seq, "ts": format_ts(ts_ms, tz), "buyer": a["buyer"],
                          "conversation": a["conversation"], "sender": a["sender"],
                          "product": a["product"], "text": a["text"],
                          "transcript": transcript})  # fmt: skip
    if fmt == "csv":
        rows = [[i["ts"], i["buyer"], i["sender"], i["product"], i["text"],
                 "\n".join(f"[{m['ts']}] {m['sender']}: {m['text']}" for m in i["transcript"])]
                for i in items]  # fmt: skip
        header = ["ts", "buyer", "sender", "product", "text", "transcript"]
        return csv_download(csv_text(header, rows), f"urges-{store}.csv")
    last = items[-1]["seq"] if items else None
    if newest_first:
        return {"items": items, "next_before": last}
    return {"items": items, "next_after": last}


@router.get("/preview", summary="What each copy mode would send for a product",
            response_model=UrgePreview)  # fmt: skip
def preview(request: Request, store: str, product: str) -> Any:
    """The `item`, `generated` and `generic` texts for `product`, with their lengths."""
    service = request.app.state.service
    settings = service.engine.settings(store).urge
    with service.sessions() as s:
        p = s.get(Product, (store, product))
    if p is None:
        raise HTTPException(404, f"no product {product!r} in store {store!r}")
    urge_text = None
    praised: list[str] = []
    with service.state_of(store) as st:
        if st is not None and product in st.products:
            urge_text = st.products[product].urge_text
            praised = points(st, product)
    texts = {
        "item": urge_text,
        "generated": generated_text(p.title, p.attrs, praised),
        "generic": settings.generic_text,
    }
    return {
        "product": product,
        "copy": settings.copy,
        "max_length": MAX_LEN,
        "texts": {k: {"text": v, "length": len(v) if v else 0} for k, v in texts.items()},
    }
