"""A small hand-built deployment for §7: store s1's card traffic over two days, plus three
other stores where some of s1's clickers bought instead.

Store s1 (Asia/Shanghai), products p1 (category dress, 100) and p2 (shoes, 50).
History: u3 paid in s1 on 2025-06-01 (within 365 days of the range), u4 on 2024-12-01
(more than 365 days before).

D1 = 2026-03-01
  impressions (card): u1 p1 search 10:00, u1 p2 recommend 10:00, u2 p1 search 10:00,
                      u3 p1 recommend 10:05, u4 p2 search 11:00, u5 p1 search 11:00,
                      u6 p2 shop 12:00; (u7 p1 live: not card)
  views (card): u1 p1 search 10:01, u2 p1 search 10:02, u3 p1 recommend 10:06,
                u1 p1 recommend 10:10, u3 p2 shop 10:40, u4 p2 search 11:01,
                u5 p1 search 11:02; (u1 p1 live 10:15, u7 p1 live 10:01: not card)
  o1 u1 p1 100, ordered 10:20, paid 10:21 (a repeated payment event at 10:50 is ignored)
     → last card view before it: recommend (the live view at 10:15 is not a card view)
  o2 u3 p1 100 + p2 50, ordered 10:30, paid 150 at 10:31 → p1 recommend; p2 not card
     traffic (u3 viewed p2 only at 10:40, after the order)
  o4 u2 p1 (no price on the item), amount 100, ordered 12:00, never paid
  o5 u7 p1 ordered and paid 10:30: viewed through live only, not card traffic
D2 = 2026-03-02
  impressions: u8 p2 search 08:00
  views: u1 p1 search 08:00, u8 p2 search 08:01 and 08:03
  o3 u4 p2 × 2 at 50, ordered 09:00, paid 90 (a discount) at 09:05 → search

Elsewhere (payments in the range): u5 → s2 q1 (dress) 80 on D1, s3 r1 (dress) 90 and s4 t1
(bags) 30 on D2; u2 → s2 q1 80 on D2; u1 → s2 q1 on D1 (u1 is no churned user); u6 → s3 r1
(u6 never clicked).

Profiles (s1): u1 浙江 f 25-29; u2 江苏 then 浙江 (the later `ts` wins, whatever the file
order), m; u3 广东 f 30-34; u5 age 18-24, later 上海 (fields merge); u4, u8 none.
"""

from __future__ import annotations

from typing import Any

import msgspec

from kefu.engine.events import AnyEvent, Event

D1, D2 = "2026-03-01", "2026-03-02"
_decode = msgspec.json.Decoder(AnyEvent).decode
_n = 0


def at(day: str, hh: int, mm: int = 0) -> str:
    return f"{day}T{hh:02d}:{mm:02d}:00+08:00"


def ev(kind: str, ts: str, store: str = "s1", **fields: Any) -> Event:
    global _n
    _n += 1
    raw = {"type": kind, "ts": ts, "store": store, "id": f"e{_n}", **fields}
    return _decode(msgspec.json.encode(raw))


def imp(buyer: str, product: str, source: str, ts: str, carrier: str = "card") -> Event:
    return ev("impression", ts, buyer=buyer, product=product, source=source, carrier=carrier)


def view(buyer: str, product: str, source: str, ts: str, carrier: str = "card") -> Event:
    return ev("view", ts, buyer=buyer, product=product, source=source, carrier=carrier)


def order(oid: str, buyer: str, items: list[tuple[str, int, float]], ts: str,
          amount: float | None = None, store: str = "s1") -> Event:  # fmt: skip
    lines = [{"product": p, "qty": q, "price": pr} for p, q, pr in items]
    total = amount if amount is not None else sum(q * pr for _, q, pr in items)
    return ev("order", ts, store, order=oid, buyer=buyer, items=lines, amount=total)


def pay(oid: str, amount: float, ts: str, store: str = "s1", **extra: Any) -> Event:
    return ev("payment", ts, store, order=oid, amount=amount, **extra)


def product(store: str, pid: str, category: str, price: float) -> Event:
    return ev("product", "2025-01-01T00:00:00+08:00", store, product=pid,
              title=f"item {pid}", price=price, category=category)  # fmt: skip


def profile(buyer: str, ts: str, **fields: str) -> Event:
    return ev("buyer", ts, buyer=buyer, **fields)


def events() -> list[Event]:
    """Every event of the data set (file order; not sorted by time on purpose)."""
    return [
        product("s1", "p1", "dress", 100), product("s1", "p2", "shoes", 50),
        product("s2", "q1", "dress", 80), product("s3", "r1", "dress", 90),
        product("s4", "t1", "bags", 30),
        # history
        order("h1", "u3", [("p2", 1, 50)], "2025-06-01T12:00:00+08:00"),
        pay("h1", 50, "2025-06-01T12:01:00+08:00"),
        order("h0", "u4", [("p2", 1, 50)], "2024-12-01T12:00:00+08:00"),
        pay("h0", 50, "2024-12-01T12:01:00+08:00"),
        # D1
        imp("u1", "p1", "search", at(D1, 10)), imp("u1", "p2", "recommend", at(D1, 10)),
        imp("u2", "p1", "search", at(D1, 10)), imp("u3", "p1", "recommend", at(D1, 10, 5)),
        imp("u4", "p2", "search", at(D1, 11)), imp("u5", "p1", "search", at(D1, 11)),
        imp("u6", "p2", "shop", at(D1, 12)), imp("u7", "p1", "search", at(D1, 10), "live"),
        view("u1", "p1", "search", at(D1, 10, 1)), view("u2", "p1", "search", at(D1, 10, 2)),
        view("u3", "p1", "recommend", at(D1, 10, 6)),
        view("u1", "p1", "recommend", at(D1, 10, 10)),
        view("u1", "p1", "search", at(D1, 10, 15), "live"),
        view("u3", "p2", "shop", at(D1, 10, 40)), view("u4", "p2", "search", at(D1, 11, 1)),
        view("u5", "p1", "search", at(D1, 11, 2)),
        view("u7", "p1", "search", at(D1, 10, 1), "live"),
        order("o1", "u1", [("p1", 1, 100)], at(D1, 10, 20)),
        pay("o1", 100, at(D1, 10, 21)),
        pay("o1", 100, at(D1, 10, 50)),
        order("o2", "u3", [("p1", 1, 100), ("p2", 1, 50)], at(D1, 10, 30)),
        pay("o2", 150, at(D1, 10, 31)),
        order("o4", "u2", [("p1", 1, 0)], at(D1, 12), amount=100),
        order("o5", "u7", [("p1", 1, 100)], at(D1, 10, 30)),
        pay("o5", 100, at(D1, 10, 30)),
        # D2
        imp("u8", "p2", "search", at(D2, 8)),
        view("u1", "p1", "search", at(D2, 8)),
        view("u8", "p2", "search", at(D2, 8, 1)), view("u8", "p2", "search", at(D2, 8, 3)),
        order("o3", "u4", [("p2", 2, 50)], at(D2, 9)),
        pay("o3", 90, at(D2, 9, 5)),
        # elsewhere
        order("x1", "u5", [("q1", 1, 80)], at(D1, 15), store="s2"),
        pay("x1", 80, at(D1, 15, 1), store="s2"),
        order("x2", "u5", [("r1", 1, 90)], at(D2, 10), store="s3"),
        pay("x2", 90, at(D2, 10, 1), store="s3"),
        order("x3", "u5", [("t1", 1, 30)], at(D2, 11), store="s4"),
        pay("x3", 30, at(D2, 11, 1), store="s4"),
        order("x4", "u2", [("q1", 1, 80)], at(D2, 12), store="s2"),
        pay("x4", 80, at(D2, 12, 1), store="s2"),
        order("x5", "u1", [("q1", 1, 80)], at(D1, 16), store="s2"),
        pay("x5", 80, at(D1, 16, 1), store="s2"),
        order("x6", "u6", [("r1", 1, 90)], at(D1, 16), store="s3"),
        pay("x6", 90, at(D1, 16, 1), store="s3"),
        # profiles
        profile("u1", at(D1, 9), province="浙江", gender="f", age_band="25-29"),
        profile("u2", at(D1, 9, 30), province="浙江", gender="m"),
        profile("u2", at(D1, 9), province="江苏"),
        profile("u3", at(D1, 9), province="广东", gender="f", age_band="30-34"),
        profile("u5", at(D1, 9), age_band="18-24"),
        profile("u5", at(D1, 9, 30), province="上海"),
    ]  # fmt: skip
