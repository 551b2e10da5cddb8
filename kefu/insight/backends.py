"""Where the metric expressions run: DuckDB in-process (default) or a Spark session.

The same Ibis expressions run on both. Fact tables reach DuckDB as Arrow (zero copy) and Spark
as Parquet files, never through pandas, so missing values stay NULL (stack.md: pandas turns
None into NaN, and Spark averages NaN).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.parquet as pq

BACKENDS = ("duckdb", "pyspark")

_spark: Any = None


def spark_session() -> Any:
    """One local Spark session per process (starting one takes ~10 s)."""
    global _spark
    if _spark is None:
        from kefu.extras import require

        sql = require("pyspark.sql", "the PySpark back-end (--backend pyspark)", "spark")
        SparkSession = sql.SparkSession
        _spark = (
            SparkSession.builder.master("local[1]")
            .appName("kefu-insight")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "1")
            .config("spark.default.parallelism", "1")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.ansi.enabled", "false")
            .config("spark.sql.adaptive.enabled", "false")
            .config("spark.sql.codegen.wholeStage", "false")
            .getOrCreate()
        )
        _spark.sparkContext.setLogLevel("ERROR")
    return _spark


def connect(backend: str = "duckdb") -> Any:
    """An Ibis connection for `backend` (`duckdb` or `pyspark`)."""
    if backend == "duckdb":
        return ibis.duckdb.connect()
    if backend == "pyspark":
        return ibis.pyspark.connect(spark_session())
    raise ValueError(f"unknown backend {backend!r} (use one of {', '.join(BACKENDS)})")


def register(con: Any, tables: dict[str, pa.Table], prefix: str = "kefu") -> dict[str, Any]:
    """Make each Arrow table an Ibis table on `con`; returns name → Ibis table."""
    out: dict[str, Any] = {}
    if con.name == "duckdb":
        # A view over the Arrow table (DuckDB scans it in place): copying the facts into
        # DuckDB tables first cost more than most queries.
        for name, table in tables.items():
            con.con.register(f"{prefix}_{name}", table)
            out[name] = con.table(f"{prefix}_{name}")
        return out
    folder = Path(tempfile.mkdtemp(prefix="kefu-insight-"))
    atexit.register(shutil.rmtree, folder, True)
    for name, table in tables.items():
        path = folder / f"{name}.parquet"
        pq.write_table(table, path)
        out[name] = con.read_parquet(str(path), table_name=f"{prefix}_{name}")
    return out
