"""The same expressions give the same values on DuckDB and on Spark (every value compared).

One test on purpose: Spark starts once (~10 s) and each query costs seconds on local[1]. The
period, today and funnel views are compositions of `Session.metrics` over other windows and
scopes, all covered here.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from kefu.testing import spark_available
from kefu.traffic import keywords, reports
from kefu.traffic.metrics import Session, Window
from tests.traffic.data import D1, D2
from tests.traffic.test_keywords import SAMPLE


def everything(session: Session, backend: str) -> dict[str, Any]:
    """Every report of the module over the hand-built data set."""
    kw = keywords.to_table(keywords.parse_csv(SAMPLE).rows, "s1")
    days = Window.days(D1, D2)  # the range filters too (history payments fall outside)
    return {
        "all": session.metrics(days),
        "audience": reports.audience(session, "s1", days),
        "churn": reports.churn(session, "s1", days, min_stores=1, min_buyers=1),
        "keywords": keywords.rank(kw, 7, sort="competition", backend=backend),
    }


def test_duckdb_and_spark_agree_on_every_value(
    facts: dict[str, pa.Table], session: Session
) -> None:
    if not spark_available():
        pytest.skip("PySpark or Java missing")
    on_duckdb = everything(session, "duckdb")
    on_spark = everything(Session(facts, "pyspark"), "pyspark")
    for name, value in on_duckdb.items():
        assert on_spark[name] == value, name
