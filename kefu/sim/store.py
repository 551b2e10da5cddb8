"""One simulated store: its catalogue, team, buyers, and an agenda run in time order.

The agenda is a heap of what happens next: today's visits and everything scheduled for later
(a payment reminder, a restock, a buyer's question about last week's order). Running it in
time order keeps agents' load (open chats, capacity) true to the moment, and lets the
generator advance every store hour by hour in step.
"""

from __future__ import annotations

import heapq
import random
from datetime import date
from typing import Any

from kefu.sim import chat, orders
from kefu.sim.agents import Agent, build_team, plan_shifts
from kefu.sim.buyers import Population, Visit, browse, day_factor, intent_scale, profile
from kefu.sim.catalogue import (
    CATEGORIES,
    SHOP_NAMES,
    THEMES,
    Product,
    build_catalogue,
    choose_categories,
)
from kefu.sim.stream import Log, Sink
from kefu.sim.texts import BUYER_LIKES, FAQ

MIN = 60
DAY = 86_400


class Store:
    """A store's state across the whole run; one `random.Random` per (seed, store, day)."""

    def __init__(
        self, index: int, seed: int, buyers: int, sink: Sink, logged_bots: bool = True
    ) -> None:
        self.id = f"s{index + 1:03d}"
        self.seed = seed
        setup = random.Random(f"{seed}:{self.id}:setup")
        self.rng = setup
        self.theme, cats = choose_categories(setup, index)
        self.shop = setup.choice(SHOP_NAMES[self.theme])
        # Half the stores log their bot's messages; none when kefu's own bot is to answer.
        self.has_bot = logged_bots and index % 2 == 0
        self.products = build_catalogue(setup, self.id, self.theme, cats)
        self.by_id = {p.id: p for p in self.products}
        self.listed = [p for p in self.products if p.status != "off_sale"]
        self.by_cat: dict[str, list[Product]] = {c: [] for c in cats}
        for p in self.listed:
            self.by_cat[p.category].append(p)
        main = [c for c in cats if c in THEMES[self.theme] and self.by_cat[c]]
        main = main or [c for c in cats if self.by_cat[c]]  # every main variant off sale
        self.team = build_team(setup, self.id, self.shop, self.theme, buyers)
        self.people = Population(setup, self.id, max(1, buyers), main)
        self.log = Log(sink, self.id)
        self.emit = self.log
        self.agenda: list[tuple[int, int, str, tuple[Any, ...]]] = []
        self.n_scheduled = 0
        self.orders = 0
        self.last_agent: dict[int, tuple[Agent, int]] = {}
        self.day_start = 0
        self.today = date(2000, 1, 1)

    def complements(self, p: Product) -> list[Product]:
        """On-sale products of the categories that go with `p`'s."""
        return [q for c in CATEGORIES[p.category].complements for q in self.by_cat.get(c, ())
                if q.status == "on_sale"]  # fmt: skip

    def schedule(self, t: int, kind: str, *payload: Any) -> None:
        """Put something on the agenda at epoch second `t`."""
        self.n_scheduled += 1
        heapq.heappush(self.agenda, (t, self.n_scheduled, kind, payload))

    def begin_day(self, day: int, today: date, day_start: int) -> None:
        """Fresh RNG, the catalogue and team on day 0, today's shifts and visits."""
        self.rng = random.Random(f"{self.seed}:{self.id}:{day}")
        self.log.new_day(day)
        self.today, self.day_start = today, day_start
        if day == 0:
            for p in self.products:
                self.emit(day_start, "product", **p.event())
            for a in self.team:
                self.emit(day_start, "agent", **a.event())
            for i, (q, answer, kws) in enumerate(FAQ):
                self.emit(day_start, "faq", faq=f"{self.id}-faq{i + 1}", question=q,
                          answer=answer, keywords=list(kws))  # fmt: skip
        plan_shifts(self.rng, self.team, day_start, self.emit)
        for t, b in self.people.arrivals(self.rng, day_start, day_factor(today)):
            self.schedule(t, "visit", b)

    def run_until(self, end: int) -> None:
        """Everything on the agenda before epoch second `end`, in time order."""
        agenda = self.agenda
        while agenda and agenda[0][0] < end:
            t, _, kind, payload = heapq.heappop(agenda)
            if kind == "visit":
                self.visit(payload[0], t)
            elif kind == "postsale":
                self.postsale(t, *payload)
            elif kind == "remind":
                b, order, amount, agent = payload
                orders.remind(self, b, order, amount, agent, t)
            elif kind == "restock":
                orders.restock(self, payload[0], t)
            elif kind == "proactive":
                self.proactive(t, *payload)

    def visit(self, b: int, t: int) -> None:
        """A visit: browse, maybe chat, maybe order; carts left behind may draw an agent."""
        rng, people = self.rng, self.people
        if not people.seen[b]:
            people.seen[b] = 1
            profile(self, b, t)
        v = browse(self, b, t)
        if v.carted:
            people.carts.setdefault(b, []).extend(v.carted)
        if not v.viewed:
            return
        u = people.intent[b]
        focus = v.viewed[0]
        outcome = None
        end = v.end
        if rng.random() < 0.03 + 0.45 * u:  # keen buyers ask (hand-set: 16 % on average)
            outcome = chat.presale(self, b, focus, end + rng.randint(5, 60))
            end = max(end, outcome.end)
            end = self._look_at(b, outcome, end, v)
        carted = bool(v.carted) or bool(people.carts.get(b))
        if rng.random() < orders.order_chance(v.views, intent_scale(u), carted, outcome):
            items = [focus, *v.carted, *people.carts.get(b, [])[:2]]
            if outcome is not None:
                items += [p for p in outcome.recommended if rng.random() < 0.35]
            agent = outcome.agent.id if outcome is not None and outcome.agent else None
            orders.place(self, b, items, orders.order_delay(self, v, end), agent)
        elif v.carted and outcome is None and rng.random() < 0.15:
            self.schedule(end + rng.randint(10, 90) * MIN, "proactive", b, v.carted[0].id, v)

    def _look_at(self, b: int, outcome: chat.Outcome, t: int, v: Visit) -> int:
        """The buyer opens some of the cards an agent sent (views from chat)."""
        rng = self.rng
        buyer = self.people.buyer(b)
        liked = False
        for p in outcome.recommended:
            if rng.random() < 0.5:
                t += rng.randint(5, 60)
                self.emit(t, "view", buyer=buyer, product=p.id, source="chat", carrier="card",
                          dwell_s=round(rng.uniform(5, 90), 1))  # fmt: skip
                v.views += 1
                liked = liked or rng.random() < 0.3
        if liked and outcome.agent is not None:
            t += rng.randint(5, 60)
            self.emit(t, "message", buyer=buyer, sender="buyer", text=rng.choice(BUYER_LIKES))
        return t

    def proactive(self, t: int, b: int, product: str, v: Visit) -> None:
        """An agent follows up a cart left behind; a reply makes an order more likely."""
        p = self.by_id[product]
        outcome = chat.proactive(self, b, p, t)
        if outcome is None or p.status != "on_sale":
            return
        chance = orders.order_chance(v.views, intent_scale(self.people.intent[b]), True, outcome)
        if self.rng.random() < chance:
            at = outcome.end + self.rng.randint(2, 60) * MIN
            orders.place(self, b, [p], at, outcome.agent.id if outcome.agent else None)

    def postsale(self, t: int, b: int, order: str, kind: str, case: bool, product: str) -> None:
        """A question about a paid order; an after-sales case opens after it when `case`."""
        outcome = chat.postsale(self, b, kind, self.by_id[product], t)
        if case:
            orders.aftersale(self, b, order, max(t, outcome.end))
