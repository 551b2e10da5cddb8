"""Fixtures: the hand-built deployment's traffic facts and one DuckDB session over them."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from kefu.traffic.facts import facts_from_events
from kefu.traffic.metrics import Session
from tests.traffic import data


@pytest.fixture(scope="session")
def facts() -> dict[str, pa.Table]:
    """Fact tables of the data set."""
    return facts_from_events(data.events())


@pytest.fixture(scope="session")
def session(facts: dict[str, pa.Table]) -> Session:
    """The facts registered once on DuckDB."""
    return Session(facts)


@pytest.fixture(scope="session")
def s1(session: Session) -> dict[str, Any]:
    """Store s1's document over all time, every scope."""
    return session.metrics()["stores"]["s1"]
