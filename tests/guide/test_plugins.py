"""Providers by name: built-ins, plug-ins found by entry point, exactly one per name."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import pytest

from kefu.engine.state import ProductState
from kefu.guide.recommend import (
    GROUP,
    BlendProvider,
    BuiltinProvider,
    PopularityProvider,
    ProviderError,
    provider_for,
    provider_names,
)

PLUGIN = '''
class ReverseProvider:
    """Recommends the catalogue in reverse id order: easy to recognise."""

    def __init__(self):
        self.orders = 0

    def observe_order(self, store, buyer, items, ts_ms):
        self.orders += 1

    def complements(self, store, product, k, catalogue):
        return sorted((p for p in catalogue if p != product), reverse=True)[:k]


class NotAProvider:
    pass
'''


def install(root: Path, dist: str, module: str, entries: dict[str, str]) -> None:
    """A minimal installed distribution: its module and a dist-info with entry points."""
    (root / f"{module}.py").write_text(PLUGIN)
    info = root / f"{dist}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    lines = "".join(f"{name} = {target}\n" for name, target in entries.items())
    (info / "entry_points.txt").write_text(f"[{GROUP}]\n{lines}")


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A fresh directory on sys.path to install test plug-ins into."""
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("kefu_test_plugin")]:
        del sys.modules[name]


def test_builtin_names_give_builtin_providers():
    # issue 17: `builtin` is now the learnt blend; the previous provider is `association`.
    assert isinstance(provider_for("builtin"), BlendProvider)
    assert isinstance(provider_for("association"), BuiltinProvider)
    assert isinstance(provider_for("popularity"), PopularityProvider)


def test_plugin_is_loaded_by_entry_point(site):
    install(
        site,
        "kefu_test_plugin",
        "kefu_test_plugin",
        {"reverse": "kefu_test_plugin:ReverseProvider"},
    )
    assert "reverse" in provider_names()
    p = provider_for("reverse")
    assert type(p).__name__ == "ReverseProvider"
    catalogue = {x: ProductState(product=x) for x in ("a", "b", "c")}
    p.observe_order("s1", "u1", ["a", "b"], 0)
    assert p.complements("s1", "a", 2, catalogue) == ["c", "b"]
    assert pickle.loads(pickle.dumps(p)).orders == 1  # lives in snapshots like the built-in


def test_each_call_gives_a_new_instance(site):
    install(
        site,
        "kefu_test_plugin",
        "kefu_test_plugin",
        {"reverse": "kefu_test_plugin:ReverseProvider"},
    )
    assert provider_for("reverse") is not provider_for("reverse")


def test_two_plugins_with_one_name_are_refused(site):
    install(
        site, "kefu_test_plugin", "kefu_test_plugin", {"dup": "kefu_test_plugin:ReverseProvider"}
    )
    install(
        site, "kefu_test_plugin2", "kefu_test_plugin2", {"dup": "kefu_test_plugin2:ReverseProvider"}
    )
    with pytest.raises(ProviderError, match="2 providers are named 'dup'"):
        provider_for("dup")


def test_plugin_cannot_shadow_a_builtin(site):
    install(
        site,
        "kefu_test_plugin",
        "kefu_test_plugin",
        {"builtin": "kefu_test_plugin:ReverseProvider"},
    )
    with pytest.raises(ProviderError, match="2 providers are named 'builtin'"):
        provider_for("builtin")


def test_unknown_name_is_refused():
    with pytest.raises(ProviderError, match="no recommendation provider named 'nope'"):
        provider_for("nope")


def test_plugin_that_is_not_a_provider_is_refused(site):
    install(site, "kefu_test_plugin", "kefu_test_plugin", {"bad": "kefu_test_plugin:NotAProvider"})
    with pytest.raises(ProviderError, match="does not implement"):
        provider_for("bad")
