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

import re
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


def _card(kind: str, buyer: str, product: str, source: str, ts: str | int) -> dict[str, Any]:
    """A product-card impression or view (click) of tr1."""
    return {"type": kind, "store": S, "ts": ts, "buyer": buyer, "product": product,
            "source": source, "carrier": "card"}  # fmt: skip


def _imp(buyer: str, product: str, source: str, ts: str | int) -> dict[str, Any]:
    return _card("impression", buyer, product, source, ts)


def _view(buyer: str, product: str, source: str, ts: str | int) -> dict[str, Any]:
    return _card("view", buyer, product, source, ts)


def _sale(
    store: str, oid: str, buyer: str, product: str, price: float, ordered: str, paid: str | None
) -> list[dict[str, Any]]:
    order = {
        "type": "order",
        "store": store,
        "ts": ordered,
        "order": oid,
        "buyer": buyer,
        "items": [{"product": product, "qty": 1, "price": price}],
        "amount": price,
    }
    out: list[dict[str, Any]] = [order]
    if paid:
        out.append(
            {
                "type": "payment",
                "store": store,
                "ts": paid,
                "order": oid,
                "buyer": buyer,
                "amount": price,
            }
        )
    return out


def _product(store: str, pid: str, title: str, category: str, price: float) -> dict[str, Any]:
    return {
        "type": "product",
        "store": store,
        "ts": _at(60, 9),
        "product": pid,
        "title": title,
        "price": price,
        "category": category,
    }


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
    evs += [
        _imp("b1", "p1", "search", ts),
        _imp("b2", "p1", "search", ts),
        _view("b1", "p1", "search", ts),
    ]
    profiles = {
        "b1": {"province": "浙江", "gender": "f", "age_band": "25-29"},
        "b2": {"province": "江苏", "gender": "m", "age_band": "18-24"},
        "b4": {"province": "广东", "gender": "f", "age_band": "30-34"},
        "b5": {"province": "浙江", "gender": "m", "age_band": "25-29"},
    }
    evs += [
        {"type": "buyer", "store": S, "ts": _at(40, 9), "buyer": b, **p}
        for b, p in profiles.items()
    ]
    return evs


def elsewhere_events() -> dict[str, list[dict[str, Any]]]:
    """Churned clickers b2, b5, b6 buy jeans in two other stores during the range."""
    out: dict[str, list[dict[str, Any]]] = {}
    for store, sales in (
        ("tr2", [("q1", "b2", 120.0), ("q2", "b6", 110.0)]),
        ("tr3", [("r1", "b5", 100.0)]),
    ):
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
        r = httpx.post(
            f"{url}/api/v1/stores/{S}/keywords",
            content=keywords_csv().encode(),
            headers={"Authorization": f"Bearer {admin}", "content-type": "text/csv"},
            timeout=60,
        )
        assert r.status_code == 200 and not r.json()["rejected"], r.text
        yield k, k.staff(S, "boss", "supervisor"), k.staff(EMPTY, "boss", "supervisor")
    finally:
        proc.terminate()
        proc.wait(10)
        if k._engine is not None:
            k._engine.dispose()


def _apply_range(page: Any, first: date, last: date) -> None:
    page.get_by_test_id("from").fill(first.isoformat())
    page.get_by_test_id("to").fill(last.isoformat())
    page.get_by_test_id("apply").click()


def _stat(page: Any, metric: str) -> Any:
    return page.locator(f'[data-metric="{metric}"]')


def _cells(row: Any, col: str) -> Any:
    return row.locator(f'td[data-col="{col}"]')


def test_card_traffic_numbers(seeded: tuple[Kefu, str, str], new_page: Any) -> None:
    kefu, boss, _ = seeded
    page = new_page(1440, 2700)  # tall: the whole tab in one screenshot
    page.goto(f"{kefu.url}/app/supervisor/traffic?token={boss}")
    _apply_range(page, _day(3), _day(1))
    expect(page.get_by_test_id("traffic-period")).to_contain_text(
        f"本期 {_day(3)} 至 {_day(1)}，对比上期 {_day(6)} 至 {_day(4)}"
    )
    # the store's log starts at D30: the previous period is complete, so changes are shown
    expect(page.get_by_test_id("traffic-prev-incomplete")).to_have_count(0)

    # The period's card_ ids and their change against D6 … D4 (hand-computed above).
    values = {
        "card_impression_users": "7",
        "card_click_users": "5",
        "card_clicks": "6",
        "card_ctr": "71.4%",
        "card_clicks_per_user": "1.20",
        "card_new_click_users": "4",
        "card_returning_click_users": "1",
        "card_churned_users": "3",
        "card_order_users": "3",
        "card_paying_users": "2",
        "card_gmv": "¥218.00",
        "card_aov": "¥109.00",
        "card_click_to_pay_rate": "40.0%",
        "card_uv_value": "¥43.60",
        "card_first_purchase_users": "1",
        "card_repeat_users": "1",
    }
    for metric, text in values.items():
        expect(_stat(page, metric).locator(".value")).to_have_text(text)
    expect(_stat(page, "card_impression_users").locator(".sub")).to_have_text("较上期 +75.0%")
    expect(_stat(page, "card_click_users").locator(".sub")).to_have_text("较上期 +150.0%")
    expect(_stat(page, "card_gmv").locator(".sub")).to_have_text("较上期 +175.9%")
    expect(_stat(page, "card_returning_click_users").locator(".sub")).to_have_text("较上期 —")
    expect(_stat(page, "card_click_users")).to_have_class(re.compile(r"\bup\b"))
    expect(_stat(page, "card_click_to_pay_rate")).to_have_class(re.compile(r"\bdown\b"))

    # One row per source, in the contract's order.
    rows = page.get_by_test_id("source-table").locator("tbody tr")
    expect(rows).to_have_count(3)
    assert [r.get_attribute("data-source") for r in rows.all()] == ["search", "shop", "recommend"]
    expected = {
        "search": ("搜索", "3", "2", "3", "66.7%", "¥79.00"),
        "shop": ("店铺页", "1", "0", "0", "0.0%", "¥0.00"),
        "recommend": ("推荐", "3", "3", "3", "100.0%", "¥139.00"),
    }
    for source, (label, imp, users, clicks, ctr, gmv) in expected.items():
        row = page.locator(f'[data-testid="source-table"] tr[data-source="{source}"]')
        expect(row.locator("td").first).to_have_text(label)
        expect(_cells(row, "card_impression_users")).to_have_text(imp)
        expect(_cells(row, "card_click_users")).to_have_text(users)
        expect(_cells(row, "card_clicks")).to_have_text(clicks)
        expect(_cells(row, "card_ctr")).to_have_text(ctr)
        expect(_cells(row, "card_gmv")).to_have_text(gmv)
    # search had 2 click users before too; recommend had none (change undefined)
    search = page.locator('[data-testid="source-table"] tr[data-source="search"]')
    expect(_cells(search, "change_click")).to_have_text("0.0%")
    recommend = page.locator('[data-testid="source-table"] tr[data-source="recommend"]')
    expect(_cells(recommend, "change_click")).to_have_text("—")

    # Today so far: b1 and b2 saw p1's card a minute ago, b1 clicked it.
    today = page.get_by_test_id("traffic-today")
    expect(today.locator('[data-today-metric="card_impression_users"] .tv')).to_have_text("2")
    expect(today.locator('[data-today-metric="card_click_users"] .tv')).to_have_text("1")

    # Products: sorted by click users; titles from the catalogue; a header click re-sorts.
    table = page.get_by_test_id("product-table")
    prows = table.locator("tbody tr")
    expect(prows).to_have_count(3)
    assert [r.get_attribute("data-product") for r in prows.all()] == ["p1", "p2", "p3"]
    expect(table.locator('tr[data-product="p1"] td[data-col="product"]')).to_contain_text(
        "纯棉宽松短袖T恤"
    )
    p2 = table.locator('tr[data-product="p2"]')
    for col, text in (
        ("card_impression_users", "2"),
        ("card_click_users", "2"),
        ("card_order_users", "2"),
        ("card_paying_users", "1"),
        ("card_ctr", "100.0%"),
        ("card_click_to_pay_rate", "50.0%"),
        ("card_uv_value", "¥69.50"),
    ):
        expect(_cells(p2, col)).to_have_text(text)
    p3 = table.locator('tr[data-product="p3"]')
    expect(_cells(p3, "card_click_to_pay_rate")).to_have_text("—")  # no click users: null
    table.locator('th[data-col="card_ctr"]').click()
    assert [r.get_attribute("data-product") for r in prows.all()] == ["p2", "p1", "p3"]
    table.locator('th[data-col="card_ctr"]').click()
    assert [r.get_attribute("data-product") for r in prows.all()] == ["p3", "p1", "p2"]

    # p2's funnel: 2 impressions → 2 clicks → 2 orders (b4, b5) → 1 payment, all recommended.
    p2.click()
    funnel = page.get_by_test_id("funnel")
    expect(funnel.locator("h3")).to_contain_text("高腰直筒牛仔裤")
    steps = page.get_by_test_id("funnel-steps")
    for step, users in (("impression", "2"), ("click", "2"), ("order", "2"), ("payment", "1")):
        row = steps.locator(f'tr[data-step="{step}"]')
        expect(row.locator('td[data-col="overall"] strong')).to_have_text(users)
        expect(row.locator('td[data-col="recommend"]')).to_contain_text(users)
    expect(steps.locator('tr[data-step="payment"] td[data-col="overall"]')).to_contain_text("50.0%")
    expect(steps.locator("thead th")).to_have_count(3)  # step, all sources, recommend

    # Audience of the click users: 浙江 b1 (bought) and b5; b4 the one returning clicker.
    aud = page.get_by_test_id("audience")
    zj = aud.locator('[data-attr="province"] [data-value="浙江"]')
    expect(zj.locator('[data-col="total"]')).to_have_text("2")
    expect(zj.locator('[data-col="bought"]')).to_have_text("成交 1")
    expect(aud.locator('[data-attr="province"] [data-value="unknown"] .aud-label')).to_have_text(
        "未知"
    )
    expect(aud.locator('[data-attr="gender"] [data-value="f"] [data-col="bought"]')).to_have_text(
        "成交 2"
    )
    ret = aud.locator('[data-attr="customer"] [data-value="returning"]')
    expect(ret.locator(".aud-label")).to_have_text("老客")
    expect(ret.locator('[data-col="total"]')).to_have_text("1")
    expect(
        aud.locator('[data-attr="customer"] [data-value="new"] [data-col="total"]')
    ).to_have_text("4")
    page.get_by_test_id("audience-source").select_option("search")  # b1 and b2 only
    expect(aud.locator('[data-attr="province"] .aud-row')).to_have_count(2)
    expect(
        aud.locator('[data-attr="province"] [data-value="江苏"] [data-col="total"]')
    ).to_have_text("1")
    page.get_by_test_id("audience-source").select_option("")

    # Churn: b2, b5, b6 bought jeans in two other stores; category totals only.
    churn = page.get_by_test_id("churn")
    expect(churn.locator('[data-churn="churned"] .tv')).to_have_text("3")
    expect(churn.locator('[data-churn="churned"] .ts')).to_have_text("占点击人数 5 的 60.0%")
    expect(churn.locator('[data-churn="elsewhere"] .tv')).to_have_text("3")
    jeans = page.get_by_test_id("churn-table").locator('tr[data-category="牛仔裤"]')
    expect(_cells(jeans, "buyers")).to_have_text("3")
    expect(_cells(jeans, "orders")).to_have_text("3")
    expect(_cells(jeans, "gmv")).to_have_text("¥330.00")
    expect(_cells(jeans, "avg")).to_have_text("¥110.00")
    expect(jeans.locator(".tag")).to_have_text("与本店点击商品同类目")
    expect(churn).not_to_contain_text("tr2")  # no other store is ever named
    page.get_by_test_id("churn-source").select_option("search")  # b2: one buyer, not shown
    expect(churn.locator('[data-churn="churned"] .tv')).to_have_text("1")
    expect(page.get_by_test_id("churn-hidden")).to_be_visible()
    page.get_by_test_id("churn-source").select_option("")
    expect(page.get_by_test_id("churn-table")).to_be_visible()

    page.evaluate("document.querySelector('.main').scrollTo(0, 0)")
    page.wait_for_timeout(600)  # chart animations
    shot(page, "traffic")

    # The per-product CSV is the API's, for the same range.
    with page.expect_download() as dl:
        page.get_by_test_id("product-csv").click()
    assert dl.value.suggested_filename == f"traffic-product-{_day(3)}-{_day(1)}.csv"
    lines = Path(dl.value.path()).read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    assert header[:3] == ["store", "product", "card_impression_users"]
    p1 = dict(zip(header, lines[1].split(","), strict=True))
    assert (p1["product"], p1["card_click_users"], p1["card_gmv"]) == ("p1", "3", "79.0")
    assert len(lines) == 4

    # English: the labels change, the numbers stay.
    page.get_by_test_id("lang-switch").click()
    expect(page.get_by_test_id("tab-traffic")).to_have_text("Card traffic")
    expect(_stat(page, "card_click_users").locator(".label")).to_have_text("Click users")
    expect(_stat(page, "card_click_users").locator(".sub")).to_have_text("vs previous +150.0%")
    expect(_stat(page, "card_ctr").locator(".value")).to_have_text("71.4%")
    expect(search.locator("td").first).to_have_text("Search")
    expect(zj.locator('[data-col="bought"]')).to_have_text("1 bought")
    expect(ret.locator(".aud-label")).to_have_text("Returning")
    expect(page.get_by_test_id("traffic-period")).to_contain_text("compared with")
    shot(page, "traffic-en")

    # A range whose previous period lies before the store's log (D30): flagged, no change.
    _apply_range(page, _day(31), _day(24))
    expect(page.get_by_test_id("traffic-prev-incomplete")).to_contain_text(
        f"previous period incomplete (data starts {_day(30)})"
    )
    assert page.errors == []


def test_keywords(seeded: tuple[Kefu, str, str], new_page: Any) -> None:
    kefu, boss, _ = seeded
    page = new_page(1440, 1000)
    page.goto(f"{kefu.url}/app/supervisor/keywords?token={boss}")
    expect(page.get_by_test_id("keywords-range")).to_have_text("数据 2026-03-02 至 2026-03-08")
    expect(page.get_by_test_id("from")).to_have_count(0)  # the window is the data's, not the range

    table = page.get_by_test_id("keyword-table")
    rows = table.locator("tbody tr")

    def order() -> list[str | None]:
        return [r.get_attribute("data-keyword") for r in rows.all()]

    expect(rows).to_have_count(5)
    assert order() == ["牛仔裤 女", "小白鞋", "高腰牛仔裤", "短袖T恤", "棒球帽"]
    cap = table.locator('tr[data-keyword="棒球帽"]')  # three days in the window; K9 is outside
    for col, text in (
        ("search_popularity", "1,000"),
        ("online_products", "5,000"),
        ("competition", "5.00"),
        ("click_share", "1.0%"),
        ("days", "3"),
        ("rank_popularity", "5"),
        ("rank_competition", "5"),
    ):
        expect(_cells(cap, col)).to_have_text(text)
    shoes = table.locator('tr[data-keyword="小白鞋"]')  # (6700 + 6 × 6000) / 7
    expect(_cells(shoes, "search_popularity")).to_have_text("6,100")
    expect(_cells(shoes, "competition")).to_have_text("0.50")

    table.locator('th[data-col="competition"]').click()  # low competition first
    assert order() == ["短袖T恤", "高腰牛仔裤", "小白鞋", "牛仔裤 女", "棒球帽"]
    table.locator('th[data-col="click_share"]').click()
    assert order() == ["牛仔裤 女", "高腰牛仔裤", "小白鞋", "短袖T恤", "棒球帽"]
    table.locator('th[data-col="click_share"]').click()
    assert order() == ["棒球帽", "短袖T恤", "小白鞋", "高腰牛仔裤", "牛仔裤 女"]

    # Title keywords for p2 (高腰直筒牛仔裤 显瘦百搭): 5000² / 2000 = 12,500 before 8000² / 16000.
    page.get_by_test_id("suggest-product").fill("p2")
    page.get_by_test_id("suggest-go").click()
    expect(page.get_by_test_id("suggest-title")).to_have_text("商品标题：高腰直筒牛仔裤 显瘦百搭")
    srows = page.get_by_test_id("suggest-table").locator("tbody tr")
    expect(srows).to_have_count(2)
    assert [r.get_attribute("data-keyword") for r in srows.all()] == ["高腰牛仔裤", "牛仔裤 女"]
    expect(srows.first.locator('td[data-col="score"]')).to_have_text("12,500")
    expect(srows.nth(1).locator(".tag.orange")).to_have_text("女")  # what the title lacks
    expect(page.locator(".echart canvas").first).to_be_visible()
    table.locator('th[data-col="search_popularity"]').click()  # back to the default order
    page.wait_for_timeout(600)
    shot(page, "keywords")

    with page.expect_download() as dl:
        page.get_by_test_id("keywords-csv").click()
    lines = Path(dl.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("keyword,days,search_popularity")
    assert [x.split(",")[0] for x in lines[1:]] == [
        "牛仔裤 女",
        "小白鞋",
        "高腰牛仔裤",
        "短袖T恤",
        "棒球帽",
    ]

    page.get_by_test_id("suggest-product").fill("nope")
    page.get_by_test_id("suggest-go").click()
    expect(page.get_by_test_id("suggest-error")).to_have_text("商品目录中没有商品 nope")

    # Nobody types product ids: the picker finds the product by a word of its title.
    page.get_by_test_id("suggest-product").fill("牛仔")
    page.get_by_test_id("suggest-matches").locator('[data-product="p2"]').click()
    expect(page.get_by_test_id("suggest-title")).to_have_text("商品标题：高腰直筒牛仔裤 显瘦百搭")
    expect(page.get_by_test_id("suggest-product")).to_have_value("高腰直筒牛仔裤 显瘦百搭")

    # 14 days reach K9: 棒球帽's mean popularity is (3 × 1000 + 100000) / 4 = 25,750, now first.
    page.locator('[data-window="14"]').click()
    expect(page.get_by_test_id("keywords-range")).to_have_text("数据 2026-02-23 至 2026-03-08")
    expect(_cells(cap, "search_popularity")).to_have_text("25,750")
    expect(_cells(cap, "days")).to_have_text("4")
    expect(_cells(cap, "rank_popularity")).to_have_text("1")

    page.get_by_test_id("lang-switch").click()
    expect(page.get_by_test_id("tab-keywords")).to_have_text("Keywords")
    expect(table.locator('th[data-col="search_popularity"]')).to_contain_text("Search popularity")
    expect(page.get_by_test_id("keywords-range")).to_have_text("Data 2026-02-23 – 2026-03-08")
    assert page.errors == []


def test_empty_states(seeded: tuple[Kefu, str, str], new_page: Any) -> None:
    kefu, _, nobody = seeded
    page = new_page(1440, 900)
    page.goto(f"{kefu.url}/app/supervisor/traffic?token={nobody}")
    empty = page.get_by_test_id("traffic-empty")
    expect(empty).to_be_visible()
    expect(empty).to_contain_text("所选时间段暂无商品卡流量")
    expect(page.get_by_test_id("product-table")).to_have_count(0)
    expect(page.get_by_test_id("traffic-today")).to_have_count(0)
    shot(page, "traffic-empty")

    page.get_by_test_id("tab-keywords").click()
    kw = page.get_by_test_id("keywords-empty")
    expect(kw).to_contain_text("还没有导入市场关键词数据")
    expect(kw).to_contain_text(f"kefu import keywords keywords.csv --store {EMPTY} --db URL")
    expect(kw).to_contain_text(f"POST /api/v1/stores/{EMPTY}/keywords")
    page.get_by_test_id("lang-switch").click()
    expect(kw).to_contain_text("No market keyword data imported yet")
    shot(page, "keywords-empty")
    assert page.errors == []
