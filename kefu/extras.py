"""Optional parts of kefu installed as extras (`pip install 'kefu[spark]'`), and the message
a user gets when one is asked for but missing."""

from __future__ import annotations

import importlib
from types import ModuleType


class MissingExtra(RuntimeError):
    """A feature needs an optional dependency that is not installed; says which extra."""

    def __init__(self, feature: str, extra: str, module: str) -> None:
        super().__init__(
            f"{feature} needs the optional package {module!r}: pip install 'kefu[{extra}]'"
        )
        self.extra = extra


def require(module: str, feature: str, extra: str) -> ModuleType:
    """`module` imported, or `MissingExtra` naming the extra that brings it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(feature, extra, module.split(".")[0]) from None
