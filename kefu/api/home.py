"""The landing page `/`: what this server is, its stores, and where to go next."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from kefu import __version__

router = APIRouter(tags=["health"])
EMPTY = "<li>No store yet: POST events to /api/v1/events</li>"


@router.get("/", response_class=HTMLResponse, summary="Landing page")
def home(request: Request) -> str:
    """A small page listing the stores this server holds and the API's entry points."""
    service = request.app.state.service
    stores = sorted(service.engine.states)
    rows = "".join(
        f"<li><code>{escape(s)}</code> — "
        f'<a href="/api/v1/stores/{escape(s)}/actions?limit=50">actions</a></li>'
        for s in stores
    )
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>kefu 客服 {__version__}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:46rem;margin:3rem auto;padding:0 1rem}}
code{{background:#f3f3f3;padding:0 .25rem}}</style></head><body>
<h1>kefu 客服</h1>
<p>Customer service for e-commerce stores — events in, actions out.</p>
<ul>
<li><a href="/docs">API documentation (OpenAPI)</a></li>
<li><a href="/api/v1/health">Health</a></li>
</ul>
<h2>Stores ({len(stores)})</h2><ul>{rows or EMPTY}</ul>
</body></html>"""
