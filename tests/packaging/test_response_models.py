"""Typed responses (issue 19): every JSON route of the app declares a response model, and the
OpenAPI document — what the web app's TypeScript types are generated from — holds them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, get_args

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel

from kefu.runtime.service import EngineService
from kefu.server.app import create_app
from kefu.storage.db import make_engine

# Routes with no JSON body, and why: files, HTML, empty 204s, the SPA's own pages.
NOT_JSON = {
    ("GET", "/"): "the landing page (HTML)",
    ("GET", "/app"): "the web app's index (HTML, not in the schema)",
    ("GET", "/favicon.ico"): "an icon file",
    ("GET", "/api/v1/buyer/attachments/{attachment}"): "an image file",
    ("GET", "/api/v1/stores/{store}/attachments/{attachment}"): "an image file",
}
# WebSockets (/api/v1/ws/*) are not APIRoutes; CSV downloads (`format=csv`) are the same
# routes as their JSON and return a Response that bypasses the model.


@pytest.fixture
def app(db_url: str) -> Iterator[FastAPI]:
    engine = make_engine(db_url)
    yield create_app(EngineService(engine), tick_seconds=3600)
    engine.dispose()


def _routes(app: FastAPI) -> Iterator[tuple[str, str, Any]]:
    for ctx in iter_route_contexts(app.routes):
        if isinstance(ctx.original_route, APIRoute):
            for method in sorted(ctx.methods or ()):
                if method != "HEAD":
                    yield method, ctx.path, ctx


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):  # list[Model]
        found = _model_of(arg)
        if found is not None:
            return found
    return None


@pytest.mark.backends("sqlite")
def test_every_json_route_declares_a_response_model(app: FastAPI) -> None:
    missing = []
    for method, path, ctx in _routes(app):
        if (method, path) in NOT_JSON or ctx.status_code == 204:
            continue
        if _model_of(ctx.response_model) is None:
            missing.append(f"{method} {path}: {ctx.response_model!r}")
    assert not missing, "routes without a response model:\n" + "\n".join(missing)
    assert sum(1 for _ in _routes(app)) >= 90


@pytest.mark.backends("sqlite")
def test_the_openapi_document_holds_every_response_model(app: FastAPI) -> None:
    schemas = app.openapi()["components"]["schemas"]
    for method, path, ctx in _routes(app):
        model = _model_of(ctx.response_model)
        if model is None:
            continue
        assert model.__name__ in schemas, f"{method} {path}: {model.__name__}"
        fields = {f.alias or n for n, f in model.model_fields.items()}
        # not overwritten by an event schema of the same name
        assert set(schemas[model.__name__].get("properties", {})) == fields, model.__name__
    for name in ("ConversationView", "TranscriptItem", "InsightReport", "HandoffReport"):
        assert name in schemas
