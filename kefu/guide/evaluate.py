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
    from implicit.nearest_neighbours import BM25Recommender, CosineRecommender
    from scipy.sparse import csr_matrix

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
