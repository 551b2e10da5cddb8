"""The web app at `/app` (built from `web/` by the set-up step) and the small read routes it needs.

`mount_webapp(app)` serves `web/dist` with a single-page-app fallback: any path under `/app/`
that is not a file answers `index.html`, so a reload on `/app/workbench` works. Without a
build it answers a page saying how to build one instead of a bare 404. Hashed assets are
cached for a year; `index.html` and `widget.js` (a stable name shops embed) are revalidated.

The routes below give the pages what the conversation API leaves out: product cards (title,
price) for ids seen in chats, the buyer's orders for the workbench, the store's agents for the
transfer dialog and the agent's own status, and the widget's settings (button lifetime,
greeting). They are read-only and scoped like every other route: staff routes answer 404 for a
token of another store, buyer routes read the store from the buyer's signed token.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import select
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from kefu.accounts.tokens import Principal
from kefu.api.deps import FORBIDDEN, NOT_FOUND, UNAUTHORIZED, buyer, staff
from kefu.conversations.service import store_name
from kefu.engine.output import format_ts
from kefu.runtime.service import EngineService
from kefu.server.schemas import (
    AgentRows,
    OrderList,
    ProductCards,
    ShopCards,
    WidgetInfo,
)

PREFIX = "/app"
REPO_ROOT = Path(__file__).resolve().parents[2]
AUTH = {**UNAUTHORIZED, **FORBIDDEN, **NOT_FOUND}
MAX_IDS = 200

web_router = APIRouter(tags=["web app"])


def dist_dir() -> Path:
    """Where the built web app is: $KEFU_WEB_DIST, else `web/dist` of the checkout, else the
    copy packaged as `kefu/web/dist`."""
    env = os.environ.get("KEFU_WEB_DIST")
    if env:
        return Path(env)
    for candidate in (
        REPO_ROOT / "web" / "dist",
        Path(__file__).resolve().parents[1] / "web" / "dist",
    ):
        if (candidate / "index.html").is_file():
            return candidate
    return REPO_ROOT / "web" / "dist"


class SpaFiles(StaticFiles):
    """Static files with the single-page-app fallback and cache headers."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        """The file at `path`; `index.html` for an unknown route without a file extension."""
        try:
            response = await super().get_response(path, scope)
        except StarletteHTTPException as e:  # starlette raises for a missing file
            if e.status_code != 404 or "." in path.rsplit("/", 1)[-1]:
                raise
            response = await super().get_response("index.html", scope)
        if response.status_code == 404 and "." not in path.rsplit("/", 1)[-1]:
            response = await super().get_response("index.html", scope)
        if path.startswith("assets/"):
            response.headers["cache-control"] = "public, max-age=31536000, immutable"
        else:
            response.headers["cache-control"] = "no-cache"
        return response


NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>kefu web app not built</title>
<style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem}}
code{{background:#f1f3f6;padding:.1rem .35rem;border-radius:4px}}</style></head><body>
<h1>The web app is not built yet</h1>
<p>Run <code>make setup</code> in the kefu checkout to build the web app (it runs
<code>npm ci &amp;&amp; npm run build</code> in <code>web/</code>), then reload this page.</p>
<p>网页端尚未构建：请在 kefu 目录运行 <code>make setup</code>，然后刷新本页。</p>
<p>Looked for <code>{where}</code>. The API works without it: <a href="/docs">/docs</a>.</p>
</body></html>"""


def mount_webapp(app: FastAPI, dist: Path | None = None) -> None:
    """Serve the web app at `/app` and add its read routes; safe to call twice."""
    if getattr(app.state, "webapp_mounted", False):
        return
    app.state.webapp_mounted = True
    app.include_router(web_router)
    where = dist or dist_dir()

    @app.api_route(PREFIX, methods=["GET", "HEAD"], include_in_schema=False)
    def app_root() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/")

    # Browsers ask every site for /favicon.ico whatever the page links: answer with the icon.
    @app.api_route("/favicon.ico", methods=["GET", "HEAD"], include_in_schema=False)
    def favicon() -> Response:
        icon = where / "favicon.svg"
        if not icon.is_file():
            return Response(status_code=204)
        return Response(
            icon.read_bytes(),
            media_type="image/svg+xml",
            headers={"cache-control": "public, max-age=86400"},
        )

    if (where / "index.html").is_file():
        app.mount(PREFIX, SpaFiles(directory=where, html=True), name="webapp")
        return

    page = NOT_BUILT.format(where=escape(str(where)))

    @app.get(PREFIX + "/{path:path}", include_in_schema=False, response_class=HTMLResponse)
    def not_built(path: str) -> HTMLResponse:
        return HTMLResponse(page, status_code=503)


# -- read routes for the pages ----------------------------------------------------------------


def _service(request: Request) -> EngineService:
    svc: EngineService = request.app.state.service
    return svc


def _ids(raw: str | None) -> list[str]:
    ids = list(dict.fromkeys(i for i in (raw or "").split(",") if i))
    if len(ids) > MAX_IDS:
        raise HTTPException(422, f"`ids`: at most {MAX_IDS} products at once")
    return ids


def _products(
    svc: EngineService, store: str, ids: list[str], q: str, limit: int, on_sale_only: bool
) -> list[dict[str, Any]]:
    with svc.state_of(store) as st:
        catalogue = st.products if st is not None else {}
        if ids:
            found = [catalogue[i] for i in ids if i in catalogue]
        else:
            found = [
                p
                for _, p in sorted(catalogue.items())
                if (not on_sale_only or p.status == "on_sale")
                and (not q or q in p.title or q.lower() == p.product.lower())
            ][:limit]
        return [
            {
                "product": p.product,
                "title": p.title,
                "price": p.price,
                "category": p.category,
                "status": p.status,
                "stock": p.stock,
                "url": _page(p.attrs),
            }
            for p in found
        ]


def _page(attrs: dict[str, Any] | None) -> str | None:
    """The product's own page (`attrs.url`, set by the catalogue), if it is a web address."""
    url = (attrs or {}).get("url")
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None


@web_router.get(
    "/api/v1/stores/{store}/products",
    summary="Product cards (title, price, status)",
    response_model=ProductCards,
    responses=AUTH,
)
def staff_products(
    store: str,
    request: Request,
    p: Principal = Depends(staff()),
    ids: str | None = Query(None, description="Comma-separated product ids (at most 200)."),
    q: str = Query(
        "", max_length=200, description="Title contains, or the exact product id (when no ids)."
    ),
    limit: int = Query(50, ge=1, le=500),
) -> Any:
    """The catalogue entries of `ids` (unknown ids are left out), else products by id."""
    return {"items": _products(_service(request), store, _ids(ids), q, limit, False)}


@web_router.get(
    "/api/v1/stores/{store}/agents",
    summary="The store's agents and their load",
    response_model=AgentRows,
    responses=AUTH,
)
def staff_agents(store: str, request: Request, p: Principal = Depends(staff())) -> Any:
    """Every staff account the engine knows (not the assistant bot): status, groups, open
    conversations and capacity — the transfer dialog's list and the agent's own status."""
    from kefu.conversations.routing import capacity

    svc = _service(request)
    settings = svc.engine.settings(store)
    with svc.state_of(store) as st:
        agents = list(st.agents.values()) if st is not None else []
        rows = [
            {
                "agent": a.agent,
                "name": a.name,
                "role": a.role,
                "status": a.status,
                "groups": list(a.groups),
                "capacity": capacity(a, settings),
                "open": a.open,
            }
            for a in agents
            if a.role != "assistant"
        ]
    rows.sort(key=lambda r: str(r["agent"]))
    return {"items": rows}


@web_router.get(
    "/api/v1/stores/{store}/buyers/{buyer_id}/orders",
    summary="A buyer's recent orders (workbench)",
    response_model=OrderList,
    responses=AUTH,
)
def staff_buyer_orders(
    store: str,
    buyer_id: str,
    request: Request,
    p: Principal = Depends(staff()),
    limit: int = Query(20, ge=1, le=200),
) -> Any:
    """Newest first: amount, status (created, paid, cancelled), items with product titles."""
    from kefu.storage.models import Order, Payment

    svc = _service(request)
    tz = svc.engine.settings(store).tz
    q = (
        select(Order)
        .where(Order.store == store, Order.buyer == buyer_id)
        .order_by(Order.created_ms.desc())
        .limit(limit)
    )
    with svc.sessions() as s:
        orders = list(s.scalars(q))
        ids = [o.order_id for o in orders]
        paid: dict[str, int] = {}
        if ids:
            pq = select(Payment.order_id, Payment.paid_ms).where(
                Payment.store == store, Payment.order_id.in_(ids)
            )
            for oid, ms in s.execute(pq):
                paid.setdefault(str(oid), int(ms))
    with svc.state_of(store) as st:
        titles = {pid: pr.title for pid, pr in (st.products.items() if st else [])}
    items = []
    for o in orders:
        lines = [
            {
                "product": i.get("product"),
                "qty": i.get("qty", 1),
                "price": i.get("price"),
                "title": titles.get(str(i.get("product")), ""),
            }
            for i in (o.items or [])
            if isinstance(i, dict)
        ]
        items.append(
            {
                "order": o.order_id,
                "amount": o.amount,
                "status": o.status,
                "created": format_ts(o.created_ms, tz),
                "paid": format_ts(paid[o.order_id], tz) if o.order_id in paid else None,
                "items": lines,
            }
        )
    return {"items": items}


@web_router.get(
    "/api/v1/buyer/products",
    summary="Product cards for the widget and shop page",
    response_model=ShopCards,
    responses={**UNAUTHORIZED, **FORBIDDEN},
)
def buyer_products(
    request: Request,
    p: Principal = Depends(buyer),
    ids: str | None = Query(None, description="Comma-separated product ids (at most 200)."),
    limit: int = Query(12, ge=1, le=100),
) -> Any:
    """Cards of `ids`, else the first products on sale (the demo shop's grid)."""
    svc = _service(request)
    return {
        "items": _products(svc, p.store, _ids(ids), "", limit, True),
        "store": p.store,
        "name": store_name(svc, p.store),
    }


@web_router.get(
    "/api/v1/buyer/widget",
    summary="What the chat widget needs to know",
    response_model=WidgetInfo,
    responses={**UNAUTHORIZED, **FORBIDDEN},
)
def buyer_widget(request: Request, p: Principal = Depends(buyer)) -> Any:
    """The 转人工 button's lifetime after the bot's latest reply, and the greeting."""
    svc = _service(request)
    settings = svc.engine.settings(p.store)
    return {
        "store": p.store,
        "name": store_name(svc, p.store),
        "button_ttl_s": settings.handoff.ms("button_ttl") / 1000,
        "greeting": settings.bot.greeting if settings.bot.enabled else "",
    }
