"""The store simulator: deterministic, valid, time-ordered, streaming, shaped like a store."""

from __future__ import annotations

import random
import re
import statistics
import tracemalloc
from collections import Counter, defaultdict
from datetime import date
from functools import cache
from typing import Any

import msgspec
import pytest

from kefu.engine.events import AnyEvent, Event
from kefu.sim import generate
from kefu.sim import texts as tx
from kefu.sim.catalogue import CATEGORIES, THEMES, build_catalogue, choose_categories

DEC = msgspec.json.Decoder(AnyEvent)
HOUR_MS = 3_600_000
TS = re.compile(rb'"ts":"2026-11-0\d T\d\d:\d\d:\d\d\+08:00"'.replace(b" ", b""))


def tag(e: Event) -> str:
    return e.__struct_config__.tag


def hour_of(e: Event) -> int:
    return (e.at // HOUR_MS + 8) % 24


@cache
def week() -> tuple[list[bytes], list[Any]]:
    """One medium run shared by the tests that only read it (three stores, six days)."""
    lines = list(generate(stores=3, buyers=800, days=6, seed=3))
    return lines, [DEC.decode(x) for x in lines]


def evs() -> list[Any]:
    return week()[1]


def test_same_seed_same_bytes_and_another_seed_differs() -> None:
    a = list(generate(stores=2, buyers=60, days=2, seed=5))
    b = list(generate(stores=2, buyers=60, days=2, seed=5))
    c = list(generate(stores=2, buyers=60, days=2, seed=6))
    assert a == b
    assert a != c


def test_lines_are_bytes_without_newline_with_china_time_stamps() -> None:
    lines, _ = week()
    assert all(isinstance(x, bytes) and not x.endswith(b"\n") for x in lines)
    assert all(TS.search(x) for x in lines)


def test_every_line_decodes_in_time_order_with_unique_ids() -> None:
    events = evs()
    assert [e.at for e in events] == sorted(e.at for e in events)
    ids = [e.id for e in events]
    assert None not in ids and len(ids) == len(set(ids))
    assert {e.store for e in events} == {"s001", "s002", "s003"}
    kinds = Counter(tag(e) for e in events)
    for t in ("product", "agent", "agent.status", "buyer", "search", "impression", "view",
              "favorite", "cart.add", "message", "transfer.click", "guide.view",
              "conversation.close", "rating", "order", "payment", "order.cancel",
              "aftersale.open", "faq"):  # fmt: skip
        assert kinds[t] > 0, t


def test_events_stay_inside_the_window_from_the_start_day() -> None:
    start = date(2026, 6, 18)
    lines = list(generate(stores=1, buyers=100, days=2, seed=1, start=start))
    first, last = DEC.decode(lines[0]), DEC.decode(lines[-1])
    assert lines[0].find(b'"ts":"2026-06-18T00:00:00+08:00"') > 0
    assert first.at == 1781712000000  # 2026-06-18T00:00+08:00
    assert last.at < first.at + 2 * 24 * HOUR_MS


def test_on_day_is_called_once_a_day_after_its_events() -> None:
    seen: list[tuple[date, int]] = []
    n = 0

    def on_day(d: date) -> None:
        seen.append((d, n))

    for _ in generate(stores=1, buyers=50, days=3, seed=2, on_day=on_day):
        n += 1
    assert [d for d, _ in seen] == [date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)]
    assert seen[-1][1] == n and seen[0][1] < seen[1][1] < seen[2][1]


def test_counts_tally_every_event_type() -> None:
    counts: Counter[str] = Counter()
    lines = list(generate(stores=1, buyers=80, days=2, seed=4, counts=counts))
    assert sum(counts.values()) == len(lines)
    assert counts["product"] == sum(b'"type":"product"' in x for x in lines)


def test_memory_holds_about_an_hour_not_the_whole_run() -> None:
    def peak(days: int) -> int:
        tracemalloc.start()
        for _ in generate(stores=1, buyers=400, days=days, seed=1):
            pass
        top = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return top

    assert peak(6) < 1.4 * peak(2)


def test_daily_rhythm_peaks_in_the_morning_and_evening() -> None:
    hours: Counter[int] = Counter()
    for e in evs():
        if tag(e) == "message" and e.sender == "buyer":
            hours[hour_of(e)] += 1
    peak = (hours[10] + hours[11] + hours[20] + hours[21]) / 4
    night = (hours[3] + hours[4] + hours[5]) / 3
    assert peak > 5 * max(1.0, night)


def test_agent_replies_some_within_and_some_beyond_three_minutes() -> None:
    waiting: dict[str, int] = {}
    delays: dict[str, list[int]] = defaultdict(list)
    for e in evs():
        if tag(e) == "transfer.click" or (tag(e) == "message" and e.sender == "buyer"):
            waiting.setdefault(e.buyer, e.at)
        elif tag(e) == "message" and e.sender == "agent" and e.buyer in waiting:
            delays[e.agent].append(e.at - waiting.pop(e.buyer))
    every = [d for ds in delays.values() for d in ds]
    assert sum(d > 180_000 for d in every) > 20
    assert sum(d <= 180_000 for d in every) > len(every) // 2
    medians = sorted(statistics.median(ds) for ds in delays.values() if len(ds) >= 10)
    assert medians[0] * 2 < medians[-1]  # some agents fast, some slow


def test_agents_have_roles_groups_capacity_and_shifts() -> None:
    agents = [e for e in evs() if tag(e) == "agent"]
    roles = Counter(a.role for a in agents)
    assert roles["supervisor"] == 3 and roles["assistant"] == 3 and roles["agent"] >= 6
    humans = [a for a in agents if a.role != "assistant"]
    assert all(3 <= a.capacity <= 8 for a in humans)
    assert all(a.name.count(":") == 1 for a in agents)  # 店铺名:昵称, as sub-accounts are named
    assert {"售前", "售后"} <= {g for a in humans for g in a.groups}
    status = Counter(e.status for e in evs() if tag(e) == "agent.status")
    assert status["online"] > status["offline"] > 0 and status["busy"] > 0
    night = [e for e in evs() if tag(e) == "agent.status" and e.status == "online"
             and hour_of(e) < 8]  # fmt: skip
    assert not night


def test_the_bot_answers_first_only_in_stores_with_a_bot() -> None:
    bots = Counter(e.store for e in evs() if tag(e) == "message" and e.sender == "bot")
    assert bots["s001"] > 0 and bots["s003"] > 0 and bots["s002"] == 0
    last_buyer_msg: dict[str, int] = {}
    first_answer: dict[tuple[str, int], str] = {}
    for e in evs():
        if e.store != "s001" or tag(e) != "message":
            continue
        if e.sender == "buyer":
            last_buyer_msg.setdefault(e.buyer, e.at)
        elif e.buyer in last_buyer_msg:
            first_answer.setdefault((e.buyer, last_buyer_msg.pop(e.buyer)), e.sender)
    answered = Counter(first_answer.values())
    assert answered["bot"] > answered["agent"] > 0


def test_buyers_ask_in_chinese_with_cards_and_transfer() -> None:
    asked = [e for e in evs() if tag(e) == "message" and e.sender == "buyer"]
    texts = {e.text for e in asked}
    assert any("尺码" in t or "码" in t for t in texts)
    assert any("有货" in t or "现货" in t for t in texts)
    assert any("发货" in t or "快递" in t for t in texts)
    assert texts & set(tx.TYPED_TRANSFER)
    assert sum(e.product is not None for e in asked) > len(asked) // 5


def test_agents_recommend_complements_of_what_the_buyer_looked_at() -> None:
    category = {e.product: e.category for e in evs() if tag(e) == "product"}
    looked: dict[str, list[tuple[int, str]]] = defaultdict(list)
    sent = 0
    for e in evs():
        if tag(e) == "view":
            looked[e.buyer].append((e.at, category[e.product]))
        elif tag(e) == "message" and e.sender == "agent" and e.products:
            sent += 1
            assert len(e.products) >= 2
            recent = {c for t, c in looked[e.buyer] if e.at - t < 24 * HOUR_MS}  # night: next day
            comps = {x for c in recent for x in CATEGORIES[c].complements}
            assert all(category[p] in comps for p in e.products)
    assert sent > 10


def test_some_chats_are_started_by_an_agent() -> None:
    proactive = [e for e in evs() if tag(e) == "message" and e.sender == "agent" and e.product
                 and e.text.startswith(("亲，看到您加购了", "亲，您关注的"))]  # fmt: skip
    assert len(proactive) > 3
    reminders = [e for e in evs() if tag(e) == "message" and e.text == tx.PAY_REMINDER]
    assert reminders


def test_ratings_are_better_after_fast_replies() -> None:
    waiting: dict[str, int] = {}
    worst: dict[str, int] = {}
    fast, slow = [], []
    for e in evs():
        t = tag(e)
        if (t == "message" and e.sender == "buyer") or t == "transfer.click":
            waiting.setdefault(e.buyer, e.at)
        elif t == "message" and e.sender == "agent" and e.buyer in waiting:
            worst[e.buyer] = max(worst.get(e.buyer, 0), e.at - waiting.pop(e.buyer))
        elif t == "rating":
            w = worst.pop(e.buyer, None)
            if w is not None:
                (fast if w <= 60_000 else slow if w > 180_000 else []).append(e.score)
    assert fast and slow
    assert statistics.mean(fast) > statistics.mean(slow) + 0.5


def test_orders_add_up_and_payments_cancels_aftersales_follow_them() -> None:
    orders: dict[str, Any] = {}
    paid: dict[str, int] = {}
    opened: dict[str, int] = {}
    for e in evs():
        t = tag(e)
        if t == "order":
            assert e.amount == round(sum(i.qty * i.price for i in e.items), 2)
            assert all(1 <= i.qty <= 3 for i in e.items)
            orders[e.order] = e
        elif t == "payment":
            assert e.amount == orders[e.order].amount and e.at >= orders[e.order].at
            paid[e.order] = e.at
        elif t == "order.cancel":
            assert e.order in orders and e.order not in paid
        elif t == "aftersale.open":
            assert e.order in paid and e.at > paid[e.order] + 12 * HOUR_MS
            opened[e.order] = e.at
        elif t == "aftersale.close":
            assert e.at > opened[e.order]
    assert 0.8 < len(paid) / len(orders) < 0.97
    late = [paid[o] - orders[o].at for o in paid]
    assert max(late) > HOUR_MS and min(late) < 5 * 60_000  # minutes to hours later


def test_buyers_who_add_to_cart_order_more_often() -> None:
    carted, ordered, everyone = set(), set(), set()
    for e in evs():
        if tag(e) == "view":
            everyone.add(e.buyer)
        elif tag(e) == "cart.add":
            carted.add(e.buyer)
        elif tag(e) == "order":
            ordered.add(e.buyer)
    rate_cart = len(carted & ordered) / len(carted)
    rate_rest = len((everyone - carted) & ordered) / len(everyone - carted)
    assert rate_cart > 2 * rate_rest


def test_buyers_served_fast_order_more_than_those_left_waiting() -> None:
    first_wait: dict[str, int] = {}
    waiting: dict[str, int] = {}
    for e in evs():
        if tag(e) == "message" and e.sender == "buyer" and e.buyer not in first_wait:
            waiting.setdefault(e.buyer, e.at)
        elif tag(e) == "message" and e.sender == "agent" and e.buyer in waiting:
            first_wait[e.buyer] = e.at - waiting.pop(e.buyer)
    ordered = {e.buyer for e in evs() if tag(e) == "order"}
    fast = [b for b, w in first_wait.items() if w <= 60_000]
    slow = [b for b, w in first_wait.items() if w > 180_000] + list(waiting)  # or never
    assert sum(b in ordered for b in fast) / len(fast) > sum(b in ordered for b in slow) / len(slow)


def test_traffic_has_sources_carriers_and_profiles() -> None:
    views = [e for e in evs() if tag(e) == "view"]
    sources = Counter(e.source for e in views)
    assert set(sources) == {"search", "shop", "recommend", "cart", "orders", "chat", "other"}
    carriers = Counter(e.carrier for e in views)
    assert carriers["card"] > 0.8 * len(views) and carriers["live"] > 0 and carriers["video"] > 0
    assert all(re.search("[\u4e00-\u9fff]", e.keyword) for e in evs() if tag(e) == "search")
    buyers = [e for e in evs() if tag(e) == "buyer"]
    assert len({(e.store, e.buyer) for e in buyers}) == len(buyers)  # one profile each
    assert {e.gender for e in buyers} == {"f", "m", "u"}
    assert all(e.province and e.age_band and e.member_since for e in buyers)


def test_catalogues_are_chinese_with_attributes_and_complements() -> None:
    for seed in range(12):
        rng = random.Random(seed)
        theme, cats = choose_categories(rng, seed)
        products = build_catalogue(rng, "s001", theme, cats)
        assert len(products) >= 8 and len({p.id for p in products}) == len(products)
        assert set(THEMES[theme]) & set(cats)
        main = [c for c in THEMES[theme] if c in cats]
        assert all(set(CATEGORIES[c].complements) & set(cats) for c in main)
        for p in products:
            assert re.search("[\u4e00-\u9fff]", p.title) and p.attrs and p.price > 0
            assert ("尺码" in p.attrs) == CATEGORIES[p.category].apparel or p.category == "拖鞋"
            assert (p.stock == 0) == (p.status == "out_of_stock")
    first = [e for e in evs() if tag(e) == "product" and e.at == evs()[0].at]
    assert len({e.store for e in first}) == 3 and all(e.stock is not None for e in first)


@pytest.mark.parametrize("seed", [7])
def test_a_sold_out_product_is_restocked_the_next_morning(seed: int) -> None:
    lines = generate(stores=1, buyers=3000, days=3, seed=seed)
    updates = [e for e in map(DEC.decode, lines) if tag(e) == "product" and e.at > 0]
    later = [e for e in updates if e.at != updates[0].at]
    sold_out = [e for e in later if e.status == "out_of_stock"]
    assert sold_out
    back = [e for e in later if e.status == "on_sale" and e.product == sold_out[0].product]
    assert back and 9 <= hour_of(back[0]) < 11 and back[0].stock > 0
