"""Schemathesis against the app's own OpenAPI document (in-process ASGI), with valid tokens:
for every operation, generated valid and invalid requests never get a 5xx, and every
error is a 4xx whose JSON body says why (`detail`)."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from kefu.accounts.tokens import buyer_token, create_token
from kefu.api.app import create_app
from kefu.engine.clock import VirtualClock
from kefu.engine.service import EngineService
from kefu.storage.db import make_engine
from tests.accounts.support import T0

S = "s1"
# Report endpoints compute over the store's log (about a second each here): few examples.
SLOW = ("/insight", "/urge/stats", "/guide/leaderboards", "/insight/today", "/faq/learn",
        "/reports/handoff", "/traffic", "/traffic/today", "/keywords")  # fmt: skip
EXAMPLES, SLOW_EXAMPLES = 10, 2


def _seed(svc: EngineService) -> dict[str, str]:
    """A store with an agent, a product, a conversation assigned to the agent; tokens."""
    ev = [
        {"id": "a", "ts": T0, "type": "agent", "store": S, "agent": "a1", "name": "A"},
        {"id": "s", "ts": T0, "type": "agent.status", "store": S, "agent": "a1",
         "status": "online"},
        {"id": "p", "ts": T0, "type": "product", "store": S, "product": "p1", "title": "杯",
         "price": 9.0},
        {"id": "m", "ts": T0 + 1, "type": "message", "store": S, "buyer": "b1", "sender": "buyer",
         "text": "在吗", "product": "p1"},
        {"id": "t", "ts": T0 + 2, "type": "transfer.click", "store": S, "buyer": "b1"},
        {"id": "r", "ts": T0 + 3, "type": "message", "store": S, "buyer": "b1", "sender": "agent",
         "agent": "a1", "text": "在的"},
    ]  # fmt: skip
    result = svc.ingest(ev)
    assert result.accepted == len(ev), result.rejected
    with svc.sessions.begin() as s:
        admin = create_token(s, S, "a1", "admin")
    return {"staff": admin, "buyer": buyer_token(S, "b1")}


@pytest.fixture
def api_schema(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The app's OpenAPI schema, loaded through ASGI from an app over a seeded store."""
    monkeypatch.setenv("KEFU_SECRET", "test-secret")
    engine = make_engine(db_url)
    svc = EngineService(engine, clock=VirtualClock(T0 + 60_000))
    app = create_app(svc, tick_seconds=3600)
    app.state.test_tokens = _seed(svc)
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    engine.dispose()


def _check(case: Any, tokens: dict[str, str], failures: list[str]) -> None:
    path: str = case.operation.path
    params = case.path_parameters or {}
    if "conversation" in params and hash(str(params["conversation"])) % 2 == 0:
        params["conversation"] = "b1~1"
    token = tokens["buyer"] if path.startswith("/api/v1/buyer") else tokens["staff"]
    try:
        response = case.call(headers={"Authorization": f"Bearer {token}"}, timeout=120)
    except Exception as e:  # the in-process transport re-raises the app's exceptions
        tb = "".join(traceback.format_exception(e)[-6:])
        failures.append(f"{case.operation.method.upper()} {case.formatted_path} raised:\n{tb}"
                        f"{case.as_curl_command()}")  # fmt: skip
        return
    where = f"{case.operation.method.upper()} {case.formatted_path} → {response.status_code}"
    if response.status_code >= 500:
        failures.append(f"{where}: {response.text[:300]}\n{case.as_curl_command()}")
    elif response.status_code >= 400:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not (isinstance(body, dict) and body.get("detail")):
            failures.append(f"{where} without a `detail`: {response.text[:200]}")


@pytest.mark.backends("sqlite")
def test_no_server_error_and_every_error_has_a_reason(api_schema: Any) -> None:
    tokens = api_schema.app.state.test_tokens
    failures: list[str] = []
    operations = [r.ok() for r in api_schema.get_all_operations()]
    assert len(operations) >= 50
    for op in operations:
        fixed = {"store": S} if "{store}" in op.path else None
        strategy = st.one_of(
            op.as_strategy(GenerationMode.POSITIVE, path_parameters=fixed),
            op.as_strategy(GenerationMode.NEGATIVE, path_parameters=fixed),
        )
        slow = any(op.path.endswith(x) for x in SLOW)

        @settings(max_examples=SLOW_EXAMPLES if slow else EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck), derandomize=True)  # fmt: skip
        @given(strategy)
        def run(case: Any) -> None:
            _check(case, tokens, failures)

        run()
    assert not failures, "\n".join(failures[:20])
