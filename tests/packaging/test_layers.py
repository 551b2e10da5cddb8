"""The import contracts of pyproject.toml name every package of kefu.

`lint-imports` (run by `make test`) checks the contracts; a forbidden-modules list only
forbids what it names, so a new package left out of it would slip past. This test fails
until the new package is placed in the layers.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _packages() -> set[str]:
    return {f"kefu.{p.parent.name}" for p in (ROOT / "kefu").glob("*/__init__.py")}


def _contracts() -> dict[str, dict[str, list[str]]]:
    doc = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {c["name"]: c for c in doc["tool"]["importlinter"]["contracts"]}


def test_the_engine_may_import_no_other_package_of_kefu() -> None:
    engine = _contracts()["The engine imports only itself"]
    assert set(engine["forbidden_modules"]) == _packages() - {"kefu.engine"}


def test_no_package_may_import_the_cli() -> None:
    cli = _contracts()["Nothing imports the CLI"]
    assert set(cli["source_modules"]) == _packages() - {"kefu.cli"}


def test_live_state_is_read_through_the_service_under_its_lock() -> None:
    """Routes and workers read a store's state with `EngineService.state_of` (the writer's
    lock held), never `service.engine.states` directly: a read must not see a half-applied
    batch. The engine and the runtime own the states."""
    offenders = []
    for path in sorted((ROOT / "kefu").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(("kefu/engine/", "kefu/runtime/")):
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "engine.states" in line:
                offenders.append(f"{rel}:{n}")
    assert offenders == []


def test_only_the_cli_may_import_the_server() -> None:
    server = _contracts()["Only the CLI imports the server (the app and its workers)"]
    assert set(server["source_modules"]) == _packages() - {"kefu.cli", "kefu.server"}


def test_the_server_keeps_one_background_worker_per_file() -> None:
    """Like Zulip's queue workers: each worker is a module of kefu/server/workers that
    registers exactly one worker class, so you always know where background work runs."""
    from kefu.server.workers import WORKERS, load_all

    load_all()
    files = sorted(
        p.stem for p in (ROOT / "kefu/server/workers").glob("*.py") if p.stem != "__init__"
    )
    assert sorted(w.__module__.rsplit(".", 1)[1] for w in WORKERS.values()) == files
