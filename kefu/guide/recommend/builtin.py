"""The built-in provider: decayed co-purchase rules + item-kNN, category, then popularity.

For an inquired product a, candidates come in three tiers, each filling what the one before
left empty (after exclusions):

1. item level — smoothed association scores of a's co-purchases and the best sellers
   (confidence ↔ cosine ↔ lift, see `knn.direct`), shrunk towards the store's prior: its
   popularity, tilted towards products that buyers *add* to baskets; the prior's strength
   and tilt are learnt per store (see `tuning`). Plus `hop` × the item-kNN second-order
   votes (`knn.two_hop`, off by default: it helped neither validation split);
2. category complementarity, for cold items — what the best-selling products of a's
   category are bought with (a new dress gets the belts and shoes dresses sell with);
3. the prior — the store's most-bought (most-added) available items.

Excluded always: a itself, products missing from the catalogue, off sale or out of stock,
and substitutes of a. A substitute is a product of a's category, *unless the baskets say
otherwise*: when a and b were bought together in at least `same_category_support` (decayed)
baskets, buyers evidently take both (two colours of a T-shirt, socks in pairs), so b stays.
An empty category means "unknown" and makes nothing a substitute.

**Epochs** keep panels fast and deterministic. What a's scores read besides a's own row and
count — every product's prior mass, the prior's strength, the best sellers — is frozen at the
start of an epoch, which `observe_order` opens after 5 % more orders (at most 2 000 orders),
after a re-tune, and on every order while the store is small. Between epochs a product's
best candidates can therefore be kept (`LIST` of them), until the product itself is ordered
again: a panel costs a dictionary lookup for the products agents are asked about most, and
the answer depends only on the order history — never on which questions came before, in
this process or in another one restored from a snapshot.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from itertools import chain, islice

import numpy as np

from kefu.guide.recommend import knn
from kefu.guide.recommend.copurchase import CoPurchase
from kefu.guide.recommend.popularity import HEAD, take
from kefu.guide.recommend.provider import Catalogue, available
from kefu.guide.recommend.tuning import DEFAULT_PRIOR, PriorTuner

SIBLINGS = 20
POPULAR = 100  # popular items scored next to the partners (the prior makes them comparable)
LIST = 64  # best candidates kept per product (≥ 3 × the largest panel, guide.max_items ≤ 20)
KEEP = 20_000  # products whose lists are kept per store; past that the oldest half goes
EPOCH_SHARE = 100  # a new epoch after 1 % more orders …
EPOCH_MAX = 2_000  # … or after 2 000 orders, whichever comes first
POOL = 2 * HEAD  # best sellers carried from epoch to epoch (their heads are then exact)
INDEX_ORDERS = 10_000  # the category index is rebuilt at least this often

Kept = tuple[int, list[str], np.ndarray, bool]  # (epoch, products, scores, cut off)


class Epoch:
    """What the provider's answers read besides the asked product's own counts."""

    def __init__(
        self,
        n: int,
        orders: int,
        tuned_at: int,
        t0: int | None,
        prior: knn.Prior,
        pools: tuple[list[str], list[str]],
    ) -> None:
        self.n = n
        self.orders = orders
        self.tuned_at = tuned_at
        self.t0 = t0
        self.prior = prior
        self.pools = pools  # the POOL best sellers by baskets and by add-on lines
        by_item, by_addon = pools
        self.extra = list(dict.fromkeys(by_item[:POPULAR] + by_addon[:POPULAR]))
        heads = dict.fromkeys(by_item[:HEAD] + by_addon[:HEAD])
        self.head = list(_ranked({b: prior.mass(b) for b in heads}))


class BuiltinProvider:
    """kefu's own complementary-products provider (the store default, name `builtin`)."""

    def __init__(
        self,
        half_life_days: float = 90.0,
        alpha: float = 0.2,
        prior: float | None = None,
        mix: float | None = None,
        hop: float = 0.0,
        neighbours: int = 10,
        same_category_support: float = 3.0,
        max_partners: int = 1000,
    ) -> None:
        self.half_life_days = half_life_days
        self.alpha = alpha
        self.prior = prior
        self.mix = mix
        self.hop = hop
        self.neighbours = neighbours
        self.same_category_support = same_category_support
        self.max_partners = max_partners
        self.stats: dict[str, CoPurchase] = {}
        self.tuners: dict[str, PriorTuner] = {}
        self.epochs: dict[str, Epoch] = {}
        self.touched: dict[str, dict[str, None]] = {}  # ordered since the epoch began
        self._lists: dict[str, dict[str, Kept]] = {}
        self._categories: dict[str, tuple[int, int, int, dict[str, list[str]]]] = {}
        self._siblings: dict[str, dict[str, tuple[int, list[str]]]] = {}

    def __getstate__(self) -> dict[str, object]:
        """Pickle the statistics and epochs, not the caches (rebuilt, to the same answers)."""
        state = self.__dict__.copy()
        state["_lists"], state["_categories"], state["_siblings"] = {}, {}, {}
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        """Snapshots from before epochs and the add-on prior load with an epoch opened now."""
        self.__dict__.update(state)
        for old in ("rankings", "addon_rankings", "_heads"):
            self.__dict__.pop(old, None)
        if "epochs" not in state:
            self.mix = None
            self.epochs, self.touched = {}, {}
            self._lists, self._categories, self._siblings = {}, {}, {}
            for store, cp in self.stats.items():
                self._freeze(store, cp)

    # -- learning -----------------------------------------------------------------------------
    def observe_order(self, store: str, buyer: str, items: list[str], ts_ms: int) -> None:
        """Add the basket to the store's decayed statistics: O(basket²), plus an amortised
        re-tune (geometric schedule) and a new epoch now and then (O(products) copy)."""
        cp = self.stats.get(store)
        if cp is None:
            cp = self.stats[store] = CoPurchase(self.half_life_days, self.max_partners)
        cp.add(items, ts_ms)
        basket = list(dict.fromkeys(items))[: cp.max_basket]
        touched = self.touched.setdefault(store, {})
        lists = self._lists.get(store, {})
        for b in basket:
            touched[b] = None
            lists.pop(b, None)  # its row and count changed
        if self.prior is None and self.mix is None:
            tuner = self.tuners.get(store)
            if tuner is None:
                tuner = self.tuners[store] = PriorTuner()
            tuner.observe(basket, ts_ms)
            if tuner.due(cp.orders):
                ep = self.epochs.get(store)  # there is one: the first order opened it
                tuner.tune(cp, self.alpha, ep.extra if ep is not None else [], cp.orders)
        if self._epoch_due(store, cp):
            self._freeze(store, cp)

    def prior_of(self, store: str) -> float:
        """The prior's strength m in use for `store` (fixed, or tuned on its baskets)."""
        if self.prior is not None or self.mix is not None:
            return self.prior if self.prior is not None else DEFAULT_PRIOR
        tuner = self.tuners.get(store)
        return tuner.prior if tuner is not None else DEFAULT_PRIOR

    def mix_of(self, store: str) -> float:
        """The prior's tilt towards add-on products for `store` (fixed, or tuned)."""
        if self.prior is not None or self.mix is not None:
            return self.mix if self.mix is not None else 0.0
        tuner = self.tuners.get(store)
        return tuner.mix if tuner is not None else 0.0

    def _epoch_due(self, store: str, cp: CoPurchase) -> bool:
        ep = self.epochs.get(store)
        if ep is None:
            return True
        tuner = self.tuners.get(store)
        step = max(1, min(EPOCH_MAX, ep.orders // EPOCH_SHARE))
        return (
            cp.orders - ep.orders >= step
            or ep.tuned_at != (tuner.tuned_at if tuner is not None else 0)
            or ep.t0 != cp.t0  # weights were rescaled
        )

    def _pools(self, store: str, cp: CoPurchase) -> tuple[list[str], list[str]]:
        """The POOL best sellers by baskets and by add-on lines. Counts only grow while t0
        stays, so the last epoch's pool plus what was ordered since holds the new one."""
        ep = self.epochs.get(store)
        if ep is None or ep.t0 != cp.t0:
            return _best(cp.item, cp.item), _best(cp.addon, cp.addon)
        since = self.touched.get(store, {})
        return (
            _best(cp.item, dict.fromkeys(chain(ep.pools[0], since))),
            _best(cp.addon, dict.fromkeys(chain(ep.pools[1], since))),
        )

    def _freeze(self, store: str, cp: CoPurchase) -> Epoch:
        """Open a new epoch: copy the counts the prior reads, find the best sellers."""
        old = self.epochs.get(store)
        mix = self.mix_of(store)
        u, v = knn.mix_weights(cp, mix)
        pi = knn.Prior(dict(cp.item), dict(cp.addon) if v > 0.0 else {}, u, v,
                       self.prior_of(store) / cp.scale())  # fmt: skip
        tuner = self.tuners.get(store)
        ep = Epoch(
            n=old.n + 1 if old is not None else 1,
            orders=cp.orders,
            tuned_at=tuner.tuned_at if tuner is not None else 0,
            t0=cp.t0,
            prior=pi,
            pools=self._pools(store, cp),
        )
        self.epochs[store] = ep
        self.touched[store] = {}
        return ep

    # -- answering ----------------------------------------------------------------------------
    def scores(self, store: str, product: str) -> dict[str, float]:
        """Item-level scores of `product`'s candidates (best = 1 + hop), before exclusions."""
        cp, ep = self.stats.get(store), self.epochs.get(store)
        if cp is None or ep is None:
            return {}
        first = knn.direct(cp, product, self.alpha, ep.prior, ep.extra)
        if not first:
            return {}
        top = max(first.values())
        out = {b: s / top for b, s in first.items()}
        if self.hop > 0.0:
            second = knn.two_hop(cp, product, first, self.alpha, ep.prior, self.neighbours)
            if second:
                top2 = max(second.values())
                for b, s in second.items():
                    out[b] = out.get(b, 0.0) + self.hop * s / top2
        return out

    def best(self, store: str, product: str) -> tuple[list[str], np.ndarray, bool]:
        """`product`'s LIST best candidates, their scores (best = 1) and whether more exist:
        kept until the product is ordered again or the epoch ends (same as `scores`, sorted,
        with hop = 0)."""
        cp, ep = self.stats.get(store), self.epochs.get(store)
        if cp is None or ep is None:
            return [], np.zeros(0), False
        lists = self._lists.setdefault(store, {})
        kept = lists.get(product)
        if kept is not None and kept[0] == ep.n:
            return kept[1], kept[2], kept[3]
        names, scores, cut = knn.top(cp, product, self.alpha, ep.prior, ep.extra, LIST)
        if len(lists) >= KEEP:
            for old in list(islice(lists, KEEP // 2)):
                del lists[old]
        lists[product] = (ep.n, names, scores, cut)
        return names, scores, cut

    def complements(self, store: str, product: str, k: int, catalogue: Catalogue) -> list[str]:
        """Up to `k` complements of `product`: item level, then category, then popularity."""
        return self.complements_many(store, [product], k, catalogue)

    def complements_many(
        self, store: str, products: list[str], k: int, catalogue: Catalogue
    ) -> list[str]:
        """Complements of a whole basket: the products' item-level scores summed."""
        cp, ep = self.stats.get(store), self.epochs.get(store)
        if cp is None or ep is None or k <= 0 or not products:
            return []
        asked = set(products)
        cats = {c for c in (_category(catalogue, p) for p in products) if c}
        support = self.same_category_support * (1.0 - 1e-6)  # decay of the same instant

        def ok(b: str) -> bool:
            if b in asked:
                return False
            it = catalogue.get(b)
            if not available(it):
                return False
            assert it is not None
            if it.category and it.category in cats:
                # A same-category product is a substitute unless bought with the asked one.
                return any(
                    _category(catalogue, p) == it.category and cp.support(p, b) >= support
                    for p in products
                )
            return True

        if len(products) == 1 and self.hop == 0.0:
            names, _, cut = self.best(store, products[0])
            out = take(names, k, ok)
            if len(out) < k and cut:  # exclusions ate the kept list: rank them all
                out = take(_ranked(self.scores(store, products[0])), k, ok)
        else:
            total: dict[str, float] = {}
            for p in products:
                for b, s in self.scores(store, p).items():
                    total[b] = total.get(b, 0.0) + s
            out = take(_ranked(total), k, ok)
        if len(out) < k and cats:
            seen = set(out)
            by_cat = self._category_scores(store, cp, ep, cats, catalogue, asked)
            out += take(_ranked(by_cat), k - len(out), lambda b: b not in seen and ok(b))
        if len(out) < k:
            seen = set(out)
            ranked = _unique(chain(ep.head, _by_mass(ep.prior)))
            out += take(ranked, k - len(out), lambda b: b not in seen and ok(b))
        return out

    def _category_scores(
        self,
        store: str,
        cp: CoPurchase,
        ep: Epoch,
        cats: set[str],
        catalogue: Catalogue,
        asked: set[str],
    ) -> dict[str, float]:
        """What the best sellers of the asked categories are bought with (each sibling's kept
        list, scaled to its best)."""
        out: dict[str, float] = {}
        for cat in cats:
            for m in self._category_siblings(store, cp, ep, cat, catalogue, asked):
                names, scores, _ = self.best(store, m)
                for b, s in zip(names, scores.tolist(), strict=True):
                    out[b] = out.get(b, 0.0) + s
        return out

    def _category_siblings(
        self, store: str, cp: CoPurchase, ep: Epoch, cat: str, catalogue: Catalogue, asked: set[str]
    ) -> list[str]:
        """The SIBLINGS best sellers (epoch counts) of `cat` ever bought with anything."""
        index = self._category_index(store, cp, catalogue)
        per_cat = self._siblings.setdefault(store, {})
        kept = per_cat.get(cat)
        if kept is None or kept[0] != ep.n:
            item = ep.prior.item
            members = [m for m in index.get(cat, ()) if m in item]
            kept = per_cat[cat] = (ep.n, sorted(members, key=lambda m: (-item[m], m)))
        out: list[str] = []
        for m in kept[1]:
            it = catalogue.get(m)
            if m in asked or m not in cp.pairs or it is None or it.category != cat:
                continue  # asked, never bought with anything, or moved since indexed
            out.append(m)
            if len(out) >= SIBLINGS:
                break
        return out

    def _category_index(
        self, store: str, cp: CoPurchase, catalogue: Catalogue
    ) -> dict[str, list[str]]:
        """Products by category, rebuilt when the catalogue object or its size changes, and
        every INDEX_ORDERS orders (a product moved to another category counts in its new one
        from then on; it leaves its old one at once)."""
        key = (id(catalogue), len(catalogue))
        cached = self._categories.get(store)
        if cached is not None and cached[:2] == key and cp.orders - cached[2] < INDEX_ORDERS:
            return cached[3]
        index: dict[str, list[str]] = {}
        for pid, it in catalogue.items():
            if it.category:
                index.setdefault(it.category, []).append(pid)
        self._categories[store] = (key[0], key[1], cp.orders, index)
        self._siblings[store] = {}
        return index


def _best(counts: dict[str, float], cands: Iterable[str]) -> list[str]:
    """The POOL candidates with the largest counts (ties by id)."""
    have = [b for b in cands if b in counts]
    return heapq.nsmallest(POOL, have, key=lambda b: (-counts[b], b))


def _category(catalogue: Catalogue, product: str) -> str:
    it = catalogue.get(product)
    return it.category if it is not None else ""


def _by_mass(pi: knn.Prior) -> Iterator[str]:
    """Every product by prior mass (only reached when exclusions exhaust the epoch's head)."""
    yield from _ranked({b: pi.mass(b) for b in pi.item})


def _unique(items: Iterable[str]) -> Iterator[str]:
    """Each item once, lazily (the full ranking behind a head is only sorted if reached)."""
    seen: set[str] = set()
    for b in items:
        if b not in seen:
            seen.add(b)
            yield b


def _ranked(scores: dict[str, float]) -> Iterable[str]:
    """Best score first; ties by product id so results do not depend on dict order."""
    return (b for b, _ in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])))
