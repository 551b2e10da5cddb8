"""The store's buyers: who they are, when they come, and what they do on the shop's pages.

Each buyer has a latent purchase intent (Beta(2, 5)) that scales favourites, carts, chats
and orders, a daily visit probability (most come rarely, a few often), a favourite
category, and a profile sent the first time they show up. Arrivals follow the hour-of-day
profile of the Taobao sample; views, favourites and carts per view its funnel.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from array import array
from datetime import date
from typing import TYPE_CHECKING

from kefu.sim import calibration as cal
from kefu.sim.catalogue import CATEGORIES, Product
from kefu.sim.texts import AGE_BANDS, PROVINCES, SEARCH_MODIFIERS

if TYPE_CHECKING:
    from kefu.sim.store import Store

HOUR = 3600
_HOUR_CUM = list(itertools.accumulate(cal.HOUR_PROFILE))
_PROVINCES = [p for p, _ in PROVINCES]
_PROVINCE_CUM = list(itertools.accumulate(w for _, w in PROVINCES))
_AGES = [a for a, _ in AGE_BANDS]
_AGE_CUM = list(itertools.accumulate(w for _, w in AGE_BANDS))
# Share of women by theme (hand-set): clothes and make-up shops are mostly visited by women.
WOMEN = {"女装": 0.85, "美妆": 0.85, "鞋包": 0.7, "家居": 0.65, "食品": 0.55, "数码": 0.35}
# Where a visit comes from (hand-set, no public split): search leads, then recommendations.
SOURCE_CUM = ((0.50, "search"), (0.72, "recommend"), (0.90, "shop"), (1.0, "other"))


def day_factor(day: date) -> float:
    """Traffic on `day` relative to a weekday: weekends, 双十一 (11-11), 双十二, 618 (hand-set)."""
    special = {(11, 11): 2.5, (12, 12): 1.8, (6, 18): 2.0, (11, 10): 1.4}.get((day.month, day.day))
    if special:
        return special
    return 1.15 if day.weekday() >= 5 else 1.0


def intent_scale(u: float) -> float:
    """Multiplier on the Taobao per-view rates: 1 on average over Beta(2, 5) intents."""
    return 0.3 + 2.45 * u


class Population:
    """The store's buyers as compact arrays (a store may have a million of them)."""

    def __init__(self, rng: random.Random, store: str, n: int, main_cats: list[str]) -> None:
        self.store = store
        self.n = n
        self.main_cats = main_cats
        self.intent = array("d", (rng.betavariate(2, 5) for _ in range(n)))
        # Mean 0.2 visits a day, skewed: many occasional buyers, a few regulars.
        self.activity = array("d", (min(0.9, rng.betavariate(1.2, 4.8)) for _ in range(n)))
        self.favourite = array("H", (rng.randrange(len(main_cats)) for _ in range(n)))
        self.seen = bytearray(n)
        self.ordered = bytearray(n)
        self.carts: dict[int, list[Product]] = {}

    def buyer(self, b: int) -> str:
        """The buyer id of index `b`."""
        return f"{self.store}-u{b + 1}"

    def arrivals(self, rng: random.Random, day_start: int, factor: float) -> list[tuple[int, int]]:
        """Today's visits as (epoch second, buyer index), sorted."""
        visits = []
        rand = rng.random
        for b, p in enumerate(self.activity):
            if rand() < p * factor:
                hour = bisect.bisect_right(_HOUR_CUM, rand() * _HOUR_CUM[-1])
                visits.append((day_start + hour * HOUR + int(rand() * HOUR), b))
        visits.sort()
        return visits


def profile(st: Store, b: int, t: int) -> None:
    """The `buyer` event of a first-time visitor."""
    rng = st.rng
    gender = "u" if rng.random() < 0.03 else "f" if rng.random() < WOMEN[st.theme] else "m"
    since = date(rng.randint(2012, 2026), rng.randint(1, 12), rng.randint(1, 28))
    province = _PROVINCES[bisect.bisect_right(_PROVINCE_CUM, rng.random() * _PROVINCE_CUM[-1])]
    age_band = _AGES[bisect.bisect_right(_AGE_CUM, rng.random() * _AGE_CUM[-1])]
    st.emit(t, "buyer", buyer=st.people.buyer(b), gender=gender, province=province,
            age_band=age_band, member_since=min(since, st.today).isoformat())  # fmt: skip


def views_wanted(rng: random.Random, u: float) -> int:
    """Product pages a visit opens: log-normal, median 3, mean 5.7 as in the Taobao sample;
    keener buyers look at more (the factor averages 1 over Beta(2, 5) intents)."""
    sigma = math.sqrt(2 * math.log(cal.VIEWS_PER_VISIT_MEAN / 3))
    return min(40, max(1, round(3 * math.exp(rng.gauss(0.0, sigma)) * (0.6 + 1.4 * u))))


class Visit:
    """What one visit did: for the chat and order decisions that follow."""

    __slots__ = ("carted", "end", "first_view", "viewed", "views")

    def __init__(self) -> None:
        self.views = 0
        self.viewed: list[Product] = []
        self.carted: list[Product] = []
        self.first_view = 0
        self.end = 0


def browse(st: Store, b: int, t: int) -> Visit:
    """Search or another entry, lists of cards (impressions), product pages, favourites, carts."""
    rng, emit, people = st.rng, st.emit, st.people
    buyer = people.buyer(b)
    scale = intent_scale(people.intent[b])
    cart = people.carts.get(b)
    r = rng.random()
    pages: list[list[Product]] = []
    if cart and r < 0.15:
        source, pages = "cart", [list(cart)]
    elif people.ordered[b] and r < 0.2:
        source = "orders"
    else:
        r = rng.random()
        source = next(s for p, s in SOURCE_CUM if r < p)
    carrier = "card"
    if source in ("recommend", "other", "shop"):
        r = rng.random()
        carrier = "card" if r < 0.86 else "live" if r < 0.95 else "video"
    if rng.random() < 0.6:
        cat = people.main_cats[people.favourite[b]]
    else:
        cat = rng.choice(people.main_cats)
    if source == "search":
        kw = rng.choice(CATEGORIES[cat].keywords) + rng.choice(SEARCH_MODIFIERS)
        emit(t, "search", buyer=buyer, keyword=kw.strip())
        t += rng.randint(2, 10)
    visit = Visit()
    glance = rng.random() < 0.2  # a fifth only glance at the lists
    wanted = 0 if glance else views_wanted(rng, people.intent[b])
    same_cat = st.by_cat[cat]
    repeats: list[Product] = []
    for _ in range(20):  # pages of cards
        if not pages:
            k = rng.randint(4, 8)
            pool = rng.sample(same_cat, min(len(same_cat), k - 1))
            for p in rng.sample(st.listed, min(len(st.listed), k)):
                if len(pool) < k and p not in pool:
                    pool.append(p)
            pages.append(pool)
        page = pages.pop()
        for p in page:
            emit(t, "impression", buyer=buyer, product=p.id, source=source, carrier=carrier)
        t += rng.randint(2, 8)
        if wanted <= 0:
            break
        fresh = [p for p in page if p not in visit.viewed] or page
        picks = fresh[: min(wanted, 1 + rng.randrange(3))]
        for p in picks:
            t = _view(st, buyer, p, source, carrier, t, scale, visit)
            wanted -= 1
            if wanted > 0 and rng.random() < cal.REPEAT_VIEW_SHARE * scale:  # look again later
                repeats.append(p)
                wanted -= 1
    for p in repeats:  # back to a product seen earlier in the visit
        t += rng.randint(20, 300)
        t = _view(st, buyer, p, source, carrier, t, scale, visit)
    visit.end = t
    return visit


def _view(
    st: Store, buyer: str, p: Product, source: str, carrier: str, t: int, scale: float, v: Visit
) -> int:
    """One product page: the view, maybe a favourite or a cart; returns the time after it."""
    rng = st.rng
    dwell = round(min(600.0, 25 * math.exp(rng.gauss(0.0, 0.9))), 1)
    st.emit(t, "view", buyer=buyer, product=p.id, source=source, carrier=carrier, dwell_s=dwell)
    if not v.views:
        v.first_view = t
    v.views += 1
    if p not in v.viewed:
        v.viewed.append(p)
    t += int(dwell)
    if rng.random() < cal.FAV_PER_VIEW * scale:
        st.emit(t, "favorite", buyer=buyer, product=p.id)
    if p.status == "on_sale" and rng.random() < cal.CART_PER_VIEW * scale:
        st.emit(t, "cart.add", buyer=buyer, product=p.id)
        v.carted.append(p)
    return t + rng.randint(3, 15)
