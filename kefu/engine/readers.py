"""Read events from JSON Lines, `.jsonl.gz` and Parquet, keeping every good line.

A bad line never stops the read: it becomes a `Rejected` record (line number, field,
reason) and the next line is read. An event whose `id` was already accepted is skipped
(ingestion is idempotent). Line numbers count physical lines from 1 (rows for Parquet).

Text is UTF-8 (a byte-order mark is dropped); a file that is not UTF-8 but reads as GB18030
(Chinese Windows exports) or carries a UTF-16 mark is transcoded line by line, or pass the
encoding. A file that breaks off (a truncated or corrupt .gz, a damaged Parquet row group)
keeps every event read before the break; `ReadStats.broken` says where and why.
"""

from __future__ import annotations

import codecs
import gzip
import io
import re
import zlib
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
    """Counts of one read: lines seen, events accepted, rejected and duplicate ids; `broken`
    is set when the file could not be read to its end (what was read before is kept)."""

    lines: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    broken: str | None = None
    encoding: str = "utf-8"


class BrokenInput(Exception):
    """The file stops being readable at `line` (truncated archive, corrupt bytes)."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


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


def decode_logged(payload: str) -> Event | None:
    """An event of the database log, or None for one this kefu cannot read (skipped alike by
    the live service's restore, the decisions reader and the backfill)."""
    try:
        return decode_line(payload.encode("utf-8"))
    except (msgspec.DecodeError, ValueError):
        return None


_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))  # fmt: skip
_BROKEN = (EOFError, OSError, zlib.error, UnicodeDecodeError)


def _open_lines(path: Path) -> BinaryIO:
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def sniff_encoding(head: bytes) -> str:
    """The text encoding of a file starting with `head`: its byte-order mark, else UTF-8 when
    the start decodes as UTF-8, else GB18030 when it decodes as that, else UTF-8 (bad lines
    are then rejected one by one)."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    cut = head.rfind(b"\n")
    sample = head if cut < 0 else head[: cut + 1]
    for name in ("utf-8", "gb18030"):
        try:
            sample.decode(name)
            return name
        except UnicodeDecodeError:
            continue
    return "utf-8"


def iter_lines(
    path: str | Path, encoding: str | None = None, stats: ReadStats | None = None
) -> Iterator[tuple[int, bytes]]:
    """(line number, UTF-8 bytes) of every non-blank line of a JSON Lines file (plain or
    gzip), in `encoding` or the one `sniff_encoding` finds. Raises `BrokenInput` where the
    file stops being readable."""
    p = Path(path)
    n = 0
    with _open_lines(p) as fh:
        try:
            head = fh.peek(65_536)[:65_536] if hasattr(fh, "peek") else b""
            name = codecs.lookup(encoding).name if encoding else sniff_encoding(head)
            if stats is not None:
                stats.encoding = name
            if name in ("utf-8", "utf-8-sig"):
                for n, raw in enumerate(fh, 1):
                    if n == 1 and raw.startswith(codecs.BOM_UTF8):
                        raw = raw[3:]
                    if raw.strip():
                        yield n, raw
                return
            text = io.TextIOWrapper(fh, encoding=name, newline="")
            for n, line in enumerate(text, 1):
                if line.strip():
                    yield n, line.lstrip("\ufeff").encode("utf-8")
        except _BROKEN as err:
            raise BrokenInput(n + 1, _broken_reason(p, err)) from None


def _broken_reason(path: Path, err: BaseException) -> str:
    if isinstance(err, UnicodeDecodeError):
        return f"bytes that are not {err.encoding} text ({err.reason}); give --encoding"
    if isinstance(err, (EOFError, zlib.error, gzip.BadGzipFile)) or path.suffix == ".gz":
        return f"the .gz file is truncated or corrupt here ({err or type(err).__name__})"
    return f"the file cannot be read past here ({err})"


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
    encoding: str | None = None,
) -> Iterator[Event]:
    """Yield accepted events in file order; rejected lines and duplicates go into `stats`."""
    stats = stats if stats is not None else ReadStats()
    seen = seen_ids if seen_ids is not None else set()
    if isinstance(source, (str, Path)) and str(source).endswith(".parquet"):
        yield from _read_parquet(Path(source), stats, seen)
        return
    lines = iter_lines(source, encoding, stats) if isinstance(source, (str, Path)) else source
    decode = _DECODER.decode
    rejected = stats.rejected
    try:
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
    except BrokenInput as broken:
        stats.broken = str(broken)
        rejected.append(Rejected(broken.line, None, f"{broken.reason}; the rest was not read"))


def _read_parquet(path: Path, stats: ReadStats, seen: set[tuple[str, str]]) -> Iterator[Event]:
    rows = iter_parquet_rows(path)
    while True:
        try:
            n, row = next(rows)
        except StopIteration:
            return
        except (OSError, ValueError) as err:  # pyarrow: ArrowIOError, ArrowInvalid
            if stats.lines == 0:
                raise
            stats.broken = f"row {stats.lines + 1}: {err}"
            stats.rejected.append(Rejected(stats.lines + 1, None, f"{err}; the rest was not read"))
            return
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
