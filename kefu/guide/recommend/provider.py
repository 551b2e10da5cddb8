"""The one interface every recommendation provider implements (rules.md §3.3).

A provider learns from baskets (`order` events, incrementally) and answers "what goes with
this product?". Its whole state lives in the engine's per-store snapshot, so a provider must
be picklable: plain attributes (dicts, lists, numbers, strings), no open files, no locks.

The catalogue is passed at query time, not learned: the store's products change (status,
stock, category) far more often than baskets teach anything, and the engine already holds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable


class CatalogueItem(Protocol):
    """What a provider may read of a product (`kefu.engine.state.ProductState` fits)."""

    @property
    def category(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def stock(self) -> int | None: ...


Catalogue = Mapping[str, CatalogueItem]


@runtime_checkable
class Provider(Protocol):
    """A complementary-products ("buy together") recommender for one or more stores."""

    def observe_order(self, store: str, buyer: str, items: list[str], ts_ms: int) -> None:
        """Learn from one order's basket (product ids, repeats allowed) at `ts_ms`."""
        ...

    def complements(self, store: str, product: str, k: int, catalogue: Catalogue) -> list[str]:
        """Up to `k` products to suggest with `product`, best first.

        Never the product itself, nothing off sale or out of stock, nothing missing from the
        catalogue, and no substitute of it (see `BuiltinProvider` for what counts as one).
        """
        ...


def available(item: CatalogueItem | None) -> bool:
    """On sale and in stock; unknown stock counts as in stock, an unknown product does not."""
    return item is not None and item.status == "on_sale" and (item.stock is None or item.stock > 0)
