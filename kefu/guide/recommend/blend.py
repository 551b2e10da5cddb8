"""The built-in provider (name `builtin`): a per-store learnt blend of evidence.

A panel is good when at least one of its first complements is something the buyer adds to
the basket. Several kinds of evidence say what that is, and stores differ in which of them
speaks, so each candidate b of an asked product a (buyer u) gets

    score(b) = Σ_f w_f · f(a, u, b)

over these features, each in [0, 1]:

- `copurchase`  C(a, b) / (N(a) + 1): share of a's baskets that also held b;
- `knn`         C(a, b) / √(N(a) N(b)): item-kNN (cosine) on baskets;
- `title`       Jaccard similarity of the titles' words (CJK: character pairs) — one design
                in several colours sells together in a gift shop; beans and beans do not
                in a coffee shop, and there the learnt weight stays 0;
- `repeat`      share of u's own baskets that held b (repurchase);
- `next`        what buyers who bought the items of u's last basket bought in their next one;
- `popularity`  N(b) / max N: the store's best sellers;
- `category`    1 when a and b share a known category (a soft feature: its weight may be
                negative or zero, it never removes a product).

Counts are decayed (half-life 90 days, `exp((ts - t0)/τ)` weights, so old baskets fade
without being touched). The weights are learnt per store on its own earlier baskets: at 50,
62, 77 … orders (25 % more each time; past 50 000 orders every 50 000), each of the newest
three fifths of the last `RECENT` baskets is a validation window, with the statistics taken
back to before it (every count is a sum of weights: subtracting the baskets from the window
on is exact). Each validation basket asks about its first item; a hit is one of the first
three candidates in the rest of the basket. Coordinate ascent over a grid moves a weight only
when a sign test over the questions the move changes says it wins (z ≥ 2): on a few hundred
questions noise would otherwise steer the weights. Until the first tune: popularity plus
co-purchase.

Substitutes only by evidence: b is a substitute of a when both have the same known category,
prices within `PRICE_BAND` of each other, and buyers viewed them together at least
`SUBSTITUTE_VIEWS` times but bought them together in under `SUBSTITUTE_SHARE` of those
(they compared, then chose one). A store with one category therefore still gets full panels.

A panel always has `k` items when `k` available products exist: after the scored candidates
come the best sellers, then every other available product (sorted by id).

Determinism: what a's scores read besides a's own row — every product's count, the best
sellers — is frozen per *epoch* (a new one after 1 % more orders, at most every 2 000, each
order while the store is small, and after each tune); a's best candidates are kept until a is
ordered again or the epoch ends. The title index is rebuilt when the catalogue's size changes.
"""

from __future__ import annotations

import heapq
import math
import re
import sys
from array import array
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import numpy as np

from kefu.guide.recommend.decay import Decayed, best_sellers, ranked, take, tau_ms
from kefu.guide.recommend.provider import Catalogue, available

FEATURES = ("copurchase", "knn", "title", "repeat", "next", "popularity", "category")
GRID = (0.0, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
CATEGORY_GRID = (-1.0, -0.3, -0.1, 0.0, 0.1, 0.3, 1.0)
DEFAULT_WEIGHTS = {"copurchase": 1.0, "popularity": 1.0}
RECENT = 2_500  # baskets kept for tuning (the validation window is their newest fifth)
VALIDATION = 600  # at most this many validation queries …
FOLDS = 3  # … from the newest three fifths of the recent baskets
TUNE_GROWTH = 1.25  # re-tuned at 50, 62, 77 … orders (each time 25 % more) …
TUNE_EVERY = 50_000  # … and past 50 000 orders every 50 000
TUNE_PARTNERS = 300  # a validation question reads the asked product's strongest partners …
POOL = 30  # … and scores the best 30 candidates of each feature
HEAD = 100  # best sellers scored next to the partners
LIST = 64  # best candidates kept per product
KEEP = 20_000  # products whose lists are kept per store; past that the oldest half goes
MAX_PARTNERS = 1_000
MAX_BASKET = 100
BUYER_ITEMS = 50  # items kept per buyer
NEXT_ROW = 50  # next-basket partners kept per product (past that the weakest half goes)
TUNE_BUDGET = 4_000  # work units of a re-tune done per order (≈ entries read; a few ms) …
TUNE_AT_ONCE = 2_000  # … once the store has this many orders (before, a re-tune is cheap)
TITLE_POSTING = 300  # tokens in more titles than this do not propose candidates
TITLE_CANDIDATES = 200
EPOCH_SHARE, EPOCH_MAX, SMALL = 100, 2_000, 200
VIEW_WINDOW_MS = 3_600_000
VIEW_RECENT = 5
PRICE_BAND = 1.5
SUBSTITUTE_VIEWS = 3.0
SUBSTITUTE_SHARE = 0.1
_WORD = re.compile(r"[a-z0-9]+|[\u3400-\u9fff]+")


def title_tokens(title: str) -> frozenset[str]:
    """Words of a title: latin words and numbers (2+ characters), CJK character pairs."""
    out: set[str] = set()
    for w in _WORD.findall(title.lower()):
        if w.isascii():
            if len(w) >= 2:
                out.add(w)
        elif len(w) == 1:
            out.add(w)
        else:
            out.update(w[i : i + 2] for i in range(len(w) - 1))
    return frozenset(out)


def _cap(row: dict[str, float], n: int) -> None:
    """Drop the weakest half of a row grown past `n` entries (amortised O(1))."""
    if len(row) > n:
        keep = heapq.nlargest(n // 2, row.items(), key=lambda kv: (kv[1], kv[0]))
        row.clear()
        row.update(keep)


class Buyer:
    """A returning buyer: decayed baskets holding each item (at most BUYER_ITEMS, in two
    parallel arrays: a dict and a float object per item cost twice the memory), their total,
    the last basket."""

    __slots__ = ("baskets", "counts", "ids", "last")

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.counts = array("d")
        self.baskets = 0.0
        self.last: list[str] = []

    @property
    def items(self) -> dict[str, float]:
        """Decayed number of the buyer's baskets holding each item."""
        return dict(zip(self.ids, self.counts, strict=True))

    def add(self, basket: list[str], w: float) -> None:
        """One more basket of the buyer (stored weight `w`)."""
        self.baskets += w
        ids, counts = self.ids, self.counts
        for b in basket:
            try:
                counts[ids.index(b)] += w
            except ValueError:
                ids.append(b)
                counts.append(w)
        if len(ids) > BUYER_ITEMS:
            keep = heapq.nlargest(BUYER_ITEMS // 2, zip(counts, ids, strict=True))
            self.ids = [b for _, b in keep]
            self.counts = array("d", [c for c, _ in keep])
        self.last = basket

    def rescale(self, f: float) -> None:
        """Multiply every stored weight by `f`."""
        self.baskets *= f
        self.counts = array("d", [c * f for c in self.counts])

    def __getstate__(self) -> tuple[list[str], bytes, float, list[str]]:
        return (self.ids, self.counts.tobytes(), self.baskets, self.last)

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 2 and state[0] is None:
            state = state[1]  # pickled by an earlier kefu (a dataclass: a dict of fields)
        if isinstance(state, dict):
            self.ids, self.baskets = list(state["items"]), float(state["baskets"])
            self.counts = array("d", state["items"].values())
            self.last = list(state["last"])
            return
        self.ids, raw, self.baskets, self.last = state
        self.counts = array("d")
        self.counts.frombytes(raw)


@dataclass
class Stats(Decayed):
    """One store's decayed counts (all additive: a basket's share can be taken back)."""

    tau_ms: float
    t0: int | None = None
    orders: int = 0
    total: float = 0.0
    item: dict[str, float] = field(default_factory=dict)
    pairs: dict[str, dict[str, float]] = field(default_factory=dict)
    nxt: dict[str, dict[str, float]] = field(default_factory=dict)
    buyers: dict[str, Buyer] = field(default_factory=dict)
    views: dict[str, dict[str, float]] = field(default_factory=dict)
    seen: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    recent: deque[tuple[str, list[str], float, list[str]]] = field(
        default_factory=lambda: deque(maxlen=RECENT)
    )

    def now(self) -> float:
        """The weight of a basket at the reference of the latest one (the unit of counts)."""
        return max((w for _, _, w, _ in list(self.recent)[-1:]), default=1.0)

    def _rescale(self, f: float) -> None:
        self.total *= f
        for d in (self.item, *self.pairs.values(), *self.nxt.values(), *self.views.values()):
            for k in d:
                d[k] *= f
        for b in self.buyers.values():
            b.rescale(f)
        self.recent = deque(((u, i, w * f, p) for u, i, w, p in self.recent), maxlen=RECENT)


class Epoch:
    """What scores read besides the asked product's row: counts and best sellers, frozen."""

    def __init__(self, n: int, st: Stats, weights: dict[str, float]) -> None:
        self.n = n
        self.orders = st.orders
        self.item = dict(st.item)
        self.top = max(self.item.values(), default=1.0)
        self.head = best_sellers(self.item, HEAD)
        self.weights = dict(weights)
        self._ranked: list[str] | None = None

    def ranked(self) -> list[str]:
        """Every ordered product, best seller first (computed once per epoch, if needed)."""
        if self._ranked is None:
            self._ranked = ranked(self.item)
        return self._ranked


def _kv(kv: tuple[str, float]) -> tuple[float, str]:
    return (kv[1], kv[0])


def _best_first(kv: tuple[str, float]) -> tuple[float, str]:
    return (-kv[1], kv[0])


class TitleIndex:
    """Title words per product and the products per word (rebuilt on catalogue growth)."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.size = len(catalogue)
        self.tokens: dict[str, frozenset[str]] = {}
        self.posting: dict[str, list[str]] = {}
        for pid in sorted(catalogue):
            toks = title_tokens(getattr(catalogue[pid], "title", "") or "")
            if toks:
                self.tokens[pid] = toks
                for t in toks:
                    self.posting.setdefault(t, []).append(pid)

    def similar(self, product: str, toks: frozenset[str]) -> dict[str, float]:
        """Products sharing a not-too-common word with `toks`, by Jaccard similarity."""
        shared: dict[str, int] = {}
        for t in toks:
            ids = self.posting.get(t)
            if ids is None or len(ids) > TITLE_POSTING:
                continue
            for b in ids:
                shared[b] = shared.get(b, 0) + 1
        shared.pop(product, None)
        if not shared:
            return {}
        best = heapq.nlargest(TITLE_CANDIDATES, shared.items(), key=_kv)
        out = {}
        for b, _ in best:
            tb = self.tokens[b]
            out[b] = len(toks & tb) / len(toks | tb)
        return out


class BlendProvider:
    """kefu's own complementary-products provider (see the module docstring)."""

    def __init__(self, half_life_days: float = 90.0, weights: dict[str, float] | None = None):
        self.half_life_days = half_life_days
        self.fixed = dict(weights) if weights is not None else None
        self.stats: dict[str, Stats] = {}
        self.weights: dict[str, dict[str, float]] = {}
        self.tuned_at: dict[str, int] = {}
        self.validation: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, TuneJob] = {}
        self.epochs: dict[str, Epoch] = {}
        self._lists: dict[str, dict[str, tuple[int, list[str], list[float]]]] = {}
        self._titles: dict[str, TitleIndex] = {}
        self._catalogues: dict[str, Catalogue] = {}

    def __getstate__(self) -> dict[str, object]:
        """Pickle the statistics, not the caches (rebuilt, to the same answers)."""
        state = self.__dict__.copy()
        state["_lists"], state["_titles"], state["_catalogues"] = {}, {}, {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("jobs", {})  # pickled before re-tunes ran in steps

    def use_catalogue(self, store: str, catalogue: Catalogue) -> None:
        """The store's live catalogue, read when the weights are tuned (titles, categories);
        the engine binds it before each order, it is not pickled."""
        self._catalogues[store] = catalogue

    # -- learning ---------------------------------------------------------------------------
    def observe_order(self, store: str, buyer: str, items: list[str], ts_ms: int) -> None:
        """Add the basket: O(basket²) pair updates, the buyer's history, the next-basket
        transitions; now and then a re-tune of the weights and a new epoch."""
        st = self._stats(store)
        # Ids are interned: every order's ids are new strings, and the rows keep them as keys.
        basket = [sys.intern(x) for x in dict.fromkeys(items)][:MAX_BASKET]
        if not basket:
            return
        w = st.weight(ts_ms)
        st.orders += 1
        st.total += w
        lists = self._lists.get(store, {})
        for a in basket:
            st.item[a] = st.item.get(a, 0.0) + w
            lists.pop(a, None)
            if len(basket) > 1:
                row = st.pairs.setdefault(a, {})
                for b in basket:
                    if b != a:
                        row[b] = row.get(b, 0.0) + w
                _cap(row, MAX_PARTNERS)
        hist = st.buyers.get(buyer)
        if hist is None:
            hist = st.buyers[buyer] = Buyer()
        prev = hist.last
        for x in prev:
            row = st.nxt.setdefault(x, {})
            for b in basket:
                row[b] = row.get(b, 0.0) + w
            _cap(row, NEXT_ROW)
        hist.add(basket, w)
        record = (buyer, basket, w, prev)
        st.recent.append(record)
        if self.fixed is None:
            self._tune_step(store, st, record)
        if self._epoch_due(store, st):
            self._freeze(store, st)

    def _stats(self, store: str) -> Stats:
        st = self.stats.get(store)
        if st is None:
            st = self.stats[store] = Stats(tau_ms(self.half_life_days))
        return st

    def observe_view(self, store: str, buyer: str, product: str, ts_ms: int) -> None:
        """A product view: pairs viewed by one buyer within an hour (substitute evidence)."""
        st = self._stats(store)
        product = sys.intern(product)
        w = st.weight(ts_ms)
        recent = [(p, t) for p, t in st.seen.get(buyer, []) if ts_ms - t <= VIEW_WINDOW_MS]
        for p, _ in recent:
            if p != product:
                for x, y in ((p, product), (product, p)):
                    row = st.views.setdefault(x, {})
                    row[y] = row.get(y, 0.0) + w
                    _cap(row, MAX_PARTNERS)
        st.seen[buyer] = [*(r for r in recent if r[0] != product), (product, ts_ms)][-VIEW_RECENT:]

    def weights_of(self, store: str) -> dict[str, float]:
        """The blend's weights in use for `store` (fixed, learnt, or the default)."""
        if self.fixed is not None:
            return dict(self.fixed)
        return dict(self.weights.get(store, DEFAULT_WEIGHTS))

    def _tune_due(self, store: str, orders: int) -> bool:
        last = self.tuned_at.get(store, 0)
        grown = max(last + 1, int(last * TUNE_GROWTH))
        nxt = 50 if last == 0 else (grown if grown <= TUNE_EVERY else last + TUNE_EVERY)
        return orders >= nxt

    def _epoch_due(self, store: str, st: Stats) -> bool:
        ep = self.epochs.get(store)
        if ep is None or st.orders < SMALL:
            return True
        step = max(1, min(EPOCH_MAX, ep.orders // EPOCH_SHARE))
        return st.orders - ep.orders >= step or ep.weights != self.weights_of(store)

    def _freeze(self, store: str, st: Stats) -> None:
        old = self.epochs.get(store)
        self.epochs[store] = Epoch(old.n + 1 if old else 1, st, self.weights_of(store))

    # -- tuning -----------------------------------------------------------------------------
    def _tune_step(self, store: str, st: Stats, record: Basket) -> None:
        """At most TUNE_BUDGET units of re-tuning per order: a re-tune that falls due starts a
        `TuneJob`, which later orders advance (each adds itself to the job's windows, so the
        counts before them stay exact) until it sets the weights. Work is counted in entries
        read, not time: replay and live take the same steps."""
        job = self.jobs.get(store)
        if job is not None:
            if job.t0 != st.t0:  # the clock rebased every weight: start again
                job = None
                del self.jobs[store]
            else:
                job.add(record)
        if job is None and self._tune_due(store, st.orders):
            self.tuned_at[store] = st.orders
            job = self.jobs[store] = TuneJob(st)
        if job is not None:
            budget = TUNE_BUDGET if st.orders >= TUNE_AT_ONCE else math.inf
            self._advance(store, st, job, budget)

    def _advance(self, store: str, st: Stats, job: TuneJob, budget: float) -> None:
        catalogue = self._catalogues.get(store, {})
        if job.step(st, catalogue, lambda: self._title_index(store, catalogue), budget):
            del self.jobs[store]
            if job.weights is not None:
                self.weights[store] = job.weights
                self.validation[store] = {
                    "queries": job.queries,
                    "objective": job.objective,
                    "started_at": job.orders,
                    "set_at": st.orders,
                }

    def tune(self, store: str) -> dict[str, float]:
        """Learn the store's weights now, in one go (the engine's path re-tunes in steps)."""
        st = self.stats[store]
        self.tuned_at[store] = st.orders
        job = self.jobs[store] = TuneJob(st)
        self._advance(store, st, job, math.inf)
        return self.weights_of(store)

    # -- answering --------------------------------------------------------------------------
    def complements(self, store: str, product: str, k: int, catalogue: Catalogue) -> list[str]:
        """Up to `k` complements of `product` for an unknown buyer."""
        return self.complements_for(store, "", product, k, catalogue)

    def complements_for(
        self, store: str, buyer: str, product: str, k: int, catalogue: Catalogue
    ) -> list[str]:
        """Up to `k` complements of `product` for `buyer` (their history counts when they
        have one), best first; full when `k` available products exist."""
        if k <= 0:
            return []
        st, ep = self.stats.get(store), self.epochs.get(store)
        asked = catalogue.get(product)
        cat = getattr(asked, "category", "") if asked is not None else ""
        price = float(getattr(asked, "price", 0.0) or 0.0) if asked is not None else 0.0

        def ok(b: str) -> bool:
            if b == product:
                return False
            it = catalogue.get(b)
            if not available(it):
                return False
            return not (cat and st is not None and self._substitute(st, product, b, cat, price, it))

        out: list[str] = []
        if st is not None and ep is not None:
            names, scores = self._item_list(store, st, ep, product, catalogue)
            extra = self._buyer_scores(st, ep, buyer, product)
            cut = len(names) >= LIST  # candidates beyond the kept list exist
            merged = dict(zip(names, scores, strict=True))
            for b, s in extra.items():
                merged[b] = merged[b] + s if b in merged else (
                    self._item_score(st, ep, product, b, catalogue, cat) + s)  # fmt: skip
            floor = scores[-1] if cut else -math.inf
            order = [b for b, s in sorted(merged.items(), key=_best_first) if s >= floor]
            out = take(order, k, ok)
            if len(out) < k and cut:  # exclusions ate the kept list: rank them all
                full = self._scores(store, st, ep, product, catalogue, cat)
                for b, s in extra.items():
                    full[b] = full.get(b, 0.0) + s
                out = take(_unique(out, [b for b, _ in sorted(full.items(), key=_best_first)]),
                            k, ok)  # fmt: skip
            if len(out) < k:
                out = take(_unique(out, ep.ranked()), k, ok)
        if len(out) < k:
            out = take(_unique(out, sorted(catalogue)), k, ok)
        return out

    def _substitute(
        self, st: Stats, a: str, b: str, cat: str, price: float, it: Any
    ) -> bool:  # fmt: skip
        if getattr(it, "category", "") != cat:
            return False
        pb = float(getattr(it, "price", 0.0) or 0.0)
        if price > 0 and pb > 0 and max(price, pb) / min(price, pb) > PRICE_BAND:
            return False
        viewed = st.views.get(a, {}).get(b, 0.0) / st.now()
        if viewed < SUBSTITUTE_VIEWS:
            return False
        bought = st.pairs.get(a, {}).get(b, 0.0) / st.now()
        return bought < SUBSTITUTE_SHARE * viewed

    def _scores(
        self, store: str, st: Stats, ep: Epoch, a: str, catalogue: Catalogue, cat: str
    ) -> dict[str, float]:
        """Item-level blend scores of a's candidates (partners, similar titles, best sellers)."""
        w = ep.weights
        row = st.pairs.get(a, {})
        na = st.item.get(a, 0.0)
        unit = st.now()
        cands: dict[str, float] = dict.fromkeys(row, 0.0)
        cands.update(dict.fromkeys(ep.head, 0.0))
        sims: dict[str, float] = {}
        if w.get("title", 0.0) != 0.0:
            idx = self._title_index(store, catalogue)
            it = catalogue.get(a)
            toks = title_tokens(getattr(it, "title", "") or "") if it is not None else frozenset()
            if toks:
                sims = idx.similar(a, toks)
                cands.update(dict.fromkeys(sims, 0.0))
        cands.pop(a, None)
        wc, wk, wt = w.get("copurchase", 0.0), w.get("knn", 0.0), w.get("title", 0.0)
        wp, wg = w.get("popularity", 0.0), w.get("category", 0.0)
        item, top = ep.item, ep.top
        for b in cands:
            c = row.get(b, 0.0)
            nb = item.get(b, 0.0)
            s = wp * nb / top + wt * sims.get(b, 0.0)
            if c > 0.0:
                s += wc * c / (na + unit)
                if nb > 0 and na > 0:
                    s += wk * c / math.sqrt(na * nb)
            if wg and cat:
                bi = catalogue.get(b)
                if bi is not None and getattr(bi, "category", "") == cat:
                    s += wg
            cands[b] = s
        return cands

    def _title_index(self, store: str, catalogue: Catalogue) -> TitleIndex:
        idx = self._titles.get(store)
        if idx is None or idx.size != len(catalogue):
            idx = self._titles[store] = TitleIndex(catalogue)
        return idx

    def _item_score(
        self, st: Stats, ep: Epoch, a: str, b: str, catalogue: Catalogue, cat: str
    ) -> float:
        """One candidate's item-level score (as `_scores` gives it)."""
        w = ep.weights
        c = st.pairs.get(a, {}).get(b, 0.0)
        na, nb = st.item.get(a, 0.0), ep.item.get(b, 0.0)
        s = w.get("popularity", 0.0) * nb / ep.top
        if c > 0.0:
            s += w.get("copurchase", 0.0) * c / (na + st.now())
            if na > 0 and nb > 0:
                s += w.get("knn", 0.0) * c / math.sqrt(na * nb)
        if w.get("title", 0.0):
            ia, ib = catalogue.get(a), catalogue.get(b)
            ta = title_tokens(getattr(ia, "title", "") or "") if ia is not None else frozenset()
            tb = title_tokens(getattr(ib, "title", "") or "") if ib is not None else frozenset()
            if ta and tb:
                s += w["title"] * len(ta & tb) / len(ta | tb)
        if w.get("category", 0.0) and cat:
            bi = catalogue.get(b)
            if bi is not None and getattr(bi, "category", "") == cat:
                s += w["category"]
        return s

    def _item_list(
        self, store: str, st: Stats, ep: Epoch, a: str, catalogue: Catalogue
    ) -> tuple[list[str], list[float]]:
        """a's LIST best item-level candidates and scores, kept until a is ordered again or
        the epoch ends."""
        lists = self._lists.setdefault(store, {})
        kept = lists.get(a)
        if kept is not None and kept[0] == ep.n:
            return kept[1], kept[2]
        it = catalogue.get(a)
        cat = getattr(it, "category", "") if it is not None else ""
        scores = self._scores(store, st, ep, a, catalogue, cat)
        # Ties keep candidate order (partners, best sellers, similar titles: all fixed by the
        # order history), so the list is the same in every process.
        best = heapq.nlargest(LIST, scores.items(), key=itemgetter(1))
        names, vals = [b for b, _ in best], [s for _, s in best]
        if len(lists) >= KEEP:
            for old in list(lists)[: KEEP // 2]:
                del lists[old]
        lists[a] = (ep.n, names, vals)
        return names, vals

    def _buyer_scores(self, st: Stats, ep: Epoch, buyer: str, a: str) -> dict[str, float]:
        """The returning buyer's part: repurchase and what buyers bought next."""
        w = ep.weights
        wr, wn = w.get("repeat", 0.0), w.get("next", 0.0)
        hist = st.buyers.get(buyer) if buyer else None
        if hist is None or (wr == 0.0 and wn == 0.0):
            return {}
        return {b: s for b, s in _history(st, hist, wr, wn).items() if b != a}


Basket = tuple[str, list[str], float, list[str]]  # buyer, items, stored weight, previous basket


class _Before:
    """The store's statistics as they were before a window of recent baskets (exact: every
    count is a sum of basket weights), for validation features. Baskets that arrive while a
    re-tune runs join the window (`add`), so the counts before it do not move."""

    def __init__(self, st: Stats, window: Iterable[Basket]) -> None:
        self.st = st
        self.d_item: dict[str, float] = {}
        self.d_pair: dict[tuple[str, str], float] = {}
        self.d_buyer: dict[str, dict[str, float]] = {}
        self.d_baskets: dict[str, float] = {}
        self.first_prev: dict[str, list[str]] = {}
        self.d_next: dict[tuple[str, str], float] = {}
        for r in window:
            self.add(r)
        self.item = _Less(st.item, self.d_item)
        self.unit = st.now()
        self.top = 1.0
        self.head: list[str] = []

    def add(self, r: Basket) -> None:
        """Take one more basket out of the counts."""
        u, items, w, prev = r
        self.first_prev.setdefault(u, prev)
        for x in prev:
            for b in items:
                self.d_next[x, b] = self.d_next.get((x, b), 0.0) + w
        for a in items:
            self.d_item[a] = self.d_item.get(a, 0.0) + w
            for b in items:
                if b != a:
                    self.d_pair[a, b] = self.d_pair.get((a, b), 0.0) + w
        db = self.d_buyer.setdefault(u, {})
        for b in items:
            db[b] = db.get(b, 0.0) + w
        self.d_baskets[u] = self.d_baskets.get(u, 0.0) + w

    def rank(self, candidates: Iterable[str]) -> None:
        """The best sellers before the window. Exact when `candidates` holds the HEAD + n best
        sellers of now, n the number of products in the window: any other product is behind
        HEAD products outside the window, whose counts before it are their counts now."""
        counts = ((b, self.item.get(b, 0.0)) for b in candidates)
        best = heapq.nlargest(HEAD, counts, key=_kv)
        self.top = best[0][1] if best and best[0][1] > 1e-9 else 1.0
        self.head = [b for b, n in best if n > 1e-9]

    def features(
        self, r: Basket, catalogue: Catalogue, titles: TitleIndex
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """Feature rows of the query's candidates (asked: the basket's first item), which of
        them are in the rest of the basket, and the work it took (entries read)."""
        u, items, _, _ = r
        a, rest = items[0], set(items[1:])
        st = self.st
        na = self.item.get(a, 0.0)
        full = st.pairs.get(a, {})
        row = {b: c - self.d_pair.get((a, b), 0.0) for b, c in full.items()}
        row = {b: c for b, c in row.items() if c > 1e-9}
        if len(row) > TUNE_PARTNERS:
            row = dict(heapq.nlargest(TUNE_PARTNERS, row.items(), key=_kv))
        hist: dict[str, float] = {}
        nxt: dict[str, float] = {}
        b_total = st.buyers[u].baskets - self.d_baskets.get(u, 0.0) if u in st.buyers else 0.0
        if b_total > 1e-9:
            d = self.d_buyer.get(u, {})
            hist = {b: n - d.get(b, 0.0) for b, n in st.buyers[u].items.items()}
            hist = {b: n / b_total for b, n in hist.items() if n > 1e-9}
            prev = self.first_prev.get(u, [])
            nxt = _next_scores(st, prev, self.item, self.d_next)
        it = catalogue.get(a)
        cat = getattr(it, "category", "") if it is not None else ""
        toks = title_tokens(getattr(it, "title", "") or "") if it is not None else frozenset()
        sims = titles.similar(a, toks) if toks else {}
        item = self.item
        knn = {b: c / math.sqrt(n) for b, c in row.items() if (n := item.get(b, 0.0)) > 0.0}
        # The blend's top three come from the heads of the features' own rankings.
        pool = [*_head(row), *_head(knn), *_head(sims), *_head(hist), *_head(nxt),
                *self.head[:POOL]]  # fmt: skip
        cands = [b for b in dict.fromkeys(pool) if b != a]
        unit, top, sq = na + self.unit, self.top, math.sqrt(na) if na > 0 else 0.0
        rows = []
        for b in cands:
            c = row.get(b, 0.0)
            bi = catalogue.get(b) if cat else None
            same = 1.0 if bi is not None and getattr(bi, "category", "") == cat else 0.0
            k = knn.get(b, 0.0) / sq if sq else 0.0
            rows.append((c / unit, k, sims.get(b, 0.0), hist.get(b, 0.0), nxt.get(b, 0.0),
                         item.get(b, 0.0) / top, same))  # fmt: skip
        f = np.array(rows, float).reshape(len(cands), len(FEATURES))
        work = 20 + 2 * len(full) + len(sims) + len(hist) + len(nxt) + 4 * len(cands)
        return f, np.array([b in rest for b in cands], bool), work


class TuneJob:
    """One re-tune of a store's weights, done in steps of bounded work (`step`).

    Started from the store's last RECENT baskets: the newest three fifths are validation
    windows, each with the counts taken back to before it (`_Before`). Then, a budget of work
    units at a time: the validation questions' feature rows, then the coordinate ascent, one
    trial weighting per step. Everything it holds is plain data: it is pickled with the
    provider, so a restart mid-way resumes it exactly where replay would be."""

    def __init__(self, st: Stats) -> None:
        recent = list(st.recent)
        self.orders, self.t0 = st.orders, st.t0
        fold = max(1, len(recent) // 5)
        self.windows: list[_Before] = []
        self.queue: list[tuple[int, Basket]] = []
        for j in range(FOLDS):  # the newest fifths, each against the counts before it
            start = len(recent) - (j + 1) * fold
            if start <= 0:
                break
            queries = [r for r in recent[start : start + fold] if len(r[1]) >= 2]
            self.windows.append(_Before(st, recent[start:]))
            self.queue += [(j, r) for r in queries[-VALIDATION // FOLDS :]]
        if self.windows:  # one pass over the counts serves every window (see `_Before.rank`)
            widest = max(len(w.d_item) for w in self.windows)
            cands = best_sellers(st.item, HEAD + widest)
            for w in self.windows:
                w.rank(cands)
        self.done = 0  # questions whose features are computed
        self.feats: list[np.ndarray] = []
        self.rel: list[np.ndarray] = []
        self.arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.trials: list[tuple[str, float]] = []
        self.trial = 0  # next trial of the current round
        self.round = 0
        self.changed = False
        self.current: dict[str, float] = {}
        self.hits: np.ndarray | None = None
        self.weights: dict[str, float] | None = None  # the result, once finished
        self.queries = 0
        self.objective = 0.0

    def add(self, r: Basket) -> None:
        """A basket that arrived while the job runs joins every window."""
        for w in self.windows:
            w.add(r)

    def step(self, st: Stats, catalogue: Catalogue, titles: Any, budget: float) -> bool:
        """Spend about `budget` work units; True once the weights are chosen (or the store
        has too few validation questions to choose them, `weights` None)."""
        while budget > 0:
            if self.done < len(self.queue):
                j, r = self.queue[self.done]
                x, h, work = self.windows[j].features(r, catalogue, titles())
                self.feats.append(x)
                self.rel.append(h)
                self.done += 1
                budget -= work
                continue
            if self.arrays is None:
                if len(self.feats) < 20:
                    return True
                budget -= self._start_search()
                continue
            if self._search_step():
                return True
            fa = self.arrays[0]
            budget -= fa.shape[0] * fa.shape[1] // 8
        return False

    def _start_search(self) -> int:
        feats, rel = self.feats, self.rel
        width = max(3, max(len(x) for x in feats))
        fa = np.zeros((len(feats), width, len(FEATURES)))
        ra = np.zeros((len(feats), width), bool)
        pad = np.full((len(feats), width), -1e18)
        for i, (x, h) in enumerate(zip(feats, rel, strict=True)):
            fa[i, : len(x)], ra[i, : len(h)], pad[i, : len(x)] = x, h, 0.0
        self.arrays = (fa, ra, pad)
        self.feats, self.rel = [], []
        self.current = dict.fromkeys(FEATURES, 0.0)
        self.current.update(DEFAULT_WEIGHTS)
        self.hits = _hits(fa, ra, pad, self.current)
        self.trials = [(name, v) for name in FEATURES
                       for v in (CATEGORY_GRID if name == "category" else GRID)]  # fmt: skip
        return len(feats) * width // 8

    def _search_step(self) -> bool:
        """One trial of coordinate ascent (two rounds at most); True when finished."""
        assert self.arrays is not None and self.hits is not None
        while self.trial < len(self.trials):
            name, v = self.trials[self.trial]
            self.trial += 1
            trial = {**self.current, name: v}
            if v == self.current[name] or not any(trial[g] > 0 for g in FEATURES
                                                  if g != "category"):  # fmt: skip
                continue
            got = _hits(*self.arrays, trial)
            if _better(got, self.hits):
                self.hits, self.current, self.changed = got, trial, True
            return False
        self.round += 1
        if self.changed and self.round < 2:
            self.trial, self.changed = 0, False
            return False
        self.queries = len(self.arrays[0])
        self.objective = float(self.hits.mean())
        self.weights = {f: v for f, v in self.current.items() if v != 0.0}
        self.arrays, self.hits = None, None
        return True


def _head(scores: dict[str, float]) -> list[str]:
    if len(scores) <= POOL:
        return list(scores)
    return [b for b, _ in heapq.nlargest(POOL, scores.items(), key=_kv)]


class _Less:
    """Counts minus a window's share, looked up one product at a time."""

    def __init__(self, item: dict[str, float], less: dict[str, float]) -> None:
        self.item, self.less = item, less

    def get(self, b: str, default: float = 0.0) -> float:
        n = self.item.get(b, 0.0) - self.less.get(b, 0.0)
        return n if n > 1e-9 else default


def _next_scores(
    st: Stats,
    prev: Iterable[str],
    item: Mapping[str, float] | _Less,
    taken: Mapping[tuple[str, str], float] | None = None,
) -> dict[str, float]:
    """Mean over the last basket's items x of the share of x's buyers who bought b next
    (`taken`: transitions to subtract, a validation window's)."""
    prev = list(prev)
    out: dict[str, float] = {}
    for x in prev:
        nx = item.get(x, 0.0)
        if nx <= 0.0:
            continue
        for b, c in st.nxt.get(x, {}).items():
            if taken is not None:
                c -= taken.get((x, b), 0.0)
                if c <= 1e-9:
                    continue
            out[b] = out.get(b, 0.0) + min(1.0, c / nx) / len(prev)
    return out


def _history(st: Stats, hist: Buyer, wr: float, wn: float) -> dict[str, float]:
    out: dict[str, float] = {}
    if wr and hist.baskets > 0:
        for b, n in hist.items.items():
            out[b] = wr * n / hist.baskets
    if wn:
        for b, s in _next_scores(st, hist.last, st.item).items():
            out[b] = out.get(b, 0.0) + wn * s
    return out


def _hits(feats: np.ndarray, rel: np.ndarray, pad: np.ndarray, w: dict[str, float]) -> np.ndarray:
    """Per validation question (rows of the padded arrays): 1 when one of the first three
    candidates is in the rest of the basket."""
    vec = np.array([w.get(f, 0.0) for f in FEATURES])
    s = feats @ vec + pad
    top = np.argpartition(-s, 2, axis=1)[:, :3]
    return np.take_along_axis(rel, top, axis=1).any(axis=1).astype(float)


def _better(trial: np.ndarray, current: np.ndarray) -> bool:
    """A sign test on the questions the two weightings answer differently: the trial must
    win clearly more of them than it loses (z ≥ 2), or noise would steer the weights."""
    wins = int((trial > current).sum())
    losses = int((trial < current).sum())
    return wins - losses >= max(1.0, 2.0 * math.sqrt(wins + losses))


def _unique(first: list[str], rest: Iterable[str]) -> Iterable[str]:
    yield from first
    seen = set(first)
    for b in rest:
        if b not in seen:
            seen.add(b)
            yield b
