"""A realistic, deterministic, streaming store simulator (`kefu simulate`).

Each store gets a Chinese catalogue with complementary categories, agents with their own
speed and capacity working shifts, buyers arriving with a daily rhythm (peaks 10–11 h and
20–22 h), searches, impressions and views by source, favourites and carts, chats with the
bot and with agents, orders and payments whose likelihood depends on the buyer's intent and
on the service they got, cancellations, after-sales cases and ratings.

Deterministic per seed: one `random.Random` per (seed, store, day); no global RNG, no
`hash()`, no wall clock. Streaming: one day is generated, sorted and written at a time;
events that belong to later days (a payment after midnight, an after-sales case days later)
wait in that day's bucket.

Calibrated from the real samples in ../shared/data (figures computed once, hard-coded):
- Taobao UserBehavior sample: per page view, cart 4.8 %, favourite 3.3 %, buy 2.0 %
  (3,926 pv, 190 cart, 128 fav, 77 buy) — used as the per-view base rates.
- Twitter customer support sample: company reply delays are log-normal-shaped with a wide
  spread (p25 306 s, median 727 s, p75 3,344 s; 14 % within 180 s). Chat agents are far
  faster, so medians are 15–150 s per agent, with the same log-normal shape (σ = 0.9): some
  rounds miss the 3-minute mark.
- UCI Online Retail sample: median 3 units per order line; retail baskets here hold 1–3
  lines (wholesale baskets of 11 lines are not a shop's chat buyer).
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

import orjson

from kefu.sim.catalogue import (
    AGE_BANDS,
    AGENT_REPLIES,
    CATEGORIES,
    FAQ,
    KEYWORDS,
    PROVINCES,
    QUESTIONS,
)

CST = timezone(timedelta(hours=8))
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
# Relative buyer arrivals per hour of day: quiet at night, peaks 10–11 h and 20–22 h.
HOUR_WEIGHTS = [2, 1, 1, 1, 1, 1, 2, 4, 7, 10, 14, 14, 9, 8, 9, 9, 8, 8, 9, 11, 15, 16, 14, 7]
P_CART_PER_VIEW = 0.048
P_FAV_PER_VIEW = 0.033
P_BUY_PER_VIEW = 0.020
RECOMMEND_COPY = "这几款和您看的宝贝很搭，一起买更划算哦"
SOURCES = ["search", "shop", "recommend", "cart", "orders", "other"]


class _Day:
    """Events of one simulated day (and a bucket for later days)."""

    def __init__(self, store: str, day: int, day_ms: int) -> None:
        self.store = store
        self.day = day
        self.day_ms = day_ms
        self.n = 0
        self.out: list[tuple[int, int, dict[str, Any]]] = []
        self.later: dict[int, list[tuple[int, int, dict[str, Any]]]] = defaultdict(list)

    def add(self, ts: int, type_: str, **fields: Any) -> None:
        self.n += 1
        ev = {"id": f"{self.store}-{self.day}-{self.n}", "ts": ts, "type": type_,
              "store": self.store, **fields}  # fmt: skip
        day = (ts - self.day_ms) // DAY_MS
        item = (ts, self.n, ev)
        if day <= 0:
            self.out.append(item)
        else:
            self.later[self.day + day].append(item)


class _Store:
    """One simulated store: catalogue, agents, buyers."""

    def __init__(self, store: str, index: int, buyers: int, seed: int) -> None:
        rng = random.Random(f"{seed}:{store}:setup")
        self.store = store
        self.has_bot = index % 2 == 0
        cats = sorted(CATEGORIES)
        rng.shuffle(cats)
        chosen = set(cats[: 6 + index % 4])
        for c in list(chosen):  # keep complements in the shop so bundles make sense
            chosen.update(CATEGORIES[c][2][:2])
        self.products: list[dict[str, Any]] = []
        for cat in sorted(chosen):
            base, items, _ = CATEGORIES[cat]
            for i, (title, attrs) in enumerate(items):
                price = round(base * rng.uniform(0.8, 1.25), 1)
                status = "on_sale" if rng.random() > 0.05 else "out_of_stock"
                self.products.append({
                    "product": f"{store}-{cat}-{i}", "title": title, "price": price,
                    "category": cat, "attrs": attrs, "status": status,
                    "stock": 0 if status == "out_of_stock" else rng.randint(5, 500),
                    "urge_text": f"亲，您看中的{title}库存不多了，今天下单优先发货哦",
                })  # fmt: skip
        self.by_cat: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for p in self.products:
            self.by_cat[p["category"]].append(p)
        n_agents = 3 + index % 4
        self.agents: list[dict[str, Any]] = [
            {
                "agent": f"{store}-a{i + 1}",
                "name": f"客服{chr(0x4E00 + (index * 7 + i * 13) % 200)}",
                "role": "supervisor" if i == 0 else "agent",
                "groups": ["售前"] if i % 3 else ["售前", "售后"],
                "capacity": rng.randint(3, 8),
                "median_s": rng.choice([15, 25, 40, 60, 90, 150]),
                "shift": (rng.choice([8, 9, 9, 10]), rng.choice([18, 22, 23, 23])),
            }
            for i in range(n_agents)
        ]
        self.assistant = f"{store}-assistant"
        self.buyers = [f"{store}-u{i + 1}" for i in range(max(10, buyers))]
        self.seen: set[str] = set()
        self.intent = {b: rng.betavariate(2, 5) for b in self.buyers}


def _setup(st: _Store, d: _Day) -> None:
    t = d.day_ms
    for p in st.products:
        d.add(t, "product", **p)
    for a in st.agents:
        fields = {k: a[k] for k in ("agent", "name", "role", "groups", "capacity")}
        d.add(t, "agent", **fields)
    d.add(t, "agent", agent=st.assistant, name="店小助", role="assistant")
    for i, (q, ans, kw) in enumerate(FAQ):
        d.add(t, "faq", faq=f"{st.store}-faq{i + 1}", question=q, answer=ans, keywords=kw)


def _shifts(st: _Store, d: _Day, rng: random.Random) -> list[tuple[dict[str, Any], int, int]]:
    """Agents' working windows today, with their status events."""
    windows = []
    for a in st.agents:
        if rng.random() < 0.1:  # a day off
            continue
        start = d.day_ms + a["shift"][0] * HOUR_MS + rng.randint(-15, 15) * 60_000
        end = d.day_ms + a["shift"][1] * HOUR_MS + rng.randint(0, 30) * 60_000
        d.add(start, "agent.status", agent=a["agent"], status="online")
        if rng.random() < 0.5:
            lunch = d.day_ms + 12 * HOUR_MS + rng.randint(0, 60) * 60_000
            d.add(lunch, "agent.status", agent=a["agent"], status="busy")
            d.add(lunch + 30 * 60_000, "agent.status", agent=a["agent"], status="online")
        d.add(end, "agent.status", agent=a["agent"], status="offline")
        windows.append((a, start, end))
    return windows


def _arrival(rng: random.Random, day_ms: int) -> int:
    hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
    return day_ms + hour * HOUR_MS + rng.randrange(HOUR_MS)


def _reply_delay(rng: random.Random, median_s: float) -> int:
    return int(1000 * max(3.0, rng.lognormvariate(math.log(median_s), 0.9)))


def _session(st: _Store, d: _Day, rng: random.Random, buyer: str, windows: list) -> None:
    t = _arrival(rng, d.day_ms)
    u = st.intent[buyer]
    if buyer not in st.seen:
        st.seen.add(buyer)
        d.add(t, "buyer", buyer=buyer, province=rng.choice(PROVINCES),
              gender=rng.choice(["f", "f", "m", "u"]), age_band=rng.choice(AGE_BANDS))  # fmt: skip
    cat = rng.choice(sorted(st.by_cat))
    source = "search" if rng.random() < 0.45 else rng.choice(SOURCES[1:])
    if source == "search":
        d.add(t, "search", buyer=buyer, keyword=rng.choice(KEYWORDS.get(cat, [cat])))
        t += rng.randint(2, 20) * 1000
    shown = rng.sample(st.products, min(len(st.products), rng.randint(3, 8)))
    if rng.random() < 0.8:
        shown[0] = rng.choice(st.by_cat[cat])
    carrier = "card" if rng.random() < 0.85 else rng.choice(["live", "video"])
    for p in shown:
        d.add(t, "impression", buyer=buyer, product=p["product"], source=source, carrier=carrier)
    viewed = [p for i, p in enumerate(shown) if (i == 0 and rng.random() < 0.7) or
              rng.random() < 0.15]  # fmt: skip
    carted: list[dict[str, Any]] = []
    for p in viewed:
        t += rng.randint(3, 40) * 1000
        for _ in range(1 + (rng.random() < 0.25)):
            d.add(t, "view", buyer=buyer, product=p["product"], source=source, carrier=carrier,
                  dwell_s=round(rng.uniform(5, 180), 1))  # fmt: skip
            t += rng.randint(10, 120) * 1000
        if rng.random() < P_FAV_PER_VIEW * (1 + 4 * u):
            d.add(t, "favorite", buyer=buyer, product=p["product"])
        if rng.random() < P_CART_PER_VIEW * (1 + 6 * u):
            d.add(t, "cart.add", buyer=buyer, product=p["product"])
            carted.append(p)
    if not viewed:
        return
    focus = viewed[0]
    service = 0.0  # -1 (bad) … +1 (fast, attentive)
    recommended: list[str] = []
    agent_id: str | None = None
    if rng.random() < 0.12 + 0.5 * u:
        service, recommended, agent_id, t = _chat(st, d, rng, buyer, focus, t, windows)
    p_buy = P_BUY_PER_VIEW * len(viewed) * (2 + 10 * u) * (1 + 0.6 * service)
    p_buy += 0.25 if carted else 0.0
    if rng.random() < min(0.9, p_buy):
        _order(st, d, rng, buyer, focus, carted, recommended, t + rng.randint(1, 40) * 60_000,
               agent_id)  # fmt: skip


def _chat(
    st: _Store, d: _Day, rng: random.Random, buyer: str, focus: dict, t: int, windows: list
) -> tuple[float, list[str], str | None, int]:
    kind = rng.choice(["size", "stock", "price", "delivery", "discount", "other", "stock"])
    text = rng.choice(QUESTIONS[kind])
    card = focus["product"] if rng.random() < 0.6 else None
    d.add(t, "message", buyer=buyer, sender="buyer", text=text,
          **({"product": card} if card else {}))  # fmt: skip
    online = [a for a, s, e in windows if s <= t < e]
    if st.has_bot:
        t += rng.randint(1, 3) * 1000
        faq = next((ans for q, ans, kw in FAQ if any(k in text for k in kw)), None)
        d.add(t, "message", buyer=buyer, sender="bot",
              text=faq or "亲，您好，请问还有什么可以帮您？")  # fmt: skip
        if rng.random() < 0.55:
            t += rng.randint(5, 60) * 1000
            if rng.random() < 0.8:
                d.add(t, "transfer.click", buyer=buyer)
            else:
                d.add(t, "message", buyer=buyer, sender="buyer", text="转人工")
        else:
            return 0.0, [], None, t
    if not online:
        return -0.5, [], None, t
    agent = online[int(rng.random() * len(online))]
    rounds = rng.randint(1, 4)
    worst = 0
    recommended: list[str] = []
    for r in range(rounds):
        if r > 0:
            t += rng.randint(10, 90) * 1000
            again = {"product": focus["product"]} if rng.random() < 0.4 else {}
            d.add(t, "message", buyer=buyer, sender="buyer",
                  text=rng.choice(QUESTIONS[rng.choice(list(QUESTIONS))]), **again)  # fmt: skip
        if rng.random() < 0.04:  # unanswered round
            worst = 10**9
            break
        delay = _reply_delay(rng, agent["median_s"])
        worst = max(worst, delay)
        t += delay
        d.add(t, "message", buyer=buyer, sender="agent", agent=agent["agent"],
              text=rng.choice(AGENT_REPLIES))  # fmt: skip
        if r == 0 and rng.random() < 0.35:
            comps = [p["product"] for c in CATEGORIES[focus["category"]][2]
                     for p in st.by_cat.get(c, []) if p["status"] == "on_sale"]  # fmt: skip
            if comps:
                recommended = rng.sample(comps, min(len(comps), rng.randint(1, 3)))
                t += rng.randint(5, 30) * 1000
                d.add(t, "guide.view", agent=agent["agent"], buyer=buyer)
                d.add(t + 2000, "message", buyer=buyer, sender="agent", agent=agent["agent"],
                      text=RECOMMEND_COPY, products=recommended)  # fmt: skip
    service = 1.0 if worst <= 60_000 else 0.3 if worst <= 180_000 else -0.6
    if rng.random() < 0.7:
        t += rng.randint(1, 5) * 60_000
        d.add(t, "conversation.close", buyer=buyer, agent=agent["agent"])
    if rng.random() < 0.3:
        score = rng.choice([5, 5, 4] if service > 0.5 else [4, 3] if service > 0 else [3, 2, 1])
        d.add(t + 30_000, "rating", buyer=buyer, agent=agent["agent"], score=score)
    return service, recommended, agent["agent"], t


def _order(
    st: _Store, d: _Day, rng: random.Random, buyer: str, focus: dict, carted: list,
    recommended: list[str], t: int, agent: str | None,
) -> None:  # fmt: skip
    picks = {focus["product"]: focus} | {p["product"]: p for p in carted}
    by_id = {p["product"]: p for p in st.products}
    for pid in recommended:
        if rng.random() < 0.35:
            picks[pid] = by_id[pid]
    items = [{"product": pid, "qty": rng.choice([1, 1, 1, 2, 3]), "price": p["price"]}
             for pid, p in sorted(picks.items())]  # fmt: skip
    amount = round(sum(i["qty"] * i["price"] for i in items), 2)
    d.n += 1
    order = f"{st.store}-o{d.day}-{d.n}"
    d.add(t, "order", order=order, buyer=buyer, items=items, amount=amount)
    if rng.random() < 0.85:
        paid = t + int(rng.lognormvariate(math.log(180), 1.2) * 1000)
        d.add(paid, "payment", order=order, amount=amount, buyer=buyer)
        if rng.random() < 0.03:
            opened = paid + rng.randint(2, 5) * DAY_MS + rng.randrange(DAY_MS // 2)
            d.add(opened, "aftersale.open", buyer=buyer, order=order)
            d.add(opened + rng.randint(1, 3) * DAY_MS, "aftersale.close", buyer=buyer, order=order)
    else:
        if agent is not None and rng.random() < 0.3:  # a proactive follow-up (主动跟进)
            d.add(t + 40 * 60_000, "message", buyer=buyer, sender="agent", agent=agent,
                  text="亲，您的订单还没有付款哦，库存有限，请尽快支付")  # fmt: skip
        if rng.random() < 0.4:
            d.add(t + rng.randint(1, 12) * HOUR_MS, "order.cancel", order=order)


def _rfc3339(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, CST).isoformat(timespec="seconds")


def generate(
    stores: int = 1,
    buyers: int = 1000,
    days: int = 7,
    seed: int = 1,
    start: date | None = None,
) -> Iterator[bytes]:
    """Yield simulated events as JSON lines (bytes, no trailing newline) in time order.

    `buyers` is per store; about a fifth of them visit on a given day.
    """
    start = start or date(2026, 11, 1)
    base = int(datetime(start.year, start.month, start.day, tzinfo=CST).timestamp() * 1000)
    shops = [_Store(f"s{i + 1:03d}", i, buyers, seed) for i in range(stores)]
    pending: dict[int, list[tuple[int, int, dict[str, Any]]]] = defaultdict(list)
    dumps = orjson.dumps
    for day in range(days):
        day_ms = base + day * DAY_MS
        items = pending.pop(day, [])
        for si, st in enumerate(shops):
            rng = random.Random(f"{seed}:{st.store}:{day}")
            d = _Day(st.store, day, day_ms)
            if day == 0:
                _setup(st, d)
            windows = _shifts(st, d, rng)
            for buyer in st.buyers:
                if rng.random() < 0.2:
                    _session(st, d, rng, buyer, windows)
            items.extend((ts, si * 10**9 + n, ev) for ts, n, ev in d.out)
            for later, evs in d.later.items():
                pending[later].extend((ts, si * 10**9 + n, ev) for ts, n, ev in evs)
        items.sort(key=lambda x: (x[0], x[1]))
        for ts, _, ev in items:
            ev["ts"] = _rfc3339(ts)
            yield dumps(ev)
