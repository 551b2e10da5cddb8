"""Query parameters and downloads shared by the report endpoints (urge, insight, guide)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date
from typing import Any

from fastapi import HTTPException
from fastapi.responses import Response


def parse_day(value: str | None, name: str) -> date | None:
    """A YYYY-MM-DD query value, or 422 naming the parameter."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"`{name}` must be a date YYYY-MM-DD, got {value!r}") from None


def day_range(date_from: str | None, date_to: str | None) -> tuple[date | None, date | None]:
    """The `from`/`to` days of a report; 422 when `from` is after `to`."""
    lo, hi = parse_day(date_from, "from"), parse_day(date_to, "to")
    if lo and hi and lo > hi:
        raise HTTPException(422, "`from` is after `to`")
    return lo, hi


def csv_text(header: list[str], rows: Iterable[list[Any]]) -> str:
    """CSV with a header row."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def csv_download(text: str, filename: str) -> Response:
    """A CSV attachment; the BOM makes spreadsheet apps read the Chinese correctly."""
    return Response(
        "\ufeff" + text,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )
