"""Background workers of `kefu serve`, one class per file (like Zulip's queue workers).

Each module registers one worker with `@register`; the app's lifespan starts every worker
its options ask for and stops them together. A worker runs until `ctx.stop` is set and
never lets one failed round end it: the next round retries.
"""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

if TYPE_CHECKING:
    from kefu.insight.rollup import Rollups
    from kefu.runtime.service import EngineService
    from kefu.server.options import Options


@dataclass
class Context:
    """What a worker may use: the live service, the roll-ups, the options, the stop flag and
    the app's state."""

    service: EngineService
    rollups: Rollups
    options: Options
    stop: asyncio.Event
    state: Any = None  # the app's state (per-process caches such as the traffic follower)

    async def sleep(self, seconds: float) -> bool:
        """Wait `seconds` or until stopped; True when the worker should go on."""
        try:
            await asyncio.wait_for(self.stop.wait(), seconds)
        except TimeoutError:
            return True
        return False


class Worker:
    """Base of the workers: a unique `name`, when it runs, and its loop."""

    name: ClassVar[str]

    @staticmethod
    def wanted(options: Options) -> bool:
        """Whether this process runs the worker."""
        return True

    async def run(self, ctx: Context) -> None:
        raise NotImplementedError


WORKERS: dict[str, type[Worker]] = {}
W = TypeVar("W", bound=type[Worker])


def register(cls: W) -> W:
    """Class decorator: make a worker known to the app (its name must be unique)."""
    if cls.name in WORKERS:
        raise ValueError(f"two workers are named {cls.name!r}")
    WORKERS[cls.name] = cls
    return cls


def load_all() -> dict[str, type[Worker]]:
    """Import every worker module of this package, so each registers itself."""
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
    return WORKERS
