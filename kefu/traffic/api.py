"""Product-card traffic (§7) and market keyword (§8) endpoints of one store, JSON or CSV.

Supervisors only, like every report. Facts are rebuilt from the event log when it grew since
the last request (exact; kept per process; no roll-ups yet). Churn destinations read the
other stores' orders but only ever answer with thresholded category aggregates
(kefu.traffic.reports).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request

from kefu.api.deps import FORBIDDEN, UNAUTHORIZED, staff
from kefu.api.params import csv_download, csv_text, day_range, parse_day
from kefu.traffic.schemas import (
    Audience,
    Churn,
    KeywordImport,
    ProductFunnel,
    Ranking,
    Suggestions,
    TrafficReport,
    TrafficToday,
)

router = APIRouter(
    prefix="/api/v1/stores/{store}",
    tags=["traffic"],
    dependencies=[Depends(staff("supervisor"))],
    responses={**UNAUTHORIZED, **FORBIDDEN},
)
_FROM = Query(None, alias="from", description="First day, YYYY-MM-DD (store-local).")
_TO = Query(None, alias="to", description="Last day, YYYY-MM-DD, inclusive.")
KEYWORD_COLUMNS = (
    "keyword",
    "days",
    "search_popularity",
    "online_products",
    "competition",
    "click_share",
    "rank_popularity",
    "rank_competition",
    "rank_click_share",
)
_FMT = Query("json", alias="format", pattern="^(json|csv)$")


def _session(request: Request, store: str, others: bool = False) -> Any:
    """A report session over the store's card-traffic facts (fed with the new events)."""
    from kefu.traffic.follow import follower_of
    from kefu.traffic.metrics import Session

    return Session(follower_of(request.app.state).tables(store, others))


@router.get("/traffic", summary="Product-card traffic (metrics.md §7)",
            response_model=TrafficReport)  # fmt: skip
def traffic(
    request: Request,
    store: str,
    date_from: str | None = _FROM,
    date_to: str | None = _TO,
    by: str = Query("overall", pattern="^(overall|source|product|product_source|day)$"),
    fmt: str = _FMT,
    compare: bool = Query(False, description="Add the previous period (needs from and to)."),
) -> Any:
    """Every `card_` id for the range, by overall/source/product/product_source/day; with
    `compare`, each id's previous-period value and change."""
    from kefu.traffic import reports
    from kefu.traffic.metrics import IDS, Window
    from kefu.traffic.render import BY, compare_ids, compare_rows, csv_of, rows

    lo, hi = day_range(date_from, date_to)
    session = _session(request, store)
    if compare:
        if lo is None or hi is None or by == "product_source":
            raise HTTPException(422, "`compare` needs `from` and `to`, and not by product_source")
        period = reports.period(session, store, lo, hi, ("total", BY[by][0]))
        if fmt == "csv":
            records = [(store, k, v) for k, v in compare_rows(period, by)]
            return csv_download(csv_of(by, records, compare_ids(IDS)),
                                f"traffic-{store}-{by}-compare.csv")  # fmt: skip
        return {"by": by, **period}
    doc = session.metrics(Window.days(lo, hi), (BY[by][0],), store)["stores"][store]
    found = rows(doc, by)
    if fmt == "csv":
        return csv_download(csv_of(by, [(store, k, v) for k, v in found], IDS),
                            f"traffic-{store}-{by}.csv")  # fmt: skip
    return {"store": store, "from": date_from, "to": date_to, "by": by,
            "rows": [{**k, **v} for k, v in found]}  # fmt: skip


@router.get("/traffic/today", summary="Today by hour against yesterday (real time)",
            response_model=TrafficToday)  # fmt: skip
def today(request: Request, store: str) -> dict[str, Any]:
    """Today's §7 ids until now, hour by hour, next to yesterday's hours; today's totals so
    far against yesterday's until the same time of day."""
    from kefu.traffic import reports
    from kefu.traffic.facts import LocalTime

    service = request.app.state.service
    clock = LocalTime(service.config)
    return reports.realtime(_session(request, store), store, service.clock.now(), clock)


@router.get("/traffic/products/{product}", summary="One product's card funnel across sources",
            response_model=ProductFunnel)  # fmt: skip
def product_funnel(
    request: Request,
    store: str,
    product: str,
    date_from: str | None = _FROM,
    date_to: str | None = _TO,
) -> dict[str, Any]:
    """Impression → click → order → payment users of a product, overall and per source."""
    from kefu.traffic import reports
    from kefu.traffic.metrics import Window

    lo, hi = day_range(date_from, date_to)
    return reports.funnel(_session(request, store), store, product, Window.days(lo, hi))


@router.get("/traffic/audience", summary="Card audience by source and by whether they bought",
            response_model=Audience)  # fmt: skip
def audience(
    request: Request, store: str, date_from: str | None = _FROM, date_to: str | None = _TO
) -> dict[str, Any]:
    """Card click users by province, gender, age band and new/returning; per source."""
    from kefu.traffic import reports
    from kefu.traffic.metrics import Window

    lo, hi = day_range(date_from, date_to)
    return reports.audience(_session(request, store), store, Window.days(lo, hi))


@router.get("/traffic/churn", summary="Churned card clickers and where they went",
            response_model=Churn)  # fmt: skip
def churn(
    request: Request,
    store: str,
    date_from: str | None = _FROM,
    date_to: str | None = _TO,
    source: str | None = Query(None, pattern="^(search|shop|recommend|cart|orders|chat|other)$"),
) -> dict[str, Any]:
    """Clickers who paid nothing here in the range, and the categories they bought in the
    deployment's other stores (no store, product or buyer is ever named)."""
    from kefu.traffic import reports
    from kefu.traffic.metrics import Window

    lo, hi = day_range(date_from, date_to)
    session = _session(request, store, others=True)
    return reports.churn(session, store, Window.days(lo, hi), source)


# -- keywords ---------------------------------------------------------------------------------
def _keywords_db(request: Request) -> Any:
    from sqlalchemy import inspect

    db = request.app.state.service.db
    if not inspect(db).has_table("market_keywords"):
        raise HTTPException(503, "keyword data is not set up: run `kefu db upgrade`")
    return db


def _ranked(request: Request, store: str, window: int, to: str | None, sort: str,
            limit: int | None) -> dict[str, Any]:  # fmt: skip
    from kefu.traffic.keywords import load, rank

    last = parse_day(to, "to")
    table = load(_keywords_db(request), store, last=last)
    return {"store": store, **rank(table, window, last, sort, limit)}


@router.get("/keywords", summary="Market keywords ranked over a window (metrics.md §8)",
            response_model=Ranking)  # fmt: skip
def keywords(
    request: Request,
    store: str,
    window: int = Query(7, ge=1, le=366, description="Days in the window."),
    to: str | None = Query(None, description="Last day (default: the latest imported)."),
    sort: str = Query("popularity", pattern="^(popularity|competition|click_share)$"),
    limit: int | None = Query(None, ge=1, le=100_000),
    fmt: str = _FMT,
) -> Any:
    """Each keyword's mean popularity, online products, competition and click share over
    the window, with its three ranks."""
    out = _ranked(request, store, window, to, sort, limit)
    if fmt == "csv":
        cols = list(KEYWORD_COLUMNS)
        body = [[k[c] for c in cols] for k in out["keywords"]]
        return csv_download(csv_text(cols, body), f"keywords-{store}.csv")
    return out


@router.get("/keywords/suggest", summary="Title keywords for a product",
            response_model=Suggestions)  # fmt: skip
def keyword_suggestions(
    request: Request,
    store: str,
    product: str | None = Query(None, description="A catalogue product (title, category)."),
    title: str | None = Query(None, description="Or a title to try."),
    window: int = Query(7, ge=1, le=366),
    to: str | None = None,
    limit: int = Query(10, ge=1, le=100),
) -> dict[str, Any]:
    """Keywords sharing a word with the product's title or category, best first."""
    from sqlalchemy import select

    from kefu.storage.models import Product
    from kefu.traffic.keywords import suggest

    category = ""
    if product is not None:
        with request.app.state.service.db.connect() as conn:
            row = conn.execute(select(Product.title, Product.category).where(
                Product.store == store, Product.product == product)).first()  # fmt: skip
        if row is None:
            raise HTTPException(404, "no such product")
        title, category = row[0], row[1] or ""
    if not title:
        raise HTTPException(422, "give `product` or `title`")
    ranked = _ranked(request, store, window, to, "popularity", None)
    return {"store": store, "product": product, "title": title, "from": ranked["from"],
            "to": ranked["to"], "suggestions": suggest(ranked, title, category, limit)}  # fmt: skip


@router.post("/keywords", summary="Import daily keyword data (CSV body)",
             response_model=KeywordImport)  # fmt: skip
def import_keywords(
    request: Request,
    store: str,
    body: str = Body(
        ...,
        media_type="text/csv",
        description="date, keyword, search_popularity, online_products, click_share",
    ),
) -> dict[str, Any]:
    """Bad lines are refused with line, field and reason; good lines are stored."""  # fmt: skip
    from kefu.traffic.keywords import KeywordFileError, parse_csv, save

    try:
        parsed = parse_csv(body.lstrip("\ufeff"))
    except KeywordFileError as e:
        raise HTTPException(422, str(e)) from None
    n = save(_keywords_db(request), store, parsed.rows)
    return {"store": store, "lines": parsed.lines, "imported": n,
            "rejected": [{"line": e.line, "field": e.field, "reason": e.reason}
                         for e in parsed.errors]}  # fmt: skip
