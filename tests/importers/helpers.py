"""Read an importer's output back through the engine's event decoder."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import msgspec

from kefu.engine.events import AnyEvent

DECODER = msgspec.json.Decoder(AnyEvent)


def read_output(path: Path) -> list[dict[str, Any]]:
    """Every line as a dict, after checking the contract the output promises.

    Each line decodes with the event decoder, ids are unique per store, and the lines are
    ordered by time.
    """
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as fh:
        raws = [line for line in fh.read().splitlines() if line.strip()]
    decoded = [DECODER.decode(raw) for raw in raws]
    times = [e.ts for e in decoded]
    assert times == sorted(times), "output not ordered by ts"
    ids = [(e.store, e.id) for e in decoded]
    assert all(i is not None for _, i in ids), "an event without id"
    assert len(set(ids)) == len(ids), "duplicate event ids"
    return [json.loads(raw) for raw in raws]


def of_type(events: list[dict[str, Any]], type_: str) -> list[dict[str, Any]]:
    """The events of one type, in output order."""
    return [e for e in events if e["type"] == type_]
