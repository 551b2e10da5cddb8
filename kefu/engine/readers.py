"""Read events from JSON Lines, `.jsonl.gz` and Parquet, keeping every good line.

A bad line never stops the read: it becomes a `Rejected` record (line number, field,
reason) and the next line is read. An event whose `id` was already accepted is skipped
(ingestion is idempotent). Line numbers count physical lines from 1 (rows for Parquet).
"""

from __future__ import annotations

import gzip
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import msgspec

from kefu.engine.events import AnyEvent, Event

_DECODER = msgspec.json.Decoder(AnyEvent)
_AT = re.compile(r" - at `\$\.?([^`]*)`")
_MISSING = re.compile(r"missing required field `([^`]+)`")


class Rejected(msgspec.Struct):
    """One refused input line: where, which field, and why."""

    line: int
    field: str | None
    reason: str


@dataclass
class ReadStats:
    """Counts of one read: lines seen, events accepted, rejected and duplicate ids."""

    lines: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejected] = field(default_factory=list)


def explain(err: Exception) -> tuple[str | None, str]:
    """The field and the reason of a decoding error, from msgspec's message."""
    msg = str(err)
    if isinstance(err, msgspec.DecodeError) and not isinstance(err, msgspec.ValidationError):
        return None, f"not valid JSON: {msg.removeprefix('JSON is malformed: ')}"
    m = _MISSING.search(msg)
    if m:
        return m.group(1), f"missing required field `{m.group(1)}`"
    paths = _AT.findall(msg)
    reason = _AT.sub("", msg).strip() or msg
    if paths:
        return paths[0] or None, reason
    return None, reason


def decode_line(raw: bytes) -> Event:
    """Decode one JSON line into a typed event (raises msgspec errors)."""
    ev: Event = _DECODER.decode(raw)
    return ev


def _open_lines(path: Path) -> BinaryIO:
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def iter_lines(path: str | Path) -> Iterator[tuple[int, bytes]]:
    """(line number, raw bytes) of every non-blank line of a JSON Lines file (plain or gzip)."""
    p = Path(path)
    with _open_lines(p) as fh:
        for n, raw in enumerate(fh, 1):
            if raw.strip():
                yield n, raw


def iter_parquet_rows(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, dict without nulls) of a Parquet file with the events' columns."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(str(path))
    n = 0
    for batch in pf.iter_batches(batch_size=65_536):
        for row in batch.to_pylist():
            n += 1
            yield n, {k: v for k, v in row.items() if v is not None}


def read_events(
    source: str | Path | Iterable[tuple[int, bytes]],
    stats: ReadStats | None = None,
    seen_ids: set[tuple[str, str]] | None = None,
) -> Iterator[Event]:
    """Yield accepted events in file order; rejected lines and duplicates go into `stats`."""
    stats = stats if stats is not None else ReadStats()
    seen = seen_ids if seen_ids is not None else set()
    if isinstance(source, (str, Path)) and str(source).endswith(".parquet"):
        yield from _read_parquet(Path(source), stats, seen)
        return
    lines = iter_lines(source) if isinstance(source, (str, Path)) else source
    decode = _DECODER.decode
    rejected = stats.rejected
    for n, raw in lines:
        stats.lines += 1
        try:
            e = decode(raw)
        except (msgspec.DecodeError, ValueError) as err:
            f, reason = explain(err)
            rejected.append(Rejected(n, f, reason))
            continue
        if e.id is not None:
            key = (e.store, e.id)
            if key in seen:
                stats.duplicates += 1
                continue
            seen.add(key)
        stats.accepted += 1
        yield e


def _read_parquet(path: Path, stats: ReadStats, seen: set[tuple[str, str]]) -> Iterator[Event]:
    for n, row in iter_parquet_rows(path):
        stats.lines += 1
        try:
            e: Event = msgspec.convert(row, AnyEvent)
        except (msgspec.ValidationError, ValueError) as err:
            f, reason = explain(err)
            stats.rejected.append(Rejected(n, f, reason))
            continue
        if e.id is not None:
            if (e.store, e.id) in seen:
                stats.duplicates += 1
                continue
            seen.add((e.store, e.id))
        stats.accepted += 1
        yield e


def write_rejected(rejected: Iterable[Rejected], out: BinaryIO | io.BufferedWriter) -> int:
    """Write rejected records as JSON Lines; returns how many."""
    enc = msgspec.json.Encoder()
    n = 0
    for r in rejected:
        out.write(enc.encode(r) + b"\n")
        n += 1
    return n
