"""Helpers for kefu's tests: the shared real-data folder and service availability."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def in_ci() -> bool:
    """True under CI (`CI=true`): a missing service or data set fails instead of skipping."""
    return os.environ.get("CI", "").lower() == "true"


def shared_data_root() -> Path:
    """`../shared/data` next to the repository, or $KEFU_SHARED_DATA."""
    env = os.environ.get("KEFU_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def shared_data(rel_path: str) -> Path:
    """A file of the shared real data; skips the test when absent (fails under CI)."""
    import pytest

    path = shared_data_root() / rel_path
    if not path.exists():
        if in_ci():
            pytest.fail(f"shared data missing under CI: {path}")
        pytest.skip(f"shared data not available: {path}")
    return path


def redis_or_skip(url: str = "redis://127.0.0.1:6379/0") -> str:
    """`url` of the local Redis; skips the test when it does not answer (fails under CI)."""
    import socket

    import pytest

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        if in_ci():
            pytest.fail("Redis is required under CI=true")
        pytest.skip("Redis not reachable at 127.0.0.1:6379")
    return url


def spark_available() -> bool:
    """PySpark is installed and has a Java runtime."""
    import shutil

    try:
        import pyspark  # noqa: F401
    except ImportError:
        return False
    return shutil.which("java") is not None


def staff_headers(db: object, store: str, agent: str = "boss", role: str = "supervisor") -> dict:
    """Authorization headers of a fresh staff token (tests talking to the real API)."""
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from kefu.accounts.tokens import create_token
    from kefu.storage.db import make_engine

    engine = db if isinstance(db, Engine) else make_engine(str(db))
    with Session(engine) as s, s.begin():
        token = create_token(s, store, agent, role)
    return {"Authorization": f"Bearer {token}"}
