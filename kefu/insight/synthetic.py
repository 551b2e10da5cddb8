"""Synthetic fact tables at scale, straight to Arrow (no engine): for benchmarks only.

Conversations of a few rounds each (buyer asks, the assigned agent answers after a random
delay, sometimes never), a share of buyers ordering and paying. Deterministic per seed.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from kefu.insight.facts import SCHEMAS

START_MS = 1_772_323_200_000  # 2026-03-01 00:00 UTC
OFF_MS = 8 * 3_600_000
DAY_MS = 86_400_000


def synthetic_facts(
    messages: int = 1_000_000, stores: int = 1, agents: int = 50, days: int = 30, seed: int = 7
) -> dict[str, pa.Table]:
    """About `messages` buyer+agent messages over `days` days, with orders and payments."""
    rng = np.random.default_rng(seed)
    per_conv = 8  # 4 rounds: buyer then agent
    n_conv = max(1, messages // per_conv)
    cid = np.arange(n_conv, dtype=np.int64)
    store = np.array([f"s{i}" for i in range(stores)])[cid % stores]
    buyer_ix = rng.integers(0, max(1, n_conv // 2), n_conv)
    buyer = np.char.add("b", buyer_ix.astype(str))
    opened = START_MS + rng.integers(0, days * DAY_MS, n_conv, dtype=np.int64)
    agent = np.char.add("a", rng.integers(0, agents, n_conv).astype(str))

    rounds = per_conv // 2
    gaps = rng.exponential(120_000, (n_conv, rounds)).astype(np.int64) + 1000
    waits = rng.exponential(90_000, (n_conv, rounds)).astype(np.int64) + 1000
    ask = opened[:, None] + np.cumsum(gaps + waits, axis=1) - waits
    answer = ask + waits
    unanswered = rng.random(n_conv) < 0.05
    m_ts = np.stack([ask, answer], axis=2).reshape(n_conv, per_conv)
    sender = np.tile(np.array(["buyer", "agent"]), (n_conv, rounds))
    keep = np.ones((n_conv, per_conv), dtype=bool)
    keep[unanswered, -1] = False
    m_cid = np.repeat(cid, per_conv)[keep.ravel()]
    m_sender = sender.ravel()[keep.ravel()]
    ts = m_ts.ravel()[keep.ravel()]
    n_msg = len(ts)
    m_agent = pa.array(agent[m_cid], pa.string(), mask=m_sender != "agent")
    closed = m_ts.max(axis=1) + 30 * 60_000

    conversations = pa.table(
        {
            "cid": cid,
            "store": store,
            "conversation": np.char.add(buyer, np.char.add("~", cid.astype(str))),
            "buyer": buyer,
            "opened_ms": opened,
            "off_ms": np.full(n_conv, OFF_MS),
            "closed_ms": closed,
            "close_reason": np.full(n_conv, "timeout"),
            "first_sender": np.full(n_conv, "buyer"),
            "button_shown": pa.nulls(n_conv, pa.bool_()),
            "variant": pa.nulls(n_conv, pa.string()),
        },
        schema=SCHEMAS["conversations"],
    )
    msgs = pa.table(
        {
            "seq": np.arange(n_msg, dtype=np.int64),
            "cid": m_cid,
            "store": store[m_cid],
            "buyer": buyer[m_cid],
            "sender": m_sender,
            "agent": m_agent,
            "ts_ms": ts,
            "local_ms": ts + OFF_MS,
        },
        schema=SCHEMAS["messages"],
    )
    first_agent = answer[:, 0]
    assignments = pa.table(
        {
            "seq": np.arange(n_conv, dtype=np.int64) + n_msg,
            "cid": cid,
            "store": store,
            "buyer": buyer,
            "agent": agent,
            "reason": np.full(n_conv, "agent_message"),
            "ts_ms": first_agent,
            "local_ms": first_agent + OFF_MS,
        },
        schema=SCHEMAS["assignments"],
    )
    buyers_conv = rng.random(n_conv) < 0.2
    o_ix = np.flatnonzero(buyers_conv)
    o_ts = closed[o_ix] + rng.integers(0, 2 * DAY_MS, len(o_ix))
    orders = pa.table(
        {
            "store": store[o_ix],
            "order": np.char.add("o", o_ix.astype(str)),
            "buyer": buyer[o_ix],
            "amount": rng.uniform(10, 500, len(o_ix)).round(2),
            "ts_ms": o_ts,
            "local_ms": o_ts + OFF_MS,
        },
        schema=SCHEMAS["orders"],
    )
    paid = rng.random(len(o_ix)) < 0.8
    p_ts = o_ts[paid] + 600_000
    payments = pa.table(
        {
            "store": store[o_ix][paid],
            "order": np.char.add("o", o_ix[paid].astype(str)),
            "buyer": buyer[o_ix][paid],
            "amount": orders.column("amount").to_numpy()[paid],
            "ts_ms": p_ts,
            "local_ms": p_ts + OFF_MS,
        },
        schema=SCHEMAS["payments"],
    )
    out = {name: schema.empty_table() for name, schema in SCHEMAS.items()}
    out.update(
        conversations=conversations,
        messages=msgs,
        assignments=assignments,
        orders=orders,
        payments=payments,
    )
    return out
