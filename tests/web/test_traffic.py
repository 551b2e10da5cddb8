"""Product-card traffic (商品卡流量, metrics.md §7) and market keywords (市场洞察, §8) in a real
browser: every number the page shows is worked out by hand from the seed below.

Store `tr1` (Asia/Shanghai, the default). Dn = n days before today, store-local. The report
range is D3 … D1; the previous period D6 … D4.

    catalogue  p1 纯棉宽松短袖T恤 (T恤, 79), p2 高腰直筒牛仔裤 (牛仔裤, 139), p3 帆布小白鞋 (鞋, 99)
    D30        b4 pays h1 (p3, 99): b4 is a returning clicker and a repeat buyer later
    D5         impressions b1 p1 search, b2 p1 search, b3 p2 recommend, b9 p1 search
               views b1 p1 search, b9 p1 search; b9 orders and pays o0 (p1, 79)
    D2         impressions b1 p1 search, b2 p1 search, b3 p1 search, b4 p2 recommend
               views b1 p1 search ×2, b2 p1 search, b4 p2 recommend
               o1 b1 p1 79 paid (→ search); o2 b4 p2 139 paid (→ recommend)
    D1         impressions b5 p2 recommend, b6 p1 recommend, b7 p3 shop
               views b5 p2 recommend, b6 p1 recommend; o3 b5 p2 139 never paid
    today      impressions b1, b2 p1 search and a view b1 p1 search, a minute ago

Range D3 … D1, overall:
    impression users {b1..b7} = 7, click users {b1,b2,b4,b5,b6} = 5, clicks 6,
    CTR 5/7 = 71.4%, clicks per user 1.20, paying {b1,b4} = 2, GMV 218, AOV 109,
    click→pay 2/5 = 40.0%, UV value 43.60, new 4 / returning 1 (b4), first 1 / repeat 1,
    order users {b1,b4,b5} = 3, churned {b2,b5,b6} = 3.
Previous (D6 … D4): impression users 4, click users 2, GMV 79 → changes +75.0%, +150.0%,
    +175.9% (218/79 − 1 = 1.7595).
By source: search 3 impression users, 2 click users, 3 clicks, CTR 66.7%, GMV 79;
    recommend 3, 3, 3, 100.0%, GMV 139; shop 1, 0, 0, 0.0%, GMV 0.
By product: p1 4 / 3 click users / 1 order / 1 paying; p2 2 / 2 / 2 / 1; p3 1 / 0 / 0 / 0.
Audience (click users): 浙江 2 (b1, b5), 江苏 1, 广东 1, unknown 1 (b6); new 4, returning 1.
Churn: b2, b5, b6 paid in tr2/tr3 for 牛仔裤 (120 + 100 + 110): one category row, 3 buyers,
    GMV 330, a category this store's clicked products share (p2).

Keywords (tr1), seven days K7 … K1 plus K9 outside the window:
    高腰牛仔裤 5000 / 2000 products / 12% → competition 0.4
    牛仔裤 女  8000 / 16000 / 20%        → 2.0
    短袖T恤    3000 / 600 / 5%           → 0.2
    小白鞋     6000 on six days, 6700 on one (mean 6100) / 3050 / 8% → 0.5
    棒球帽     1000 on K1–K3 only (100000 on K9, outside) / 5000 / 1% → 5.0
Ranks — popularity: 牛仔裤 女 1, 小白鞋 2, 高腰牛仔裤 3, 短袖T恤 4, 棒球帽 5;
    competition: 短袖T恤 1, 高腰牛仔裤 2, 小白鞋 3, 牛仔裤 女 4, 棒球帽 5;
    click share: 牛仔裤 女 1, 高腰牛仔裤 2, 小白鞋 3, 短袖T恤 4, 棒球帽 5.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import expect

from tests.web.conftest import DIST, SECRET, Kefu, _missing, shot, start_server

S, EMPTY = "tr1", "tr0"
TZ = ZoneInfo("Asia/Shanghai")
KEYWORD_DAY0 = date(2026, 3, 8)  # K1; the keyword data is a fixed week, not relative to today


def _day(n: int) -> date:
    """Dn: n days before today, store-local."""
    return datetime.now(TZ).date() - timedelta(days=n)


def _at(n: int, hh: int, mm: int = 0) -> str:
    return f"{_day(n).isoformat()}T{hh:02d}:{mm:02d}:00+08:00"


def _imp(buyer: str, product: str, source: str, ts: str | int) -> dict[str, Any]:
    return {"type": "impression", "store": S, "ts": ts, "buyer": buyer, "product": product,
            "source": source, "carrier": "card"}  # fmt: skip


def _view(buyer: str, product: str, source: str, ts: str | int) -> dict[str, Any]:
    return {"type": "view", "store": S, "ts": ts, "buyer": buyer, "product": product,
            "source": source, "carrier": "card"}  # fmt: skip


def _sale(store: str, oid: str, buyer: str, product: str, price: float, ordered: str,
          paid: str | None) -> list[dict[str, Any]]:  # fmt: skip
    out: list[dict[str, Any]] = [
        {"type": "order", "store": store, "ts": ordered, "order": oid, "buyer": buyer,
         "items": [{"product": product, "qty": 1, "price": price}], "amount": price}  # fmt: skip
    ]
    if paid:
        out.append({"type": "payment", "store": store, "ts": paid, "order": oid, "buyer": buyer,
                    "amount": price})  # fmt: skip
    return out


def _product(store: str, pid: str, title: str, category: str, price: float) -> dict[str, Any]:
    return {"type": "product", "store": store, "ts": _at(60, 9), "product": pid, "title": title,
            "price": price, "category": category}  # fmt: skip


def traffic_events() -> list[dict[str, Any]]:
    """Store tr1's log (see the module docstring)."""
    evs = [
        _product(S, "p1", "纯棉宽松短袖T恤 男女同款", "T恤", 79.0),
        _product(S, "p2", "高腰直筒牛仔裤 显瘦百搭", "牛仔裤", 139.0),
        _product(S, "p3", "帆布小白鞋 透气休闲", "鞋", 99.0),
        *_sale(S, "h1", "b4", "p3", 99.0, _at(30, 10), _at(30, 10, 1)),
        # previous period
        _imp("b1", "p1", "search", _at(5, 10)),
        _imp("b2", "p1", "search", _at(5, 10)),
        _imp("b3", "p2", "recommend", _at(5, 10)),
        _imp("b9", "p1", "search", _at(5, 10)),
        _view("b1", "p1", "search", _at(5, 10, 1)),
        _view("b9", "p1", "search", _at(5, 10, 2)),
        *_sale(S, "o0", "b9", "p1", 79.0, _at(5, 10, 5), _at(5, 10, 6)),
        # D2
        _imp("b1", "p1", "search", _at(2, 10)),
        _imp("b2", "p1", "search", _at(2, 10)),
        _imp("b3", "p1", "search", _at(2, 10)),
        _imp("b4", "p2", "recommend", _at(2, 11)),
        _view("b1", "p1", "search", _at(2, 10, 1)),
        _view("b1", "p1", "search", _at(2, 10, 5)),
        _view("b2", "p1", "search", _at(2, 10, 2)),
        _view("b4", "p2", "recommend", _at(2, 11, 1)),
        *_sale(S, "o1", "b1", "p1", 79.0, _at(2, 10, 10), _at(2, 10, 11)),
        *_sale(S, "o2", "b4", "p2", 139.0, _at(2, 11, 10), _at(2, 11, 12)),
        # D1
        _imp("b5", "p2", "recommend", _at(1, 11)),
        _imp("b6", "p1", "recommend", _at(1, 12)),
        _imp("b7", "p3", "shop", _at(1, 12)),
        _view("b5", "p2", "recommend", _at(1, 11, 1)),
        _view("b6", "p1", "recommend", _at(1, 12, 1)),
        *_sale(S, "o3", "b5", "p2", 139.0, _at(1, 11, 10), None),
    ]
    # today, a minute ago (never before today's midnight)
    now = int(time.time() * 1000)
    midnight = int(datetime.combine(_day(0), datetime.min.time(), TZ).timestamp() * 1000)
    ts = max(now - 60_000, midnight + 1)
    evs += [_imp("b1", "p1", "search", ts), _imp("b2", "p1", "search", ts),
            _view("b1", "p1", "search", ts)]  # fmt: skip
    profiles = {
        "b1": {"province": "浙江", "gender": "f", "age_band": "25-29"},
        "b2": {"province": "江苏", "gender": "m", "age_band": "18-24"},
        "b4": {"province": "广东", "gender": "f", "age_band": "30-34"},
        "b5": {"province": "浙江", "gender": "m", "age_band": "25-29"},
    }
    evs += [{"type": "buyer", "store": S, "ts": _at(40, 9), "buyer": b, **p}
            for b, p in profiles.items()]  # fmt: skip
    return evs


def elsewhere_events() -> dict[str, list[dict[str, Any]]]:
    """Churned clickers b2, b5, b6 buy jeans in two other stores during the range."""
    out: dict[str, list[dict[str, Any]]] = {}
    for store, sales in (("tr2", [("q1", "b2", 120.0), ("q2", "b6", 110.0)]),
                         ("tr3", [("r1", "b5", 100.0)])):  # fmt: skip
        evs = [_product(store, "j1", "直筒牛仔裤", "牛仔裤", 120.0)]
        for oid, buyer, price in sales:
            evs += _sale(store, oid, buyer, "j1", price, _at(1, 15), _at(1, 15, 1))
        out[store] = evs
    return out


KEYWORDS = {  # keyword: (popularity per day K1..K7 (None = absent), online products, share)
    "高腰牛仔裤": ([5000] * 7, 2000, "12%"),
    "牛仔裤 女": ([8000] * 7, 16000, "20%"),
    "短袖T恤": ([3000] * 7, 600, "5%"),
    "小白鞋": ([6700, 6000, 6000, 6000, 6000, 6000, 6000], 3050, "8%"),
    "棒球帽": ([1000, 1000, 1000, None, None, None, None], 5000, "1%"),
}


def keywords_csv() -> str:
    """Daily keyword rows of K1 … K7, and 棒球帽 on K9 (outside the 7-day window)."""
    lines = ["date,keyword,search_popularity,online_products,click_share"]
    for kw, (pops, products, share) in KEYWORDS.items():
        for k, pop in enumerate(pops, 1):
            if pop is not None:
                day = KEYWORD_DAY0 - timedelta(days=k - 1)
                lines.append(f"{day.isoformat()},{kw},{pop},{products},{share}")
    lines.append(f"{(KEYWORD_DAY0 - timedelta(days=8)).isoformat()},棒球帽,100000,5000,1%")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Kefu, str, str]]:
    """A server holding tr1's card traffic and keywords, tr2/tr3's sales; supervisor tokens
    of tr1 and of the empty store tr0."""
    import os

    if not (DIST / "index.html").is_file():
        _missing("the built web app (web/dist: `make setup`)")
    os.environ["KEFU_SECRET"] = SECRET
    proc, url, db = start_server(tmp_path_factory.mktemp("kefu-traffic"))
    k = Kefu(url, db)
    try:
        k.events(traffic_events())
        for evs in elsewhere_events().values():
            k.events(evs)
        admin = k.staff(S, "admin", "admin")
        r = httpx.post(f"{url}/api/v1/stores/{S}/keywords", content=keywords_csv().encode(),
                       headers={"Authorization": f"Bearer {admin}", "content-type": "text/csv"},
                       timeout=60)  # fmt: skip
        assert r.status_code == 200 and not r.json()["rejected"], r.text
        yield k, k.staff(S, "boss", "supervisor"), k.staff(EMPTY, "boss", "supervisor")
    finally:
        proc.terminate()
        proc.wait(10)
        if k._engine is not None:
            k._engine.dispose()
