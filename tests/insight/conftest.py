"""Fixtures: the hand-built data set's facts and its metrics on DuckDB and on Spark.

Spark starts once per test session (~10 s) and runs the whole data set once; every
hand-computed test then checks both documents.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from kefu.insight.build import facts_from_events
from kefu.insight.metrics import compute
from kefu.testing import spark_available
from tests.insight import data

BACKENDS = ("duckdb", "pyspark")


@pytest.fixture(scope="session")
def facts() -> dict[str, pa.Table]:
    """Fact tables of every store of the data set."""
    return facts_from_events(data.all_events(), data.config())


@pytest.fixture(scope="session")
def docs(facts: dict[str, pa.Table]) -> dict[str, dict[str, Any]]:
    """backend → metrics document over the whole data set (Spark computed once, lazily)."""
    return {"duckdb": compute(facts, data.config())}


def _doc(backend: str, docs: dict[str, dict[str, Any]], facts: dict[str, pa.Table]) -> Any:
    if backend not in docs:
        if backend == "pyspark" and not spark_available():
            pytest.skip("PySpark or Java missing")
        docs[backend] = compute(facts, data.config(), backend=backend)
    return docs[backend]


@pytest.fixture(params=BACKENDS)
def doc(request: pytest.FixtureRequest, docs: Any, facts: Any) -> dict[str, Any]:
    """The metrics document, once per backend."""
    return _doc(request.param, docs, facts)["stores"]
