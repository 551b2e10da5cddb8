"""Rows of a §7 document for tables and CSV (shared by `kefu traffic` and the API)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kefu.api.params import csv_text
from kefu.traffic.metrics import IDS, SECTIONS

# `--by` value → (scope, key columns)
BY = {
    "overall": ("total", ()),
    "source": ("source", ("source",)),
    "product": ("product", ("product",)),
    "product_source": ("product_source", ("product", "source")),
    "day": ("day", ("day",)),
}


def rows(store_doc: dict[str, Any], by: str) -> list[tuple[dict[str, str], dict[str, Any]]]:
    """(key columns, values) of one store's document for `by`, in key order."""
    scope, _ = BY[by]
    if scope == "total":
        return [({}, store_doc["totals"])]
    section = store_doc[SECTIONS[scope]]
    if scope == "product_source":
        return [
            ({"product": p, "source": s}, v)
            for p, by_source in section.items()
            for s, v in by_source.items()
        ]
    return [({BY[by][1][0]: k}, v) for k, v in section.items()]


def compare_rows(period: dict[str, Any], by: str) -> list[tuple[dict[str, str], dict[str, Any]]]:
    """Rows of a `reports.period` result: each id, `<id>_previous` and `<id>_change`."""
    scope, cols = BY[by]

    def flat(entry: dict[str, Any]) -> dict[str, Any]:
        out = dict(entry["current"])
        out.update({f"{i}_previous": entry["previous"][i] for i in IDS})
        out.update({f"{i}_change": entry["change"][i] for i in IDS})
        return out

    if scope == "total":
        return [({}, flat(period["totals"]))]
    return [({cols[0]: k}, flat(v)) for k, v in period[SECTIONS[scope]].items()]


def compare_ids(ids: Iterable[str]) -> tuple[str, ...]:
    """The columns of a comparison for `ids`."""
    ids = tuple(ids)
    return ids + tuple(f"{i}_previous" for i in ids) + tuple(f"{i}_change" for i in ids)


def csv_of(
    by: str, table: Iterable[tuple[str, dict[str, str], dict[str, Any]]], ids: Iterable[str]
) -> str:
    """CSV: store, the key columns of `by`, then one column per id (empty for null)."""
    ids = tuple(ids)
    cols = BY[by][1]
    return csv_text(
        ["store", *cols, *ids],
        (
            [store, *(key[c] for c in cols), *("" if v.get(i) is None else v.get(i) for i in ids)]
            for store, key, v in table
        ),
    )
