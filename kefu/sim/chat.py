"""Conversations: pre-sale questions, the bot first, transfers, agents' rounds, proactive chats.

A round is a buyer message and the agent's answer. Its length is the agent's own speed,
slowed by the chats already open, plus a queue wait when every agent of the group is full;
now and then the agent misses a message (the buyer nudges: 在吗？) or never answers. The
outcome's `service` (+1 fast … -1 unanswered) drives the buyer's rating and their order.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kefu.sim import calibration as cal
from kefu.sim.agents import Agent, next_online, route
from kefu.sim.catalogue import CATEGORIES, COLOURS, Product
from kefu.sim.texts import (
    AGENT,
    AGENT_BYE,
    AGENT_HELLO,
    AGENT_SIMILAR,
    AGENT_SORRY,
    BOT_MISS,
    BUYER_ACKS,
    BUYER_PROACTIVE_REPLIES,
    FAQ,
    GREETINGS,
    NUDGES,
    POSTSALE,
    POSTSALE_REPLY,
    PRESALE,
    PROACTIVE,
    RECOMMEND,
    TYPED_TRANSFER,
)

if TYPE_CHECKING:
    from kefu.sim.store import Store

SESSION_TIMEOUT_S = 30 * 60  # kefu's default: a chat nobody closes frees the agent then
OTHER_KIND_WEIGHT = 400  # "is it genuine / which one is better" (hand-set; no JD family)
# Rating by the service a buyer got (hand-set): fast answers get fives, slow ones spread out.
RATING_WEIGHTS = {1.0: (0, 0, 5, 20, 75), 0.7: (0, 2, 8, 30, 60), 0.3: (2, 5, 18, 40, 35),
                  -0.5: (15, 20, 30, 25, 10)}  # fmt: skip
_KIND_TABLES: dict[tuple[bool, bool, bool], tuple[list[str], list[float]]] = {}
READY_KINDS = ("size", "stock", "delivery")  # asked by a buyer about to order


@dataclass
class Outcome:
    """How a conversation went, for the order decision that follows."""

    agent: Agent | None = None
    service: float = 0.0  # +1 fast answers … -1 nobody answered
    recommended: list[Product] = field(default_factory=list)
    end: int = 0


def question_kind(rng: random.Random, p: Product, keen: float = 0.0) -> str:
    """A pre-sale question kind in JD's proportions (sizes in clothes, stock when sold out);
    with probability `keen` a ready-to-buy one: size, stock or delivery."""
    key = (CATEGORIES[p.category].apparel, p.status != "on_sale", rng.random() < keen)
    table = _KIND_TABLES.get(key)
    if table is None:
        weights = dict(cal.PRESALE_KIND_WEIGHTS, other=OTHER_KIND_WEIGHT)
        if key[0]:
            weights["size"] *= cal.APPAREL_SIZE_BOOST
        if key[1]:
            weights["stock"] *= 5
        if key[2]:
            weights = {k: w for k, w in weights.items() if k in READY_KINDS}
        table = _KIND_TABLES[key] = (list(weights), list(itertools.accumulate(weights.values())))
    kinds, cum = table
    kind = rng.choices(kinds, cum_weights=cum)[0]
    return "size_other" if kind == "size" and not key[0] else kind


def fill(rng: random.Random, template: str, p: Product | None, name: str = "") -> str:
    """A template with its blanks filled: height, weight, size, colour, title, agent name."""
    if "{" not in template:
        return template
    h = rng.randint(150, 185)
    size = "S" if h < 158 else "M" if h < 165 else "L" if h < 172 else "XL"
    colour = p.attrs.get("颜色") if p is not None else None
    title = p.title if p is not None else "宝贝"
    colour = colour or rng.choice(COLOURS)
    return template.format(h=h, w=rng.randint(85, 160), size=size, title=title, colour=colour,
                           name=name.split(":")[-1])  # fmt: skip


def presale(st: Store, b: int, focus: Product, t: int) -> Outcome:
    """A browsing buyer asks about `focus`: maybe a greeting, the question, the bot, a person."""
    rng, emit = st.rng, st.emit
    buyer = st.people.buyer(b)
    u = st.people.intent[b]
    kind = question_kind(rng, focus, u)
    if rng.random() < cal.GREETING_SHARE:
        emit(t, "message", buyer=buyer, sender="buyer", text=rng.choice(GREETINGS))
        t += rng.randint(3, 15)
    card = {"product": focus.id} if rng.random() < 0.35 + 0.9 * u else {}  # 60 % on average
    text = fill(rng, rng.choice(PRESALE[kind]), focus)
    emit(t, "message", buyer=buyer, sender="buyer", text=text, **card)
    if st.has_bot:
        handed, t = _bot(st, buyer, text, t)
        if handed != "handed":
            return Outcome(service=0.3 if handed == "answered" else -0.3, end=t)
    elif rng.random() < cal.TYPED_TRANSFER_SHARE:
        t += rng.randint(2, 10)
        emit(t, "message", buyer=buyer, sender="buyer", text=rng.choice(TYPED_TRANSFER))
    return talk(st, b, focus, kind, t, "售前")


def postsale(st: Store, b: int, kind: str, product: Product, t: int) -> Outcome:
    """A buyer with a paid order asks about it: tracking, changes, after-sales, invoices."""
    rng = st.rng
    buyer = st.people.buyer(b)
    card = {"product": product.id} if rng.random() < 0.3 else {}
    text = rng.choice(POSTSALE[kind])
    st.emit(t, "message", buyer=buyer, sender="buyer", text=text, **card)
    if st.has_bot:
        handed, t = _bot(st, buyer, text, t)
        if handed != "handed":
            return Outcome(service=0.3 if handed == "answered" else -0.3, end=t)
    return talk(st, b, product, kind, t, "售后", post=True)


def _bot(st: Store, buyer: str, text: str, t: int) -> tuple[str, int]:
    """The store's bot answers first; the buyer is satisfied, leaves, or asks for a person."""
    rng, emit = st.rng, st.emit
    t += rng.randint(1, 3)
    answer = next((a for _, a, kws in FAQ if any(k in text for k in kws)), None)
    emit(t, "message", buyer=buyer, sender="bot", text=answer or BOT_MISS)
    if answer is not None and rng.random() < 0.5:
        if rng.random() < 0.5:
            t += rng.randint(5, 30)
            emit(t, "message", buyer=buyer, sender="buyer", text=rng.choice(BUYER_ACKS))
        return "answered", t
    if rng.random() < 0.12:
        return "left", t
    t += rng.randint(5, 40)
    if rng.random() < 0.8:
        emit(t, "transfer.click", buyer=buyer)
    else:
        emit(t, "message", buyer=buyer, sender="buyer", text=rng.choice(TYPED_TRANSFER))
    return "handed", t


def talk(
    st: Store, b: int, focus: Product, kind: str, t: int, group: str, post: bool = False
) -> Outcome:
    """A person takes over at `t`: rounds of answers and follow-ups, then close and rating."""
    rng, emit = st.rng, st.emit
    buyer = st.people.buyer(b)
    routed = route(st.team, group, t, st.last_agent.get(b))
    if routed is None:  # nobody online: the message waits for the next shift, or is lost
        routed = next_online(st.team, t)
        if routed is None or rng.random() < 0.5:
            return Outcome(service=-1.0, end=t)
    agent, start = routed
    agent.last_assign = start
    st.last_agent[b] = (agent, t)
    patience = int(240 * math.exp(rng.gauss(0.0, 0.6)))  # how long the buyer waits (hand-set)
    asked, worst, rounds = t, 0, 0
    reply_at = start + agent.reply_delay(rng, agent.load(start))
    out = Outcome(agent=agent)
    while True:
        if rng.random() < 0.02:  # never answered: the buyer nudges and gives up
            emit(asked + patience, "message", buyer=buyer, sender="buyer", text=rng.choice(NUDGES))
            worst, t = -1, asked + patience
            break
        if rng.random() < 0.04:  # the agent missed it for a while
            reply_at += rng.randint(120, 600)
        wait = reply_at - asked
        if wait > patience:
            emit(asked + patience, "message", buyer=buyer, sender="buyer", text=rng.choice(NUDGES))
        if rounds == 0 and rng.random() < 0.3:
            hello = fill(rng, rng.choice(AGENT_HELLO), None, agent.name)
            emit(reply_at, "message", buyer=buyer, sender="agent", agent=agent.id, text=hello)
            reply_at += rng.randint(5, 20)
        answer = fill(rng, rng.choice(AGENT[POSTSALE_REPLY[kind] if post else kind]), focus)
        if wait > 180:
            answer = AGENT_SORRY + answer.removeprefix("亲，")
        emit(reply_at, "message", buyer=buyer, sender="agent", agent=agent.id, text=answer)
        worst, t, rounds = max(worst, wait), reply_at, rounds + 1
        if not post and rounds == 1:
            t = _suggest(st, buyer, agent, focus, kind, t, out)
        if wait > 3 * patience or rounds >= 4 or rng.random() > 0.45:
            break  # the buyer has left, or has no more questions
        t += rng.randint(10, 90)
        nxt = kind if post else question_kind(rng, focus, st.people.intent[b])
        card = {"product": focus.id} if rng.random() < 0.4 else {}
        text = fill(rng, rng.choice(POSTSALE[nxt] if post else PRESALE[nxt]), focus)
        emit(t, "message", buyer=buyer, sender="buyer", text=text, **card)
        asked = t
        reply_at = t + agent.reply_delay(rng, agent.load(t))
    out.service = _service(worst)
    out.end = _finish(st, buyer, agent, t, out.service)
    return out


def _suggest(st: Store, buyer: str, agent: Agent, focus: Product, kind: str, t: int,
             out: Outcome) -> int:  # fmt: skip
    """After the first answer: a similar card when sold out, or complements (after the guide)."""
    rng, emit = st.rng, st.emit
    if focus.status != "on_sale" and kind == "stock":
        alts = [p for p in st.by_cat[focus.category] if p.status == "on_sale"]
        if alts:
            alt = rng.choice(alts)
            t += rng.randint(5, 20)
            emit(t, "message", buyer=buyer, sender="agent", agent=agent.id, text=AGENT_SIMILAR,
                 product=alt.id)  # fmt: skip
            out.recommended.append(alt)
        return t
    if rng.random() < 0.3:
        comps = st.complements(focus)
        if len(comps) >= 2:  # several cards at once
            picks = rng.sample(comps, min(len(comps), rng.randint(2, 3)))
            t += rng.randint(3, 20)
            emit(t, "guide.view", agent=agent.id, buyer=buyer)
            t += rng.randint(5, 20)
            emit(t, "message", buyer=buyer, sender="agent", agent=agent.id,
                 text=rng.choice(RECOMMEND), products=[p.id for p in picks])  # fmt: skip
            out.recommended.extend(picks)
    return t


def _service(worst: int) -> float:
    """The buyer's view of the chat from its slowest round (-1: a question never answered)."""
    if worst < 0:
        return -1.0
    return 1.0 if worst <= 30 else 0.7 if worst <= 60 else 0.3 if worst <= 180 else -0.5


def _finish(st: Store, buyer: str, agent: Agent, t: int, service: float) -> int:
    """Thanks, goodbye, close, rating; the agent's slot frees at the close (or the timeout)."""
    rng, emit = st.rng, st.emit
    if service > -1 and rng.random() < 0.5:
        t += rng.randint(5, 60)
        emit(t, "message", buyer=buyer, sender="buyer", text=rng.choice(BUYER_ACKS))
        if rng.random() < 0.4:
            t += agent.reply_delay(rng, 1)
            emit(t, "message", buyer=buyer, sender="agent", agent=agent.id,
                 text=rng.choice(AGENT_BYE))  # fmt: skip
    r = rng.random()
    free = t + SESSION_TIMEOUT_S
    if r < 0.65:
        free = t + rng.randint(60, 300)
        emit(free, "conversation.close", buyer=buyer, agent=agent.id)
    elif r < 0.75:
        free = t + rng.randint(10, 120)
        emit(free, "conversation.close", buyer=buyer)
    if service > -1 and rng.random() < 0.3:
        score = rng.choices((1, 2, 3, 4, 5), weights=RATING_WEIGHTS[service])[0]
        emit(free + rng.randint(5, 60), "rating", buyer=buyer, agent=agent.id, score=score)
    heapq.heappush(agent.ends, free)
    return t


def proactive(st: Store, b: int, product: Product, t: int) -> Outcome | None:
    """An agent writes first to a buyer who carted and left (主动营销); None when nobody is free."""
    routed = route(st.team, "售前", t, st.last_agent.get(b))
    if routed is None or routed[1] > t:
        return None
    rng, emit = st.rng, st.emit
    agent = routed[0]
    buyer = st.people.buyer(b)
    agent.last_assign = t
    st.last_agent[b] = (agent, t)
    emit(t, "message", buyer=buyer, sender="agent", agent=agent.id, product=product.id,
         text=fill(rng, rng.choice(PROACTIVE), product))  # fmt: skip
    out = Outcome(agent=agent, end=t)
    if rng.random() < 0.4:
        t += rng.randint(60, 1200)
        emit(t, "message", buyer=buyer, sender="buyer", text=rng.choice(BUYER_PROACTIVE_REPLIES))
        delay = agent.reply_delay(rng, agent.load(t))
        t += delay
        kind = rng.choice(("discount", "stock", "price"))
        emit(t, "message", buyer=buyer, sender="agent", agent=agent.id,
             text=fill(rng, rng.choice(AGENT[kind]), product))  # fmt: skip
        out.service = _service(delay)
        out.end = _finish(st, buyer, agent, t, out.service)
    else:
        heapq.heappush(agent.ends, t + SESSION_TIMEOUT_S)
    return out
