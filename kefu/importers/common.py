"""What every importer shares: the report, the time-ordered event sink and the output writer.

An importer reads its source once (or twice) as a stream and hands each event to an
`EventSink` with its time in epoch milliseconds. The sink checks the event against the
contract (`AnyEvent`), encodes it, and sorts everything by (time, priority, arrival) with an
external merge sort, so memory stays bounded on large files while the output is ordered by
`ts` and stable: identical input gives byte-identical output.
"""

from __future__ import annotations

import csv
import gzip
import heapq
import io
import os
import struct
import sys
import tempfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, BinaryIO

import msgspec

from kefu.engine.events import AnyEvent

ProgressFn = Callable[[str, int, int | None], None]
"""progress(phase, done, total): bytes of input read, or events written."""

# Declarations (product, agent) sort before what happens at the same instant, closes after.
PRIO_DECLARE = 0
PRIO_EVENT = 1
PRIO_CLOSE = 2

EXAMPLES = 10  # skipped rows listed in the report, at most EXAMPLES_PER_REASON of each reason
EXAMPLES_PER_REASON = 2
_DECODER = msgspec.json.Decoder(AnyEvent)
# msgspec, not orjson: orjson's bytes keep a ~4 KiB buffer each, which a sort buffer of
# 200k events turns into ~800 MB.
_ENCODER = msgspec.json.Encoder()
_RECORD = struct.Struct("<qbqI")  # ts ms, priority, arrival, payload length


def no_progress(phase: str, done: int, total: int | None) -> None:
    """Progress callback that ignores everything (tests, library use)."""


@dataclass
class ImportReport:
    """Counts of one import: rows read, events written, rows skipped by reason, first examples."""

    format: str
    rows: int = 0
    events: int = 0
    filtered: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    examples: list[tuple[int, str]] = field(default_factory=list)
    settings: str | None = None  # the settings file written beside the events, if any
    settings_why: str = ""

    def skip(self, line: int, reason: str, detail: str = "") -> None:
        """Count a skipped row under `reason`; keep the first few with their line number."""
        self.skipped[reason] += 1
        if self.skipped[reason] <= EXAMPLES_PER_REASON and len(self.examples) < EXAMPLES:
            self.examples.append((line, f"{reason}: {detail}" if detail else reason))

    @property
    def skipped_total(self) -> int:
        """How many rows were skipped, all reasons together."""
        return sum(self.skipped.values())

    def line(self) -> str:
        """The one-line summary printed at the end of `kefu import`."""
        parts = [
            f"{self.format}: {self.rows:,} rows read",
            f"{self.events:,} events written",
        ]
        if self.skipped:
            why = ", ".join(f"{n:,} {reason}" for reason, n in self.skipped.most_common())
            parts.append(f"{self.skipped_total:,} rows skipped ({why})")
        else:
            parts.append("0 rows skipped")
        if self.filtered:
            parts.append(f"{self.filtered:,} rows of other stores left out")
        return ", ".join(parts)


class EventSink:
    """Validates, encodes and time-sorts events; spills sorted runs to disk past `chunk` events."""

    def __init__(self, report: ImportReport, chunk: int = 200_000) -> None:
        self.report = report
        self.chunk = chunk
        self._seq = 0
        self._buffer: list[tuple[int, int, int, bytes]] = []
        self._runs: list[IO[bytes]] = []
        self.accepted = 0

    def add(self, event: dict[str, Any], ms: int, prio: int = PRIO_EVENT, line: int = 0) -> bool:
        """Queue one event at `ms`; a contract breach skips it (with `line`) instead of failing."""
        raw = _ENCODER.encode(event)
        try:
            _DECODER.decode(raw)
        except (msgspec.DecodeError, ValueError) as err:
            self.report.skip(line, "event breaks the contract", str(err)[:200])
            return False
        self._buffer.append((ms, prio, self._seq, raw))
        self._seq += 1
        self.accepted += 1
        if len(self._buffer) >= self.chunk:
            self._spill()
        return True

    def _spill(self) -> None:
        self._buffer.sort()
        run = tempfile.TemporaryFile(prefix="kefu-import-")  # noqa: SIM115 - closed in close()
        pack = _RECORD.pack
        for ms, prio, seq, raw in self._buffer:
            run.write(pack(ms, prio, seq, len(raw)))
            run.write(raw)
        run.seek(0)
        self._runs.append(run)
        self._buffer = []

    @staticmethod
    def _read_run(run: IO[bytes]) -> Iterator[tuple[int, int, int, bytes]]:
        reader = run  # TemporaryFile is already buffered
        size = _RECORD.size
        while head := reader.read(size):
            ms, prio, seq, n = _RECORD.unpack(head)
            yield ms, prio, seq, reader.read(n)

    def sorted_lines(self) -> Iterator[bytes]:
        """Every queued event as one JSON line, ordered by (ts, priority, arrival)."""
        self._buffer.sort()
        if not self._runs:
            for rec in self._buffer:
                yield rec[3]
            return
        streams = [self._read_run(r) for r in self._runs]
        for rec in heapq.merge(iter(self._buffer), *streams):
            yield rec[3]

    def close(self) -> None:
        """Drop the spilled runs."""
        for run in self._runs:
            run.close()
        self._runs = []
        self._buffer = []


def write_lines(lines: Iterator[bytes], out: str | Path, progress: ProgressFn, total: int) -> int:
    """Write JSON lines to `out` (`-` = stdout, `.gz` = gzip); returns how many were written.

    A file is written beside its final name and renamed at the end, so an interrupted import
    never leaves a half file under the expected name. Gzip output has no timestamp in its
    header, so the same import gives the same bytes.
    """
    if str(out) == "-":
        return _write_all(lines, sys.stdout.buffer, progress, total)
    path = Path(out)
    part = path.with_name(path.name + ".part")
    try:
        with part.open("wb") as fh:
            if path.name.endswith(".gz"):
                with gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0) as gz:
                    n = _write_all(lines, gz, progress, total)  # type: ignore[arg-type]
            else:
                n = _write_all(lines, fh, progress, total)
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)
    return n


def _write_all(lines: Iterator[bytes], fh: BinaryIO, progress: ProgressFn, total: int) -> int:
    n = 0
    for raw in lines:
        fh.write(raw)
        fh.write(b"\n")
        n += 1
        if n % 20_000 == 0:
            progress("writing", n, total)
    fh.flush()
    progress("writing", n, total)
    return n


class CountingReader(io.RawIOBase):
    """A binary stream that counts the bytes read from the underlying file, for progress."""

    def __init__(self, raw: BinaryIO, phase: str, total: int | None, progress: ProgressFn):
        self._raw = raw
        self.done = 0
        self._phase = phase
        self._total = total
        self._progress = progress

    def readable(self) -> bool:
        """Always readable."""
        return True

    def readinto(self, buf: Any) -> int:
        """Read into `buf` and report the running byte count."""
        data = self._raw.read(len(buf))
        n = len(data)
        buf[:n] = data
        self.done += n
        self._progress(self._phase, self.done, self._total)
        return n

    def close(self) -> None:
        """Close the underlying file too."""
        self._raw.close()
        super().close()


def open_text(
    path: Path, progress: ProgressFn = no_progress, phase: str = "reading", encoding: str = "utf-8"
) -> IO[str]:
    """Open a (possibly gzipped) text source, reporting bytes read to `progress`.

    Only `\n` ends a line (a stray `\r` inside a record must not shift line numbers or
    split a line), and undecodable bytes become U+FFFD rather than aborting the import.
    """
    total: int | None = path.stat().st_size
    raw: BinaryIO = path.open("rb")
    if path.name.endswith(".gz"):
        raw = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
        total = None  # compressed size says little about progress in decompressed bytes
    counted = CountingReader(raw, phase, total, progress)
    buffered = io.BufferedReader(counted, 1 << 16)
    return io.TextIOWrapper(buffered, encoding=encoding, errors="replace", newline="\n")


def csv_records(fh: IO[str], report: ImportReport) -> Iterator[tuple[int, list[str]]]:
    """(line the record starts on, fields) of each CSV record, the header included.

    A record the csv module cannot parse (a bare carriage return in an unquoted field, a NUL
    byte, an over-long field) is counted and skipped as a malformed row; blank lines are
    not rows.
    """
    reader = csv.reader(fh)
    start = 1
    while True:
        try:
            rec = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            report.rows += 1
            report.skip(start, "malformed CSV row", str(err).split(" - ")[0])
            start = reader.line_num + 1
            continue
        line, start = start, reader.line_num + 1
        if rec:
            yield line, rec


def event(type_: str, ts: str, store: str, id_: str, **fields: Any) -> dict[str, Any]:
    """An event as a dict, the contract's keys first so the output reads well."""
    return {"ts": ts, "type": type_, "store": store, "id": id_, **fields}


def rfc3339(dt: datetime) -> str:
    """An aware datetime as RFC 3339 with its own offset, to the second (or ms when set)."""
    if dt.microsecond:
        return dt.isoformat(timespec="milliseconds")
    return dt.isoformat(timespec="seconds")


def epoch_ms(dt: datetime) -> int:
    """An aware datetime as epoch milliseconds (exact integer arithmetic)."""
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def synthetic_price(key: str, low: float = 5.0, high: float = 500.0, step: float = 1.0) -> float:
    """A stable made-up price for data that has none: log-uniform in [low, high].

    Rounded to `step` and ending in 9 (112.9 with step 1, 2.39 with step 0.1), like shop
    prices. crc32 (not `hash`) keeps it identical across runs and machines.
    """
    value = low * (high / low) ** stable_fraction(key)
    return round(max(1, round(value / step)) * step - step / 10, 2)


def stable_fraction(key: str) -> float:
    """A stable number in [0, 1) from a string, for deterministic synthetic choices."""
    return (zlib.crc32(key.encode("utf-8")) & 0xFFFFFFFF) / 0x1_0000_0000


def settings_path(events: str | Path) -> Path:
    """Where the settings of an events file live: `x.jsonl[.gz]` → `x.settings.toml`."""
    p = Path(events)
    stem = p.name.split(".")[0] or p.name
    return p.with_name(f"{stem}.settings.toml")


def toml_text(sections: dict[str, dict[str, object]], comment: str = "") -> str:
    """Flat TOML sections of strings, numbers and booleans (config.md's shapes)."""
    import json

    lines = [f"# {line}" for line in comment.splitlines()] + ([""] if comment else [])
    for name, values in sections.items():
        lines.append(f"[{name}]")
        for key, value in values.items():
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, (int, float)):
                text = repr(value)
            else:
                text = json.dumps(str(value), ensure_ascii=False)
            lines.append(f"{key} = {text}")
        lines.append("")
    return "\n".join(lines)
