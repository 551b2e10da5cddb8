"""Health check: the process is up and its database answers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from kefu import __version__
from kefu.server.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/api/v1/health", summary="Liveness and database check", response_model=Health)
def health(request: Request) -> Any:
    """200 with the engine's store count when the database answers, 503 otherwise."""
    service = request.app.state.service
    try:
        with service.db.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as e:  # the health check reports, it does not raise
        return JSONResponse({"status": "error", "database": str(e)[:200]}, status_code=503)
    return {
        "status": "ok",
        "version": __version__,
        "database": service.db.dialect.name,
        "stores": len(service.stores()),
    }
