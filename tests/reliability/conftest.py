"""Shared pieces of the reliability and security tests: the live app, Redis, the routes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tests.accounts.support import live

__all__ = ["live"]


def app_routes(app: Any) -> Iterator[tuple[str, str]]:
    """(method, path) of every route the app serves: HTTP methods (HEAD left out), `WS` for
    WebSockets, `MOUNT` for mounted sub-apps (static files)."""
    from starlette.routing import Mount, WebSocketRoute

    try:  # FastAPI ≥ 0.13x keeps included routers lazily
        from fastapi.routing import iter_route_contexts

        contexts: list[Any] = list(iter_route_contexts(app.routes))
        pairs = [(c.original_route, c.path, c.methods) for c in contexts]
    except ImportError:  # older FastAPI: app.routes is flat
        pairs = [(r, getattr(r, "path", ""), getattr(r, "methods", None)) for r in app.routes]
    for route, path, methods in pairs:
        if isinstance(route, WebSocketRoute) or type(route).__name__ == "APIWebSocketRoute":
            yield "WS", path
        elif isinstance(route, Mount):
            yield "MOUNT", path
        else:
            for m in sorted(methods or ()):
                if m != "HEAD":
                    yield m, path
