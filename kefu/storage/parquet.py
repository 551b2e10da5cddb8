"""Fact tables as a folder of Parquet files, one `<name>.parquet` per table.

What `--save-facts` writes and a report reads back instead of replaying a log again; the
insight and traffic facts share it with their own schemas.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def write_tables(tables: dict[str, pa.Table], folder: str | Path, names: tuple[str, ...]) -> None:
    """Write each of `names` to `folder/<name>.parquet` (the folder is made if missing)."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        pq.write_table(tables[name], out / f"{name}.parquet")


def read_tables(folder: str | Path, schemas: dict[str, pa.Schema]) -> dict[str, pa.Table]:
    """Read the tables of `schemas` from `folder`; a missing file is an empty table."""
    src = Path(folder)
    out: dict[str, pa.Table] = {}
    for name, schema in schemas.items():
        path = src / f"{name}.parquet"
        out[name] = pq.read_table(path, schema=schema) if path.exists() else schema.empty_table()
    return out
