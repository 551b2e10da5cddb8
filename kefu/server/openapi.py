"""The OpenAPI document of the HTTP API, made without serving it.

The build writes it (`kefu openapi web/openapi.json`) and generates the web app's TypeScript
types from it (`npm run api-types`, web/README.md): the routes' response models are the one
source of the JSON shapes both sides use.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any


def document() -> dict[str, Any]:
    """The document `/openapi.json` serves, from an app over a throwaway empty database."""
    from kefu.runtime.service import EngineService
    from kefu.server.app import create_app
    from kefu.storage.db import make_engine, upgrade

    with tempfile.TemporaryDirectory(prefix="kefu-openapi-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'kefu.db'}")
        try:
            upgrade(engine)
            service = EngineService(engine)
            try:
                return create_app(service).openapi()
            finally:
                service.close()
        finally:
            engine.dispose()


def render(doc: dict[str, Any]) -> str:
    """The document as stable, readable JSON (the same bytes for the same routes)."""
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def write(path: Path) -> bool:
    """Write the document to `path` unless it already holds it (so `make` rebuilds the web
    app only when the API changed); True when the file was written."""
    text = render(document())
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True
