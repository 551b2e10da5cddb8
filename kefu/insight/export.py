"""The insight document as rows and CSV: shared by `kefu insight` and the HTTP API."""

from __future__ import annotations

import csv
import io
from typing import Any


def grouped_rows(doc: dict[str, Any], by: str) -> tuple[str, list[tuple[str, str, dict[str, Any]]]]:
    """(key column name, [(store, key, values)]) for the chosen grouping (store|agent|day)."""
    rows: list[tuple[str, str, dict[str, Any]]] = []
    for store, parts in doc["stores"].items():
        if by == "store":
            rows.append((store, "", parts["totals"]))
        else:
            section = parts["agents" if by == "agent" else "days"]
            rows.extend((store, key, values) for key, values in section.items())
    return ("" if by == "store" else by), rows


def render_csv(doc: dict[str, Any], by: str, ids: tuple[str, ...]) -> str:
    """One row per store (or store and agent/day), one column per metric id."""
    key, rows = grouped_rows(doc, by)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["store", *([key] if key else []), *ids])
    for store, k, values in rows:
        cells = ["" if values.get(i) is None else values.get(i) for i in ids]
        w.writerow([store, *([k] if key else []), *cells])
    return out.getvalue()
