"""The live app with its attachments in a temporary folder, and small real images."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.accounts.support import Live, live_app


@pytest.fixture
def live(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    """A live app (SQLite and PostgreSQL) storing attachments under `tmp_path/att`."""
    monkeypatch.setenv("KEFU_SECRET", "test-secret")
    monkeypatch.setenv("KEFU_ATTACHMENTS", str(tmp_path / "att"))
    monkeypatch.delenv("KEFU_ATTACHMENT_MAX_BYTES", raising=False)
    with live_app(db_url) as app:
        yield app


def image(fmt: str = "PNG", size: tuple[int, int] = (800, 600), color: str = "red") -> bytes:
    """A real image of `size` in `fmt` (PNG, JPEG, WEBP, GIF)."""
    from PIL import Image

    out = io.BytesIO()
    mode = "RGBA" if fmt == "PNG" else "RGB"
    Image.new(mode, size, color).save(out, fmt)
    return out.getvalue()
