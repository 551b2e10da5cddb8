"""The built-in provider: decayed co-purchase rules + item-kNN, category, then popularity.

For an inquired product a, candidates come in three tiers, each filling what the one before
left empty (after exclusions):

1. item level — smoothed association scores of a's co-purchases and the best sellers
   (confidence ↔ cosine ↔ lift, see `knn.direct`; the prior strength is learnt per store,
   see `tuning`), plus `hop` × the item-kNN second-order votes (`knn.two_hop`, off by
   default: it helped neither validation split);
2. category complementarity, for cold items — what the best-selling products of a's
   category are bought with (a new dress gets the belts and shoes dresses sell with);
3. popularity — the store's most-bought available items.

Excluded always: a itself, products missing from the catalogue, off sale or out of stock,
and substitutes of a. A substitute is a product of a's category, *unless the baskets say
otherwise*: when a and b were bought together in at least `same_category_support` (decayed)
baskets, buyers evidently take both (two colours of a T-shirt, socks in pairs), so b stays.
An empty category means "unknown" and makes nothing a substitute.
"""

from __future__ import annotations

from collections.abc import Iterable

from kefu.guide.recommend import knn
from kefu.guide.recommend.copurchase import CoPurchase
from kefu.guide.recommend.popularity import PopularityRanking, take
from kefu.guide.recommend.provider import Catalogue, available
from kefu.guide.recommend.tuning import DEFAULT_PRIOR, PriorTuner

SIBLINGS = 20
POPULAR = 100  # popular items scored next to the partners (the prior makes them comparable)


class BuiltinProvider:
    """kefu's own complementary-products provider (the store default, name `builtin`)."""

    def __init__(
        self,
        half_life_days: float = 90.0,
        alpha: float = 0.2,
        prior: float | None = None,
        hop: float = 0.0,
        neighbours: int = 10,
        same_category_support: float = 3.0,
        max_partners: int = 1000,
    ) -> None:
        self.half_life_days = half_life_days
        self.alpha = alpha
        self.prior = prior
        self.hop = hop
        self.neighbours = neighbours
        self.same_category_support = same_category_support
        self.max_partners = max_partners
        self.stats: dict[str, CoPurchase] = {}
        self.rankings: dict[str, PopularityRanking] = {}
        self.tuners: dict[str, PriorTuner] = {}
        self._categories: dict[str, tuple[int, int, int, dict[str, list[str]]]] = {}

    def __getstate__(self) -> dict[str, object]:
        """Pickle the statistics, not the category index (it is rebuilt from the catalogue)."""
        state = self.__dict__.copy()
        state["_categories"] = {}
        return state

    def observe_order(self, store: str, buyer: str, items: list[str], ts_ms: int) -> None:
        """Add the basket to the store's decayed co-purchase statistics: O(basket²)."""
        cp = self.stats.get(store)
        if cp is None:
            cp = self.stats[store] = CoPurchase(self.half_life_days, self.max_partners)
        cp.add(items, ts_ms)
        if self.prior is None:
            tuner = self.tuners.get(store)
            if tuner is None:
                tuner = self.tuners[store] = PriorTuner()
            tuner.observe(list(dict.fromkeys(items))[: cp.max_basket], ts_ms)
            if tuner.due(cp.orders):  # amortised: geometric schedule, ~60 ms each
                head = self._ranking(store).top(cp, POPULAR)
                tuner.tune(cp, self.alpha, head, cp.orders)

    def prior_of(self, store: str) -> float:
        """The popularity prior in use for `store` (fixed, or tuned on its baskets)."""
        if self.prior is not None:
            return self.prior
        tuner = self.tuners.get(store)
        return tuner.prior if tuner is not None else DEFAULT_PRIOR

    def _ranking(self, store: str) -> PopularityRanking:
        ranking = self.rankings.get(store)
        if ranking is None:
            ranking = self.rankings[store] = PopularityRanking()
        return ranking

    def scores(self, store: str, product: str) -> dict[str, float]:
        """Item-level scores of `product`'s candidates (best = 1 + hop), before exclusions."""
        cp = self.stats.get(store)
        if cp is None:
            return {}
        prior = self.prior_of(store)
        first = knn.direct(cp, product, self.alpha, prior, self._ranking(store).top(cp, POPULAR))
        if not first:
            return {}
        top = max(first.values())
        out = {b: s / top for b, s in first.items()}
        if self.hop > 0.0:
            second = knn.two_hop(cp, product, first, self.alpha, prior, self.neighbours)
            if second:
                top2 = max(second.values())
                for b, s in second.items():
                    out[b] = out.get(b, 0.0) + self.hop * s / top2
        return out

    def complements(self, store: str, product: str, k: int, catalogue: Catalogue) -> list[str]:
        """Up to `k` complements of `product`: item level, then category, then popularity."""
        return self.complements_many(store, [product], k, catalogue)

    def complements_many(
        self, store: str, products: list[str], k: int, catalogue: Catalogue
    ) -> list[str]:
        """Complements of a whole basket: the products' item-level scores summed."""
        cp = self.stats.get(store)
        if cp is None or k <= 0 or not products:
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

        total: dict[str, float] = {}
        for p in products:
            for b, s in self.scores(store, p).items():
                total[b] = total.get(b, 0.0) + s
        out = take(_ranked(total), k, ok)
        if len(out) < k and cats:
            seen = set(out)
            by_cat = self._category_scores(store, cp, cats, catalogue, asked)
            out += take(_ranked(by_cat), k - len(out), lambda b: b not in seen and ok(b))
        if len(out) < k:
            seen = set(out)
            ranked = self._ranking(store).ranked(cp)
            out += take(ranked, k - len(out), lambda b: b not in seen and ok(b))
        return out

    def _category_scores(
        self,
        store: str,
        cp: CoPurchase,
        cats: set[str],
        catalogue: Catalogue,
        asked: set[str],
    ) -> dict[str, float]:
        """What the best sellers of the asked categories are bought with (each list scaled)."""
        index = self._category_index(store, cp, catalogue)
        out: dict[str, float] = {}
        for cat in cats:
            members = [m for m in index.get(cat, ()) if m not in asked and m in cp.pairs]
            members.sort(key=lambda m: cp.item.get(m, 0.0), reverse=True)
            for m in members[:SIBLINGS]:
                it = catalogue.get(m)
                if it is None or it.category != cat:
                    continue  # moved since the index was built
                for b, s in self.scores(store, m).items():
                    out[b] = out.get(b, 0.0) + s
        return out

    def _category_index(
        self, store: str, cp: CoPurchase, catalogue: Catalogue
    ) -> dict[str, list[str]]:
        """Products by category, rebuilt when the catalogue object, its size or 1 000 orders
        have changed since (it only ever serves the cold-item tier)."""
        key = (id(catalogue), len(catalogue))
        cached = self._categories.get(store)
        if cached is not None and cached[:2] == key and cp.orders - cached[2] < 1000:
            return cached[3]
        index: dict[str, list[str]] = {}
        for pid, it in catalogue.items():
            if it.category:
                index.setdefault(it.category, []).append(pid)
        self._categories[store] = (key[0], key[1], cp.orders, index)
        return index


def _category(catalogue: Catalogue, product: str) -> str:
    it = catalogue.get(product)
    return it.category if it is not None else ""


def _ranked(scores: dict[str, float]) -> Iterable[str]:
    """Best score first; ties by product id so results do not depend on dict order."""
    return (b for b, _ in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])))
