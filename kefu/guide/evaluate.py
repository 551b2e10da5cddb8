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

Both data sets lack categories, so nothing counts as a substitute here (all on sale).
"""

from __future__ import annotations

import csv
import math
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
    """One test basket: the query products and the held-out product."""

    query: list[str]
    target: str


@dataclass
class Split:
    """Training baskets (in time order) and test cases."""

    train: list[Basket]
    cases: list[Case]
    catalogue: dict[str, ProductState] = field(default_factory=dict)
    known: set[str] = field(default_factory=set)


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
    cases = [
        Case(b.items[-2:-1] if query == "anchor" else b.items[:-1], b.items[-1])
        for b in ordered
        if b.ts_ms >= cut_ts and len(b.items) >= 2
    ]
    catalogue = {p: ProductState(product=p) for b in ordered for p in b.items}
    known = {p for b in train for p in b.items}
    return Split(train, cases, catalogue, known)


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
    catalogue: Catalogue = sp.catalogue

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
    """implicit's item-kNN (`cosine` or `bm25`) fit on the training basket × item matrix."""
    import numpy as np
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

    def rank(cases: list[Case], k: int) -> list[list[str]]:
        if not cases or not index:
            return [[] for _ in cases]
        q = matrix([c.query for c in cases])
        ids, scores = model.recommend(np.arange(len(cases)), q, N=k)
        return [
            [names[i] for i, s in zip(row, srow, strict=True) if s > 0 and i >= 0]
            for row, srow in zip(ids, scores, strict=True)
        ]

    return rank


METHODS = ("builtin", "popularity", "implicit-cosine", "implicit-bm25")


def method(name: str, sp: Split, neighbours: int = 20) -> Recommender:
    """One compared method, trained on the split's training baskets."""
    if name == "builtin":
        return provider_method(BuiltinProvider, sp)
    if name == "popularity":
        return provider_method(PopularityProvider, sp)
    if name in ("implicit-cosine", "implicit-bm25"):
        return implicit_method(name.removeprefix("implicit-"), sp, neighbours)
    raise ValueError(f"unknown method {name!r}; one of {METHODS}")


def evaluate(
    data: str,
    path: Path | None = None,
    test_frac: float = 0.2,
    query: str = "anchor",
    neighbours: int = 20,
    only: Sequence[str] = METHODS,
) -> dict[str, Any]:
    """Figures of every method on one data set (see the module docstring for the protocol)."""
    baskets = load(data, path)
    sp = split(baskets, test_frac, query)
    result: dict[str, Any] = {
        "data": data,
        "query": query,
        "train_baskets": len(sp.train),
        "test_cases": len(sp.cases),
        "target_known": sum(c.target in sp.known for c in sp.cases),
        "methods": {},
    }
    targets = [c.target for c in sp.cases]
    for name in only:
        ranked = method(name, sp, neighbours)(sp.cases, 10)
        result["methods"][name] = rank_metrics(ranked, targets)
    return result
