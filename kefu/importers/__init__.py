"""Importers of real public data sets into kefu events: one module per format.

Each format module exposes `read(path, sink, report, *, store, limit, progress)`, which
streams its source into an `EventSink`; `run_import` sorts the events by time and writes
them as JSON Lines that `kefu replay` reads. Mappings and choices: docs/importers.md.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from kefu.importers.common import (
    EventSink,
    ImportReport,
    ProgressFn,
    no_progress,
    settings_path,
    toml_text,
    write_lines,
)

FORMATS: dict[str, str] = {
    "twcs": "kefu.importers.twcs",
    "jddc": "kefu.importers.jddc",
    "uci-retail": "kefu.importers.uci_retail",
    "taobao": "kefu.importers.taobao",
    "groceries": "kefu.importers.groceries",
}


def run_import(
    fmt: str,
    path: str | Path,
    out: str | Path,
    *,
    store: str | None = None,
    limit: int | None = None,
    progress: ProgressFn = no_progress,
    chunk: int = 200_000,
) -> ImportReport:
    """Import `path` in format `fmt` and write its events, ordered by time, to `out`."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    module = importlib.import_module(FORMATS[fmt])
    report = ImportReport(fmt)
    sink = EventSink(report, chunk=chunk)
    try:
        module.read(Path(path), sink, report, store=store, limit=limit, progress=progress)
        report.events = write_lines(sink.sorted_lines(), out, progress, sink.accepted)
    finally:
        sink.close()
    settings = getattr(module, "SETTINGS", None)
    if settings and str(out) != "-":
        target = settings_path(out)
        why = getattr(module, "SETTINGS_WHY", "")
        target.write_text(
            toml_text(
                settings, f"Settings for replaying {Path(out).name} (kefu import {fmt}): {why}."
            ),
            encoding="utf-8",
        )
        report.settings, report.settings_why = str(target), why
    return report
