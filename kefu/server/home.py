"""The landing page `/`: what this server is, its stores, and where to go next."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from kefu import __version__

router = APIRouter(tags=["health"])


@router.get("/", response_class=HTMLResponse, summary="Landing page")
def home() -> str:
    """Where to go next: the web app, the API docs, health. Names no store (tenant isolation)."""
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>kefu 客服 {__version__}</title><link rel="icon" type="image/svg+xml" href="/app/favicon.svg">
<style>body{{font-family:system-ui,sans-serif;max-width:46rem;margin:3rem auto;padding:0 1rem}}
code{{background:#f3f3f3;padding:0 .25rem}}</style></head><body>
<h1>kefu 客服</h1>
<p>Customer service for e-commerce stores — events in, actions out.</p>
<ul>
<li><a href="/app/">Web app: workbench, supervisor, settings (工作台 / 主管看板)</a></li>
<li><a href="/app/shop.html">Demo shop with the buyer chat widget</a></li>
<li><a href="/docs">API documentation (OpenAPI)</a></li>
<li><a href="/api/v1/health">Health</a></li>
</ul>
<p>Sign in with a token from <code>kefu token create --store S --agent A --role agent</code>.</p>
</body></html>"""
