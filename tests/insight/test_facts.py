"""Fact tables: real nulls, conversation ids from the engine, Parquet round trip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from kefu.insight.facts import SCHEMAS, FactsBuilder, read_parquet, write_parquet
from kefu.insight.metrics import compute
from tests.insight import data


def test_tables_have_the_declared_schemas(facts: Any) -> None:
    for name, schema in SCHEMAS.items():
        assert facts[name].schema == schema, name


def test_missing_values_are_nulls_never_nan(facts: Any) -> None:
    for table in facts.values():
        for col in table.columns:
            if pa.types.is_floating(col.type):
                assert not pc.any(pc.is_nan(col)).as_py()
    msgs = facts["messages"]
    buyers = msgs.filter(pc.equal(msgs["sender"], "buyer"))
    assert buyers["agent"].null_count == buyers.num_rows


def test_conversations_follow_the_engine_grouping(facts: Any) -> None:
    conv = facts["conversations"].filter(pc.equal(facts["conversations"]["store"], "resp"))
    ids = conv["conversation"].to_pylist()
    assert {"u5~1", "u5~2", "t-1", "t-2"} <= set(ids)
    reasons = dict(zip(ids, conv["close_reason"].to_pylist(), strict=True))
    assert reasons["u5~1"] == "timeout"
    assert reasons["t-1"] == "reopen"
    assert reasons["u1~1"] == "close"


def test_local_time_is_the_store_timezone(facts: Any) -> None:
    msgs = facts["messages"]
    offsets = pc.unique(pc.subtract(msgs["local_ms"], msgs["ts_ms"])).to_pylist()
    assert offsets == [8 * 3_600_000]  # Asia/Shanghai


def test_transfers_record_clicks_results_and_the_button(facts: Any) -> None:
    tr = facts["transfers"].filter(pc.equal(facts["transfers"]["store"], "bot"))
    kinds = tr["kind"].to_pylist()
    assert {k: kinds.count(k) for k in set(kinds)} == {
        "click": 5, "assigned": 2, "queued": 2, "failed": 1,
    }  # fmt: skip
    conv = facts["conversations"].filter(pc.equal(facts["conversations"]["store"], "bot"))
    assert conv["variant"].to_pylist() == ["button"] * 6


def test_parquet_round_trip_gives_the_same_metrics(facts: Any, tmp_path: Path) -> None:
    write_parquet(facts, tmp_path)
    back = read_parquet(tmp_path)
    assert all(back[n].equals(facts[n]) for n in SCHEMAS)
    assert compute(back, data.config()) == compute(facts, data.config())


def test_an_empty_builder_gives_empty_tables_and_an_empty_document() -> None:
    tables = FactsBuilder().tables()
    assert all(t.num_rows == 0 for t in tables.values())
    assert compute(tables) == {"stores": {}}
