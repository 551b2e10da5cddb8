"""Schemathesis against the app's own OpenAPI document (in-process ASGI), signed in as each
role of the store (admin, supervisor, agent; the buyer on the buyer routes) with the path's
ids pinned to real ones of that store half of the time: for every operation, generated valid
and invalid requests never get a 5xx, and every error is a 4xx whose JSON body says why
(`detail`). Integer parameters are bounded in the document and out-of-range values are 422s
(SQLite's INTEGER is 64-bit: an unbounded `after=2**64` was a 500)."""

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
from kefu.engine.clock import VirtualClock
from kefu.runtime.service import EngineService
from kefu.server.app import create_app
from kefu.storage.db import make_engine
from tests.accounts.support import T0

S = "s1"
# Report endpoints compute over the store's log (about a second each here): few examples.
SLOW = ("/insight", "/urge/stats", "/guide/leaderboards", "/insight/today", "/faq/learn",
        "/reports/handoff", "/traffic", "/traffic/today", "/keywords")  # fmt: skip
EXAMPLES, SLOW_EXAMPLES = 10, 2
# Other roles than the admin: fewer examples each (the admin run explores; these check that no
# role reaches a handler path that fails).
ROLE_EXAMPLES = {"admin": (EXAMPLES, SLOW_EXAMPLES), "supervisor": (4, 1), "agent": (4, 1)}
INT64_MAX = 2**63 - 1


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
    ev.append({"id": "f", "ts": T0 + 4, "type": "faq", "store": S, "faq": "f1",
               "question": "发货时间", "answer": "48小时内发货"})  # fmt: skip
    result = svc.ingest(ev)
    assert result.accepted == len(ev), result.rejected
    with svc.sessions.begin() as s:
        tokens = {role: create_token(s, S, "a1", role) for role in ROLE_EXAMPLES}
    return {**tokens, "buyer": buyer_token(S, "b1")}


# Real ids of the seeded store, used for half of the generated path parameters.
REAL_IDS = {"conversation": "b1~1", "faq": "f1", "product": "p1", "buyer_id": "b1"}


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


def _check(case: Any, token: str, failures: list[str]) -> None:
    params = case.path_parameters or {}
    for name, real in REAL_IDS.items():
        if name in params and hash(str(params[name])) % 2 == 0:
            params[name] = real
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


def _explore(strategy: Any, examples: int, token: str, failures: list[str]) -> None:
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), derandomize=True)  # fmt: skip
    @given(strategy)
    def run(case: Any) -> None:
        _check(case, token, failures)

    run()


@pytest.mark.backends("sqlite")
@pytest.mark.parametrize("role", list(ROLE_EXAMPLES))
def test_no_server_error_and_every_error_has_a_reason(api_schema: Any, role: str) -> None:
    tokens = api_schema.app.state.test_tokens
    failures: list[str] = []
    operations = [r.ok() for r in api_schema.get_all_operations()]
    assert len(operations) >= 50
    examples, slow_examples = ROLE_EXAMPLES[role]
    for op in operations:
        fixed = {"store": S} if "{store}" in op.path else None
        strategy = st.one_of(
            op.as_strategy(GenerationMode.POSITIVE, path_parameters=fixed),
            op.as_strategy(GenerationMode.NEGATIVE, path_parameters=fixed),
        )
        slow = any(op.path.endswith(x) for x in SLOW)
        token = tokens["buyer"] if op.path.startswith("/api/v1/buyer") else tokens[role]
        _explore(strategy, slow_examples if slow else examples, token, failures)
    assert not failures, "\n".join(failures[:20])


def _integer_params(spec: dict[str, Any]) -> Iterator[tuple[str, str, str, str, dict]]:
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            for prm in op.get("parameters", []):
                schemas = [prm.get("schema", {}), *prm.get("schema", {}).get("anyOf", [])]
                for schema in schemas:
                    if schema.get("type") == "integer":
                        yield method, path, prm["in"], prm["name"], schema


@pytest.mark.backends("sqlite")
def test_every_integer_parameter_is_bounded_and_a_huge_one_is_a_422(api_schema: Any) -> None:
    spec = api_schema.raw_schema
    params = list(_integer_params(spec))
    assert any(name == "after" for _, _, _, name, _ in params)
    unbounded = [f"{m.upper()} {p} {name}" for m, p, _, name, sch in params
                 if sch.get("maximum", INT64_MAX + 1) > INT64_MAX]  # fmt: skip
    assert not unbounded, unbounded
    from fastapi.testclient import TestClient

    client = TestClient(api_schema.app)
    tokens = api_schema.app.state.test_tokens
    for method, path, where, name, _ in params:
        if method != "get" or where != "query":
            continue
        url = path.replace("{store}", S)
        for key, real in REAL_IDS.items():
            url = url.replace("{" + key + "}", real)
        token = tokens["buyer" if path.startswith("/api/v1/buyer") else "admin"]
        r = client.get(url, params={name: 2**64}, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 422, (url, name, r.status_code, r.text[:200])
