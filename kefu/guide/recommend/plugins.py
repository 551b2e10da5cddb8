"""Choosing a store's one provider: built-in names, or plug-ins found by entry point.

A plug-in is any installed distribution that declares, in group `kefu.guide.providers`,
`name = "package.module:Factory"` where `Factory()` (a class or a function, no arguments)
returns an object satisfying `Provider`. Its state is pickled with the store's snapshot, so
it must be picklable. A name must resolve to exactly one provider: two plug-ins (or a plug-in
and a built-in) claiming the same name is a configuration error, not a coin toss.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from kefu.guide.recommend.blend import BlendProvider
from kefu.guide.recommend.builtin import BuiltinProvider
from kefu.guide.recommend.popularity import PopularityProvider
from kefu.guide.recommend.provider import Provider

GROUP = "kefu.guide.providers"
BUILTIN: dict[str, Callable[[], Provider]] = {
    "builtin": BlendProvider,  # the learnt blend (issue 17)
    "association": BuiltinProvider,  # the previous built-in: association rules + a prior
    "popularity": PopularityProvider,
}


class ProviderError(LookupError):
    """No provider, or more than one, answers to a name; or a plug-in is not a provider."""


def plugin_entry_points() -> list[EntryPoint]:
    """Entry points of the provider group, read afresh (plug-ins may be installed meanwhile)."""
    return list(entry_points(group=GROUP))


def provider_names() -> list[str]:
    """Every name a store may pick (built-ins first)."""
    return [*BUILTIN, *sorted({ep.name for ep in plugin_entry_points()} - set(BUILTIN))]


def provider_for(name: str) -> Provider:
    """A new instance of the one provider called `name`."""
    # (origin, resolve): resolve() returns the factory; plug-ins are imported only if chosen.
    found: list[tuple[str, Callable[[], Any]]] = []
    if name in BUILTIN:
        factory = BUILTIN[name]
        found.append(("kefu (built-in)", lambda: factory))
    found += [(ep.value, ep.load) for ep in plugin_entry_points() if ep.name == name]
    if not found:
        raise ProviderError(f"no recommendation provider named {name!r}; known: {provider_names()}")
    if len(found) > 1:
        where = ", ".join(origin for origin, _ in found)
        raise ProviderError(f"{len(found)} providers are named {name!r} ({where}); need one")
    origin, resolve = found[0]
    instance = resolve()()
    if not isinstance(instance, Provider):
        raise ProviderError(f"{origin} does not implement observe_order and complements")
    return instance
