"""Fixtures of the importer tests: slices of the real public files in ../shared/data.

Tests that need `shared/data` skip when it is absent, except under CI=true where they fail:
CI must run them. `KEFU_SHARED_DATA` points elsewhere when the folder lives elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from kefu.testing import shared_data, shared_data_root

REPO = Path(__file__).resolve().parents[2]
TEST_DATA = REPO / "tests" / "data"


shared_data_dir = shared_data_root
shared_file = shared_data


SliceFn = Callable[..., Path]


@pytest.fixture
def data_slice(tmp_path: Path) -> SliceFn:
    """Write chosen physical lines of a shared file to tmp_path and return the copy.

    `data_slice(relative, first=N, extra=(line, ...), name=None)` keeps lines 1..N (the
    header included) plus the listed 1-based lines, in that order.
    """

    def make(relative: str, first: int, extra: Iterable[int] = (), name: str | None = None) -> Path:
        source = shared_file(relative) if not Path(relative).is_absolute() else Path(relative)
        wanted = set(extra)
        last = max([first, *wanted])
        head: list[bytes] = []
        more: dict[int, bytes] = {}
        with source.open("rb") as fh:
            for n, raw in enumerate(fh, 1):
                if n > last:
                    break
                if n <= first:
                    head.append(raw)
                elif n in wanted:
                    more[n] = raw
        target = tmp_path / (name or source.name)
        target.write_bytes(b"".join(head + [more[n] for n in sorted(more)]))
        return target

    return make
