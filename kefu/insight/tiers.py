"""A store's tier (small / large by daily reception) as the engine sees it now."""

from __future__ import annotations

from typing import Any

from kefu.conversations.gate import store_tier


def tier_of(service: Any, store: str) -> str:
    """`small` or `large` for a store the live service holds (`small` when unknown)."""
    with service.state_of(store) as st:
        if st is None:
            return "small"
        return store_tier(st, service.engine.settings(store))
