"""Guide panel speed: a 100 k-item catalogue with 1 M historical orders.

    .venv/bin/python bench/guide_panel.py [--items 100000] [--orders 1000000]
                                          [--live-orders 50000] [--queries 2000]

A synthetic store, generated with numpy (seeded): products in long-tailed categories (a few
big ones, many small), Zipf popularity (exponent 1.1, ranks shuffled over the ids); each
category has three complementary categories. An order opens with a product drawn by
popularity, then 1 + Poisson(1.6) lines in all: 55 % from a complementary category of the
first product (by popularity inside it), 45 % anything popular. Orders spread over 180 days.
3 % of the catalogue is off sale and 3 % out of stock.

Measured, one process, one core (wall and CPU time: the machine may be shared):
- build: the first --orders orders through the built-in provider (`rules.learn`, as the
  engine's `order` rule feeds it; there is no separate batch build), with the time spent
  re-tuning its weights; RSS before and after, peak RSS, and the pickled state's size and
  time (the provider is pickled with the store's snapshot);
- the rule's provider call alone (`rules.complements_of`: buyer-aware complements with the
  availability filter; half the questions from returning buyers) for products asked by
  popularity, drawn uniformly from the catalogue (the long tail), and never ordered: first
  with no kept lists (as after a restart), then the same questions again;
- live: the other --live-orders orders arrive as `order` events through the engine and,
  every so often, a new buyer adds a product to the cart, says hello, an agent answers and
  the buyer sends a product card; the timer wraps the guide's `rules.on_message` inside
  `Engine.feed` (intent score, complements, the panel action); `feed` of the card and of
  every order are timed too. Wall and CPU (`thread_time`) times: on a shared machine read
  the CPU ones.
"""

from __future__ import annotations

import argparse
import gc
import os
import pickle
import resource
import statistics
import time
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

import msgspec
import numpy as np

from kefu.engine.events import AnyEvent
from kefu.engine.settings import parse_config
from kefu.engine.state import ProductState
from kefu.guide import rules
from kefu.guide.recommend import BlendProvider
from kefu.runtime.registry import default_engine

STORE = "bench"
DAY = 86_400_000
T0 = 1_767_225_600_000  # 2026-01-01


def rss_mb() -> float:
    """Resident memory now, MB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def peak_mb() -> float:
    """Peak resident memory so far, MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


class Store:
    """The synthetic catalogue and its order history (numpy arrays)."""

    def __init__(self, items: int, orders: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        n_cat = max(10, items // 100)
        cat_w = 1.0 / (np.arange(n_cat) + 10.0)
        self.cat = rng.choice(n_cat, size=items, p=cat_w / cat_w.sum())
        rank = rng.permutation(items)
        pop = 1.0 / (rank + 1.0) ** 1.1
        self.pop = pop / pop.sum()
        self.partners = rng.choice(n_cat, size=(n_cat, 3), p=cat_w / cat_w.sum())
        # Items sorted by category, with cumulative popularity: a draw inside one category is
        # a searchsorted into its slice.
        by_cat = np.argsort(self.cat, kind="stable")
        cum = np.cumsum(self.pop[by_cat])
        lo = np.searchsorted(self.cat[by_cat], np.arange(n_cat), side="left")
        hi = np.searchsorted(self.cat[by_cat], np.arange(n_cat), side="right")
        start = np.where(lo > 0, cum[np.maximum(lo - 1, 0)], 0.0)
        mass = np.where(hi > lo, cum[np.maximum(hi - 1, 0)] - start, 0.0)
        gcum = np.cumsum(self.pop)

        size = 1 + np.minimum(rng.poisson(1.6, orders), 30)
        first = np.minimum(np.searchsorted(gcum, rng.random(orders) * gcum[-1]), items - 1)
        owner = np.repeat(np.arange(orders), size - 1)
        extra = np.empty(len(owner), dtype=np.int64)
        comp = rng.random(len(owner)) < 0.55
        pc = self.partners[self.cat[first[owner[comp]]], rng.integers(0, 3, comp.sum())]
        ok = mass[pc] > 0
        target = start[pc] + rng.random(len(pc)) * mass[pc]
        idx = np.clip(np.searchsorted(cum, target, side="right"), lo[pc], np.maximum(hi[pc] - 1, 0))
        picked = np.where(ok, by_cat[np.minimum(idx, items - 1)], first[owner[comp]])
        extra[comp] = picked
        n_pop = int((~comp).sum())
        extra[~comp] = np.minimum(np.searchsorted(gcum, rng.random(n_pop) * gcum[-1]), items - 1)
        self.first, self.extra, self.size = first, extra, size
        self.offsets = np.concatenate([[0], np.cumsum(size - 1)])
        self.ts = T0 + np.sort(rng.integers(0, 180 * DAY, orders))
        self.buyer = rng.integers(0, max(1, orders // 4), orders)
        self.names = [f"p{i}" for i in range(items)]
        self.cats = [f"c{c}" for c in self.cat]
        self.items = items
        self.rng = rng

    def baskets(self) -> Iterator[tuple[str, list[str], int]]:
        """(buyer, product ids, ts) per order, in time order."""
        names, first, extra, offsets = self.names, self.first, self.extra, self.offsets
        for i in range(len(first)):
            lines = [names[first[i]], *(names[j] for j in extra[offsets[i] : offsets[i + 1]])]
            yield f"u{self.buyer[i]}", lines, int(self.ts[i])

    def catalogue(self) -> dict[str, ProductState]:
        """Every product; 3 % off sale, 3 % out of stock, the rest in stock. Titles: the
        category's word, one of 2 000 styles (about 50 products each) and a model number."""
        u = self.rng.random(self.items)
        style = self.rng.integers(0, 2_000, self.items)
        return {
            name: ProductState(
                product=name,
                title=f"{self.cats[i]} style{style[i]} model{i}",
                category=self.cats[i],
                status="off_sale" if u[i] < 0.03 else "on_sale",
                stock=0 if 0.03 <= u[i] < 0.06 else 100,
            )
            for i, name in enumerate(self.names)
        }


def pct(xs: list[float]) -> str:
    """p50 / p99 / max in milliseconds."""
    q = statistics.quantiles(xs, n=100, method="inclusive")
    return f"p50 {q[49]:.2f} ms, p99 {q[98]:.2f} ms, max {max(xs):.2f} ms"


def build(
    baskets: Iterable[tuple[str, list[str], int]], n: int, catalogue: dict[str, ProductState]
) -> tuple[BlendProvider, dict[str, float]]:
    """Feed every order as the engine's order rule does (`rules.learn`: the catalogue bound,
    then `observe_order`); the time spent re-tuning the weights (the steps of the re-tune
    jobs, a bounded share of some orders) is kept apart, with the longest step."""
    prov = BlendProvider()
    tuned = {"seconds": 0.0, "steps": 0, "max_ms": 0.0, "tunes": 0}
    original = BlendProvider._advance

    def timed_advance(self: BlendProvider, store: str, *a: Any, **k: Any) -> None:
        t = time.perf_counter()
        try:
            original(self, store, *a, **k)
        finally:
            el = time.perf_counter() - t
            tuned["seconds"] += el
            tuned["steps"] += 1
            tuned["max_ms"] = max(tuned["max_ms"], el * 1e3)
            tuned["tunes"] += store not in self.jobs

    BlendProvider._advance = timed_advance  # type: ignore[method-assign]
    t = time.perf_counter()
    try:
        for i, (buyer, items, ts) in enumerate(baskets):
            rules.learn(prov, STORE, buyer, items, ts, catalogue)
            if (i + 1) % 200_000 == 0:
                el = time.perf_counter() - t
                print(f"  {i + 1:>9,} orders  {el:6.1f} s  RSS {rss_mb():,.0f} MB", flush=True)
    finally:
        BlendProvider._advance = original  # type: ignore[method-assign]
    total = time.perf_counter() - t
    return prov, {"seconds": total, "per_order_us": total / n * 1e6,
                  "tune_seconds": tuned["seconds"], "tunes": tuned["tunes"],
                  "tune_steps": tuned["steps"], "tune_step_max_ms": tuned["max_ms"]}  # fmt: skip


def event(raw: dict[str, Any]) -> Any:
    """A decoded engine event."""
    return msgspec.convert({"store": STORE, **raw}, AnyEvent)


def clear_caches(prov: BlendProvider) -> None:
    """Forget every kept list (as after a restart): the cold case. The title index stays
    (it is built once per catalogue size; its cost is reported apart)."""
    prov._lists.clear()


def provider_latency(
    prov: BlendProvider,
    catalogue: dict[str, ProductState],
    asked: list[str],
    buyers: list[str],
    k: int = 3,
) -> tuple[list[float], list[float]]:
    """The rule's provider call (`rules.complements_of`: the buyer-aware complements with
    the availability filter), wall and CPU milliseconds."""
    wall: list[float] = []
    cpu: list[float] = []
    for product, buyer in zip(asked, buyers, strict=True):
        t, c = time.perf_counter(), time.thread_time()
        rules.complements_of(prov, STORE, buyer, product, k, catalogue)
        cpu.append((time.thread_time() - c) * 1e3)
        wall.append((time.perf_counter() - t) * 1e3)
    return wall, cpu


def live(
    prov: BlendProvider,
    catalogue: dict[str, ProductState],
    orders: list[tuple[str, list[str], int]],
    asked: list[str],
) -> dict[str, Any]:
    """The live store: the later orders arrive as `order` events through the engine and, after
    every len(orders) / len(asked) of them, a served buyer sends a product card. Times the
    guide's `rules.on_message` inside `Engine.feed` (wall and CPU), `feed` of the card as a
    whole, and `feed` of each order (the provider's update, epochs and re-tunes included)."""
    engine = default_engine(parse_config({"bot": {"enabled": False}}))
    st = engine.state(STORE)
    st.products = catalogue
    rules.providers(st)["builtin"] = prov
    t0 = orders[0][2] - 1
    engine.feed(event({"ts": t0, "type": "agent", "agent": "a1", "name": "A1", "role": "agent"}))
    engine.feed(event({"ts": t0, "type": "agent.status", "agent": "a1", "status": "online"}))
    rule_wall: list[float] = []
    rule_cpu: list[float] = []
    handlers = engine._handlers["message"]
    i = handlers.index(rules.on_message)

    def timed(st: Any, e: Any, ctx: Any) -> Any:
        t, c = time.perf_counter(), time.thread_time()
        out = rules.on_message(st, e, ctx)
        if e.product is not None:  # the card (the other messages return at once)
            rule_cpu.append((time.thread_time() - c) * 1e3)
            rule_wall.append((time.perf_counter() - t) * 1e3)
        return out

    handlers[i] = timed
    every = max(1, len(orders) // len(asked))
    feed_ms: list[float] = []
    order_ms: list[float] = []
    panels = q = 0
    for n, (buyer, items, ts) in enumerate(orders):
        lines = [{"product": p} for p in items]
        order = event({"ts": ts, "type": "order", "order": f"o{n}", "buyer": buyer,
                       "amount": 1.0, "items": lines})  # fmt: skip
        t = time.perf_counter()
        engine.feed(order)
        order_ms.append((time.perf_counter() - t) * 1e3)
        if (n + 1) % every or q >= len(asked):
            continue
        product, b = asked[q], f"b{q}"
        q += 1
        engine.feed(event({"ts": ts + 1, "type": "cart.add", "buyer": b, "product": product}))
        engine.feed(event({"ts": ts + 2, "type": "message", "buyer": b, "sender": "buyer",
                           "text": "在吗"}))  # fmt: skip
        engine.feed(event({"ts": ts + 3, "type": "message", "buyer": b, "sender": "agent",
                           "agent": "a1", "text": "在的亲"}))  # fmt: skip
        card = event({"ts": ts + 4, "type": "message", "buyer": b, "sender": "buyer",
                      "text": "这个有货吗", "product": product})  # fmt: skip
        t = time.perf_counter()
        out = engine.feed(card)
        feed_ms.append((time.perf_counter() - t) * 1e3)
        panels += any(a.__struct_config__.tag == "guide.panel" for a in out)
        engine.feed(event({"ts": ts + 5, "type": "message", "buyer": b, "sender": "agent",
                           "agent": "a1", "text": "好的"}))  # fmt: skip
    return {"rule_wall": rule_wall, "rule_cpu": rule_cpu, "feed": feed_ms, "order": order_ms,
            "panels": panels, "cards": q}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--live-orders", type=int, default=50_000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    print(f"start: RSS {rss_mb():,.0f} MB")
    t = time.perf_counter()
    store = Store(args.items, args.orders + args.live_orders, args.seed)
    catalogue = store.catalogue()
    lines = int(store.size.sum())
    print(f"generated {args.orders:,} + {args.live_orders:,} orders ({lines:,} lines, mean "
          f"{lines / len(store.size):.2f}) over {args.items:,} products in "
          f"{len(set(store.cats)):,} categories: {time.perf_counter() - t:.1f} s, "
          f"RSS {rss_mb():,.0f} MB")  # fmt: skip
    history = store.baskets()  # the first --orders build the provider, the rest arrive live

    gc.collect()
    before = rss_mb()
    prov, b = build(islice(history, args.orders), args.orders, catalogue)
    later = list(history)
    gc.collect()
    after = rss_mb()
    cp = prov.stats[STORE]
    pairs = sum(len(r) for r in cp.pairs.values())
    print(f"build (incremental observe_order): {b['seconds']:.1f} s = {b['per_order_us']:.1f} µs "
          f"per order, of which {b['tunes']} weight re-tunes {b['tune_seconds']:.1f} s in "
          f"{b['tune_steps']:,} order steps (longest {b['tune_step_max_ms']:.0f} ms); "
          f"{prov.epochs[STORE].n} epochs; weights {prov.weights_of(STORE)}")  # fmt: skip
    print(f"state: {len(cp.item):,} products, {pairs:,} partner entries, {len(cp.buyers):,} "
          f"buyers; RSS {before:,.0f} → {after:,.0f} MB (+{after - before:,.0f} MB), "
          f"peak {peak_mb():,.0f} MB")  # fmt: skip
    t = time.perf_counter()
    blob = pickle.dumps(prov, protocol=pickle.HIGHEST_PROTOCOL)
    dump_s = time.perf_counter() - t
    t = time.perf_counter()
    pickle.loads(blob)
    print(f"pickled state {len(blob) / 1e6:,.1f} MB: dump {dump_s:.1f} s, "
          f"load {time.perf_counter() - t:.1f} s")  # fmt: skip
    del blob

    rng = np.random.default_rng(args.seed + 1)
    ordered = np.zeros(args.items, bool)
    ordered[store.first[: args.orders]] = True
    ordered[store.extra[: store.offsets[args.orders]]] = True
    gcum = np.cumsum(store.pop)
    by_pop = np.minimum(np.searchsorted(gcum, rng.random(args.queries)), args.items - 1)
    uniform = rng.integers(0, args.items, args.queries)
    cold_ids = np.flatnonzero(~ordered)
    cold = rng.choice(cold_ids, size=min(args.queries, len(cold_ids)), replace=False)
    mixes: dict[str, list[str]] = {
        "by popularity": [store.names[i] for i in by_pop],
        "uniform (long tail)": [store.names[i] for i in uniform],
        f"never ordered ({len(cold_ids):,} products)": [store.names[i] for i in cold],
    }
    t = time.perf_counter()
    prov._title_index(STORE, catalogue)
    print(f"title index of {len(catalogue):,} products: {time.perf_counter() - t:.2f} s")
    # Half the questions come from returning buyers (their history is scored too).
    buyers = [f"u{store.buyer[int(j)]}" if j % 2 else "" for j in
              rng.integers(0, args.orders, args.queries)]  # fmt: skip
    for name, asked in mixes.items():
        clear_caches(prov)
        wall, cpu = provider_latency(prov, catalogue, asked, buyers[: len(asked)])
        print(f"rules.complements_of, asked {name}, cold (no kept lists): "
              f"wall {pct(wall)}; CPU {pct(cpu)}")  # fmt: skip
        wall, cpu = provider_latency(prov, catalogue, asked, buyers[: len(asked)])
        print(f"  … the same questions again (kept lists): wall {pct(wall)}; CPU {pct(cpu)}")
    clear_caches(prov)
    pick = rng.random(args.queries)
    asked = [mixes["by popularity"][i] if u < 0.7 else
             mixes["uniform (long tail)"][i] if u < 0.9 else
             store.names[cold[i % len(cold)]] for i, u in enumerate(pick)]  # fmt: skip
    r = live(prov, catalogue, later, asked)
    print(f"live: {len(later):,} more orders through the engine, a card after every "
          f"{len(later) // len(asked)} (asked 70 % by popularity, 20 % uniformly, 10 % never "
          f"ordered; caches cold at the start): {r['panels']}/{r['cards']} panels")  # fmt: skip
    print(f"  guide rules.on_message: wall {pct(r['rule_wall'])}; CPU {pct(r['rule_cpu'])}")
    print(f"  Engine.feed(card): {pct(r['feed'])}")
    print(f"  Engine.feed(order): {pct(r['order'])}")
    print(f"peak RSS {peak_mb():,.0f} MB")


if __name__ == "__main__":
    main()
