"""Offline evaluation of complementary recommendations on real baskets.

Protocol (leave-last-item-out by time):
- baskets are sorted by time; those before the cut (the last `test_frac` of baskets by time
  lie after it) train every method, those after it are test cases;
- in each test basket of at least two distinct products the last distinct product (line
  order) is held out; the query is the product just before it (`anchor`, like a buyer's one
  inquired card — the panel's situation) or all the other products (`basket`);
- each method ranks products it may recommend (never the query's own products); HR@k is the
  share of cases whose held-out product is in the top k, NDCG@10 = 1 / log2(1 + rank) when
  it is in the top 10 (one relevant item, so the ideal DCG is 1). Cases whose held-out
  product never occurs in training stay in the denominator: every method misses them.
- every method gets ten slots: the library's item-kNN returns only products with a positive
  similarity (none for a query it never saw), so its list is filled up with the popularity
  baseline's, as the providers fill theirs;
- the built-in provider's HR@10 minus each baseline's comes with a 95 % interval from a
  paired bootstrap over buyers (cases of one buyer are resampled together; seeded).

`online=True` is the live store's situation: the providers learn every test-period basket
(`observe_order`) once its timestamp's cases are answered, and the library's item-kNN is
refit on everything seen so far before each timestamp's cases; the cases are the same.

`order="shuffled"` shuffles the lines of every basket (seeded) before anything else: an
ablation showing how much of a method's result rests on line order.

Both data sets lack categories, so nothing counts as a substitute here (all on sale).
"""

from __future__ import annotations

import csv
import math
import random
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from kefu.engine.state import ProductState
from kefu.guide.recommend.builtin import BuiltinProvider
from kefu.guide.recommend.popularity import PopularityProvider
from kefu.guide.recommend.provider import Catalogue, Provider
from kefu.testing import shared_data_root

DATASETS = ("uci-retail", "groceries")
DEFAULT_PATHS = {
    "uci-retail": "behaviour/uci_online_retail_head.csv",
    "groceries": "behaviour/groceries_member_date_baskets.csv",
}
STORE = "eval"
ORDERS = ("file", "shuffled")
BOOTSTRAP = 2000
# UCI non-product lines: postage, manual, discount, carriage, bank charges, fees.
UCI_PRODUCT = re.compile(r"^\d{5}")


@dataclass
class Basket:
    """One order: when, who, and its distinct products in line order."""

    ts_ms: int
    buyer: str
    items: list[str]


@dataclass
class Case:
    """One test basket: the query products, the held-out product and the basket's buyer."""

    query: list[str]
    target: str
    buyer: str = ""
    ts_ms: int = 0


@dataclass
class Split:
    """Training baskets (in time order), test cases, and every test-period basket."""

    train: list[Basket]
    cases: list[Case]
    catalogue: dict[str, ProductState] = field(default_factory=dict)
    known: set[str] = field(default_factory=set)
    test: list[Basket] = field(default_factory=list)


def _ms(dt: datetime) -> int:
    return int(dt.replace(tzinfo=UTC).timestamp() * 1000)


def read_uci(path: Path) -> list[Basket]:
    """UCI Online Retail: one basket per invoice, cancellations and non-product lines dropped."""
    baskets: dict[str, Basket] = {}
    with path.open(encoding="latin-1", newline="") as f:
        for row in csv.DictReader(f):
            inv, code = row["InvoiceNo"], row["StockCode"].strip()
            if inv.startswith("C") or not UCI_PRODUCT.match(code) or float(row["Quantity"]) <= 0:
                continue
            b = baskets.get(inv)
            if b is None:
                ts = _ms(datetime.strptime(row["InvoiceDate"], "%m-%d-%Y %H:%M"))
                buyer = row["CustomerID"].strip() or f"guest-{inv}"
                b = baskets[inv] = Basket(ts, buyer, [])
            if code not in b.items:
                b.items.append(code)
    return list(baskets.values())


def read_groceries(path: Path) -> list[Basket]:
    """Groceries: one basket per member and date, products in file order."""
    baskets: dict[tuple[str, str], Basket] = {}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            key = (row["Member_number"], row["Date"])
            b = baskets.get(key)
            if b is None:
                ts = _ms(datetime.strptime(row["Date"], "%Y-%m-%d"))
                b = baskets[key] = Basket(ts, key[0], [])
            item = row["itemDescription"].strip()
            if item not in b.items:
                b.items.append(item)
    return list(baskets.values())


def load(data: str, path: Path | None = None) -> list[Basket]:
    """The baskets of a named data set, sorted by time (ties keep file order)."""
    if data not in DATASETS:
        raise ValueError(f"unknown data set {data!r}; one of {DATASETS}")
    p = path or shared_data_root() / DEFAULT_PATHS[data]
    baskets = read_uci(p) if data == "uci-retail" else read_groceries(p)
    baskets.sort(key=lambda b: b.ts_ms)
    return baskets


def split(baskets: Sequence[Basket], test_frac: float = 0.2, query: str = "anchor") -> Split:
    """Train on baskets before the time cut; hold out the last product of later baskets."""
    if query not in ("anchor", "basket"):
        raise ValueError("query is 'anchor' or 'basket'")
    ordered = sorted(baskets, key=lambda b: b.ts_ms)
    if not ordered:
        return Split([], [])
    cut_ts = ordered[min(len(ordered) - 1, int(len(ordered) * (1.0 - test_frac)))].ts_ms
    train = [b for b in ordered if b.ts_ms < cut_ts]
    test = [b for b in ordered if b.ts_ms >= cut_ts]
    cases = [
        Case(b.items[-2:-1] if query == "anchor" else b.items[:-1], b.items[-1], b.buyer, b.ts_ms)
        for b in test
        if len(b.items) >= 2
    ]
    catalogue = {p: ProductState(product=p) for b in ordered for p in b.items}
    known = {p for b in train for p in b.items}
    return Split(train, cases, catalogue, known, test)


def shuffled(baskets: Sequence[Basket], seed: int = 0) -> list[Basket]:
    """The baskets with their lines in a random (seeded) order: the line-order ablation."""
    rng = random.Random(seed)
    out = []
    for b in baskets:
        items = list(b.items)
        rng.shuffle(items)
        out.append(Basket(b.ts_ms, b.buyer, items))
    return out


def hits_at(ranked: Sequence[Sequence[str]], targets: Sequence[str], k: int = 10) -> np.ndarray:
    """1.0 where the held-out product is in the top k, else 0.0 (one entry per case)."""
    return np.array([t in lst[:k] for lst, t in zip(ranked, targets, strict=True)], float)


def paired_interval(
    diff: np.ndarray, buyers: Sequence[str], n: int = BOOTSTRAP, seed: int = 0
) -> tuple[float, float]:
    """95 % bootstrap interval of mean(diff), resampling buyers (a buyer's cases together)."""
    if len(diff) == 0:
        return (0.0, 0.0)
    ids = {b: i for i, b in enumerate(dict.fromkeys(buyers))}
    idx = np.array([ids[b] for b in buyers])
    sums = np.bincount(idx, weights=diff, minlength=len(ids))
    counts = np.bincount(idx, minlength=len(ids)).astype(float)
    draws = np.random.default_rng(seed).integers(0, len(ids), size=(n, len(ids)))
    means = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return (float(lo), float(hi))


def rank_metrics(ranked: Sequence[Sequence[str]], targets: Sequence[str]) -> dict[str, Any]:
    """HR@3, HR@10 and NDCG@10 of ranked lists against one held-out product each."""
    n = len(targets)
    hr3 = hr10 = ndcg = 0.0
    for lst, t in zip(ranked, targets, strict=True):
        top = list(lst[:10])
        if t in top:
            r = top.index(t) + 1
            hr10 += 1.0
            hr3 += 1.0 if r <= 3 else 0.0
            ndcg += 1.0 / math.log2(1 + r)
    if n == 0:
        return {"hr@3": 0.0, "hr@10": 0.0, "ndcg@10": 0.0, "hits@10": 0, "cases": 0}
    return {
        "hr@3": hr3 / n,
        "hr@10": hr10 / n,
        "ndcg@10": ndcg / n,
        "hits@10": int(hr10),
        "cases": n,
    }


Recommender = Callable[[list[Case], int], list[list[str]]]


def provider_method(make: Callable[[], Provider], sp: Split) -> Recommender:
    """Train a provider on the training baskets; rank with `complements` (or a basket query)."""
    prov = make()
    for b in sp.train:
        prov.observe_order(STORE, b.buyer, b.items, b.ts_ms)
    return provider_ranker(prov, sp.catalogue)


def provider_ranker(prov: Provider, catalogue: Catalogue) -> Recommender:
    """Rank cases with a provider as it is now."""

    def rank(cases: list[Case], k: int) -> list[list[str]]:
        out = []
        for c in cases:
            many = getattr(prov, "complements_many", None)
            if len(c.query) == 1 or many is None:
                lst = prov.complements(STORE, c.query[-1], k + len(c.query), catalogue)
            else:
                lst = many(STORE, c.query, k, catalogue)
            out.append([p for p in lst if p not in c.query][:k])
        return out

    return rank


def implicit_method(kind: str, sp: Split, neighbours: int = 20) -> Recommender:
    """implicit's item-kNN (`cosine` or `bm25`) fit on the training basket × item matrix; its
    lists are filled up with the popularity baseline's (ten slots for every method)."""
    from scipy.sparse import csr_matrix

    from kefu.extras import require

    nn = require("implicit.nearest_neighbours", "the item-kNN baseline of kefu eval", "eval")
    BM25Recommender, CosineRecommender = nn.BM25Recommender, nn.CosineRecommender

    index = {p: i for i, p in enumerate(sorted(sp.known))}
    names = sorted(sp.known)

    def matrix(rows: list[list[str]]) -> csr_matrix:
        data, ind, ptr = [], [], [0]
        for items in rows:
            cols = sorted({index[p] for p in items if p in index})
            ind += cols
            data += [1.0] * len(cols)
            ptr.append(len(ind))
        shape = (len(rows), len(index))
        return csr_matrix((np.array(data, np.float32), ind, ptr), shape=shape)

    model: Any = (
        CosineRecommender(K=neighbours, num_threads=1)
        if kind == "cosine"
        else BM25Recommender(K=neighbours, num_threads=1)
    )
    with warnings.catch_warnings():  # its own weighting hands fit() a COO matrix
        warnings.simplefilter("ignore")
        model.fit(matrix([b.items for b in sp.train]), show_progress=False)

    fill = provider_method(PopularityProvider, sp)

    def rank(cases: list[Case], k: int) -> list[list[str]]:
        if not cases or not index:
            return fill(cases, k)
        q = matrix([c.query for c in cases])
        ids, scores = model.recommend(np.arange(len(cases)), q, N=k)
        out = []
        for row, srow, pad in zip(ids, scores, fill(cases, k), strict=True):
            lst = [names[i] for i, s in zip(row, srow, strict=True) if s > 0 and i >= 0]
            out.append(list(dict.fromkeys(lst + pad))[:k])
        return out

    return rank


METHODS = ("builtin", "popularity", "implicit-cosine", "implicit-bm25")
PROVIDERS: dict[str, Callable[[], Provider]] = {
    "builtin": BuiltinProvider,
    "popularity": PopularityProvider,
}


def method(name: str, sp: Split, neighbours: int = 20) -> Recommender:
    """One compared method, trained on the split's training baskets."""
    if name in PROVIDERS:
        return provider_method(PROVIDERS[name], sp)
    if name in ("implicit-cosine", "implicit-bm25"):
        return implicit_method(name.removeprefix("implicit-"), sp, neighbours)
    raise ValueError(f"unknown method {name!r}; one of {METHODS}")


def online_ranked(name: str, sp: Split, neighbours: int = 20, k: int = 10) -> list[list[str]]:
    """Every case ranked with what the method knows just before its timestamp: providers learn
    each test-period basket incrementally, item-kNN is refit on all baskets seen so far."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; one of {METHODS}")
    by_ts: dict[int, list[Case]] = {}
    for c in sp.cases:
        by_ts.setdefault(c.ts_ms, []).append(c)
    days: dict[int, list[Basket]] = {}
    for b in sp.test:
        days.setdefault(b.ts_ms, []).append(b)
    out: list[list[str]] = []
    if name in PROVIDERS:
        prov = PROVIDERS[name]()
        for b in sp.train:
            prov.observe_order(STORE, b.buyer, b.items, b.ts_ms)
        rank = provider_ranker(prov, sp.catalogue)
        for ts, baskets in days.items():
            out += rank(by_ts.get(ts, []), k)
            for b in baskets:
                prov.observe_order(STORE, b.buyer, b.items, b.ts_ms)
        return out
    seen, known = list(sp.train), set(sp.known)
    for ts, baskets in days.items():
        cases = by_ts.get(ts, [])
        if cases:
            now = Split(seen, cases, sp.catalogue, known)
            out += implicit_method(name.removeprefix("implicit-"), now, neighbours)(cases, k)
        seen += baskets
        known.update(p for b in baskets for p in b.items)
    return out


def evaluate(
    data: str,
    path: Path | None = None,
    test_frac: float = 0.2,
    query: str = "anchor",
    neighbours: int = 20,
    only: Sequence[str] = METHODS,
    order: str = "file",
    online: bool = False,
) -> dict[str, Any]:
    """Figures of every method on one data set (see the module docstring for the protocol),
    and the built-in's HR@10 gain over each other method with its paired 95 % interval."""
    if order not in ORDERS:
        raise ValueError(f"order is one of {ORDERS}")
    baskets = load(data, path)
    if order == "shuffled":
        baskets = shuffled(baskets)
    sp = split(baskets, test_frac, query)
    result: dict[str, Any] = {
        "data": data,
        "query": query,
        "order": order,
        "protocol": "online" if online else "static",
        "train_baskets": len(sp.train),
        "test_cases": len(sp.cases),
        "target_known": sum(c.target in sp.known for c in sp.cases),
        "methods": {},
        "builtin_vs": {},
    }
    targets = [c.target for c in sp.cases]
    buyers = [c.buyer for c in sp.cases]
    hits: dict[str, np.ndarray] = {}
    for name in only:
        if online:
            ranked = online_ranked(name, sp, neighbours)
        else:
            ranked = method(name, sp, neighbours)(sp.cases, 10)
        result["methods"][name] = rank_metrics(ranked, targets)
        hits[name] = hits_at(ranked, targets)
    if "builtin" in hits:
        for name, h in hits.items():
            if name != "builtin":
                diff = hits["builtin"] - h
                lo, hi = paired_interval(diff, buyers)
                mean = float(diff.mean()) if len(diff) else 0.0
                result["builtin_vs"][name] = {"hr@10_diff": mean, "ci95": [lo, hi]}
    return result


# -- the time-split protocol (what a store lives with) ----------------------------------------
TIMESPLIT_METHODS = ("kefu", "kefu-no-titles", "association", "popularity", "co-occurrence",
                     "item-knn")  # fmt: skip
TIMESPLIT_BASELINES = ("popularity", "co-occurrence", "item-knn")


@dataclass
class Asked:
    """One later basket: its buyer asks about its first product; the rest is what they took."""

    product: str
    rest: set[str]
    buyer: str
    ts_ms: int


def read_titles(data: str, path: Path | None = None) -> dict[str, str]:
    """Product titles of a data set (UCI: its descriptions; groceries: the item names)."""
    if data == "groceries":
        return {p: p for b in load(data, path) for p in b.items}
    p = path or shared_data_root() / DEFAULT_PATHS[data]
    out: dict[str, str] = {}
    with p.open(encoding="latin-1", newline="") as f:
        for row in csv.DictReader(f):
            out.setdefault(row["StockCode"].strip(), (row["Description"] or "").strip())
    return out


def timesplit(
    baskets: Sequence[Basket], test_frac: float = 0.2
) -> tuple[list[Basket], list[Asked]]:
    """Train on the earlier (1 − test_frac) of baskets by time; every later basket of ≥ 2
    products is one question about its first product."""
    ordered = sorted(baskets, key=lambda b: b.ts_ms)
    if not ordered:
        return [], []
    cut_ts = ordered[min(len(ordered) - 1, int(len(ordered) * (1.0 - test_frac)))].ts_ms
    train = [b for b in ordered if b.ts_ms < cut_ts]
    asked = [Asked(b.items[0], set(b.items[1:]), b.buyer, b.ts_ms)
             for b in ordered if b.ts_ms >= cut_ts and len(b.items) >= 2]  # fmt: skip
    return train, asked


def set_metrics(
    ranked: Sequence[Sequence[str]], asked: Sequence[Asked], catalogue_size: int
) -> dict[str, Any]:
    """HR@1/3/10 (any of the first k in the rest of the basket), NDCG@10 (binary relevance,
    ideal = min(|rest|, 10) hits first) and coverage (share of the catalogue that appears in
    some panel's first three)."""
    n = len(asked)
    hr = {1: 0.0, 3: 0.0, 10: 0.0}
    ndcg = 0.0
    shown: set[str] = set()
    for lst, q in zip(ranked, asked, strict=True):
        top = list(lst[:10])
        shown.update(top[:3])
        rel = [p in q.rest for p in top]
        for k in hr:
            hr[k] += any(rel[:k])
        dcg = sum(1.0 / math.log2(i + 2) for i, r in enumerate(rel) if r)
        ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(q.rest), 10)))
        ndcg += dcg / ideal if ideal else 0.0
    if n == 0:
        return {"hr@1": 0.0, "hr@3": 0.0, "hr@10": 0.0, "ndcg@10": 0.0, "coverage": 0.0,
                "hits@3": 0, "cases": 0}  # fmt: skip
    return {
        "hr@1": hr[1] / n,
        "hr@3": hr[3] / n,
        "hr@10": hr[10] / n,
        "ndcg@10": ndcg / n,
        "coverage": len(shown) / max(1, catalogue_size),
        "hits@3": int(hr[3]),
        "cases": n,
    }


def _popular(train: Sequence[Basket]) -> list[str]:
    counts: dict[str, int] = {}
    for b in train:
        for p in b.items:
            counts[p] = counts.get(p, 0) + 1
    return [p for p, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def _filled(first: Sequence[str], fill: Sequence[str], asked: str, k: int) -> list[str]:
    return [p for p in dict.fromkeys([*first, *fill]) if p != asked][:k]


def baseline_ranked(
    name: str, train: Sequence[Basket], asked: Sequence[Asked], k: int = 10, neighbours: int = 20
) -> list[list[str]]:
    """The baselines: popularity (baskets holding the product), co-occurrence (baskets
    holding both, popularity after) and implicit's item-kNN (cosine, popularity after)."""
    pop = _popular(train)
    if name == "popularity":
        return [_filled([], pop[: k + 1], q.product, k) for q in asked]
    if name == "co-occurrence":
        pairs: dict[str, dict[str, int]] = {}
        for b in train:
            for a in b.items:
                row = pairs.setdefault(a, {})
                for x in b.items:
                    if x != a:
                        row[x] = row.get(x, 0) + 1
        out = []
        for q in asked:
            row = pairs.get(q.product, {})
            best = [p for p, _ in sorted(row.items(), key=lambda kv: (-kv[1], kv[0]))[:k]]
            out.append(_filled(best, pop[: k + 1], q.product, k))
        return out
    if name == "item-knn":
        known = {p for b in train for p in b.items}
        cases = [Case([q.product], "", q.buyer, q.ts_ms) for q in asked]
        sp = Split(list(train), cases, {}, known)
        ranked = implicit_method("cosine", sp, neighbours)(cases, k)
        return [_filled(r, pop[: k + 1], q.product, k) for r, q in zip(ranked, asked, strict=True)]
    raise ValueError(f"unknown baseline {name!r}; one of {TIMESPLIT_BASELINES}")


def provider_ranked(
    make: Callable[[], Any],
    train: Sequence[Basket],
    asked: Sequence[Asked],
    catalogue: dict[str, ProductState],
    k: int = 10,
) -> list[list[str]]:
    """A provider trained and asked exactly as the engine does (`kefu.guide.rules.learn` on
    each order, `kefu.guide.rules.complements_of` for a served buyer's card)."""
    from kefu.guide.rules import complements_of, learn

    prov = make()
    for b in train:
        learn(prov, STORE, b.buyer, b.items, b.ts_ms, catalogue)
    return [complements_of(prov, STORE, q.buyer, q.product, k, catalogue) for q in asked]


def evaluate_timesplit(
    data: str,
    path: Path | None = None,
    test_frac: float = 0.2,
    one_category: bool = False,
    only: Sequence[str] = TIMESPLIT_METHODS,
    neighbours: int = 20,
) -> dict[str, Any]:
    """The time-split protocol (module docs / docs/guide.md): every method on the same
    questions, and kefu's HR@3 gain over each other method with a paired bootstrap 95 %
    interval over buyers. `one_category` puts every product in one category (a tea shop)."""
    from kefu.guide.recommend.blend import BlendProvider
    from kefu.guide.recommend.builtin import BuiltinProvider

    baskets = load(data, path)
    train, asked = timesplit(baskets, test_frac)
    titles = read_titles(data, path)
    products = sorted({p for b in baskets for p in b.items})
    cat = "all" if one_category else ""
    catalogue = {p: ProductState(product=p, title=titles.get(p, ""), category=cat)
                 for p in products}  # fmt: skip
    untitled = {p: ProductState(product=p, category=cat) for p in products}
    result: dict[str, Any] = {
        "data": data,
        "protocol": "timesplit",
        "one_category": one_category,
        "train_baskets": len(train),
        "test_cases": len(asked),
        "products": len(products),
        "methods": {},
        "kefu_vs": {},
    }
    hits: dict[str, np.ndarray] = {}
    for name in only:
        if name == "kefu":
            ranked = provider_ranked(BlendProvider, train, asked, catalogue)
        elif name == "kefu-no-titles":
            ranked = provider_ranked(BlendProvider, train, asked, untitled)
        elif name == "association":
            ranked = provider_ranked(BuiltinProvider, train, asked, catalogue)
        else:
            ranked = baseline_ranked(name, train, asked, neighbours=neighbours)
        result["methods"][name] = set_metrics(ranked, asked, len(products))
        hits[name] = np.array([any(p in q.rest for p in r[:3]) for r, q in
                               zip(ranked, asked, strict=True)], float)  # fmt: skip
    buyers = [q.buyer for q in asked]
    if "kefu" in hits:
        for name, h in hits.items():
            if name == "kefu":
                continue
            diff = hits["kefu"] - h
            lo, hi = paired_interval(diff, buyers)
            result["kefu_vs"][name] = {"hr@3_diff": float(diff.mean()) if len(diff) else 0.0,
                                       "ci95": [lo, hi]}  # fmt: skip
        base = [result["methods"][b]["hr@3"] for b in TIMESPLIT_BASELINES if b in hits]
        if base:
            best = max(base)
            result["kefu_over_best_baseline"] = (
                result["methods"]["kefu"]["hr@3"] / best if best else None
            )
    return result
