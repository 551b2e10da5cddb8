"""Orders and what follows them: payment or cancellation, stock, after-purchase chats, 售后.

Whether a visit ends in an order depends on intent (views, carts, an agent's card) and on the
service the buyer got: fast answers convert better, slow or missing ones worse. Baskets hold
the inquired item, the visit's carted items and some of the agent's recommendations; units
per line follow the UCI sample (dear items bought singly).
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING, Any

from kefu.sim import calibration as cal
from kefu.sim.catalogue import CATEGORIES, Product, stock_level
from kefu.sim.texts import PAY_REMINDER

if TYPE_CHECKING:
    from kefu.sim.buyers import Visit
    from kefu.sim.chat import Outcome
    from kefu.sim.store import Store

MIN = 60
HOUR = 3600
DAY = 86_400
# Calibrated once so that orders per product view come out near the Taobao sample's 1.96 %
# over a typical run (see docs/simulator.md for the measured figure).
BUY_SCALE = 0.40
CART_BOOST = 3.0  # carting in this visit (or coming back to the cart) triples the odds
PAID_SHARE = 0.88  # hand-set: most orders are paid, some minutes to hours later
_QTY = (1, 2, 3)
_QTY_CUM = tuple(itertools.accumulate(cal.QTY_WEIGHTS))
_QTY_CUM_DEAR = tuple(itertools.accumulate(
    (cal.QTY_WEIGHTS[0] * cal.QTY1_BOOST_DEAR, *cal.QTY_WEIGHTS[1:])))  # fmt: skip
_POSTSALE_KINDS = list(cal.POSTSALE_KIND_WEIGHTS)
_POSTSALE_CUM = list(itertools.accumulate(cal.POSTSALE_KIND_WEIGHTS.values()))


def order_chance(views: int, intent_scale: float, carted: bool, chat: Outcome | None) -> float:
    """Probability that a visit ends in an order."""
    p = cal.BUY_PER_VIEW * views * intent_scale * BUY_SCALE
    if carted:
        p *= CART_BOOST
    if chat is not None:
        p *= 2.0 + 1.5 * chat.service + 0.5 * bool(chat.recommended)
    return min(0.9, max(0.0, p))


def order_delay(st: Store, visit: Visit, after: int) -> int:
    """When the order comes: first view -> purchase as in the Taobao sample, within 20 h."""
    rng = st.rng
    delay = cal.VIEW_TO_BUY_MEDIAN_S * math.exp(rng.gauss(0.0, cal.VIEW_TO_BUY_SIGMA))
    return max(after + rng.randint(20, 120), visit.first_view + int(min(delay, 20 * HOUR)))


def place(st: Store, b: int, items: list[Product], t: int, agent: str | None) -> None:
    """The order, then its payment (or a reminder and maybe a cancellation) and aftermath."""
    rng, emit = st.rng, st.emit
    lines: list[dict[str, Any]] = []
    seen: list[str] = []
    for p in items:
        if p.id in seen or p.status != "on_sale" or p.stock <= 0:
            continue
        seen.append(p.id)
        cum = _QTY_CUM_DEAR if p.dear else _QTY_CUM
        qty = min(p.stock, rng.choices(_QTY, cum_weights=cum)[0])
        lines.append({"product": p.id, "qty": qty, "price": p.price})
        _sell(st, p, qty, t)
    if not lines:
        return
    st.orders += 1
    order = f"{st.id}-o{st.orders}"
    buyer = st.people.buyer(b)
    amount = round(sum(x["qty"] * x["price"] for x in lines), 2)
    emit(t, "order", order=order, buyer=buyer, items=lines, amount=amount)
    st.people.ordered[b] = 1
    cart = st.people.carts.get(b)
    if cart:
        cart[:] = [p for p in cart if p.id not in seen]
    if rng.random() < PAID_SHARE:
        paid = t + int(min(20 * HOUR, 90 * math.exp(rng.gauss(0.0, 1.5))))
        emit(paid, "payment", order=order, amount=amount, buyer=buyer)
        _after_payment(st, b, order, items[0], paid)
    elif (agent is not None and rng.random() < 0.5) or rng.random() < 0.15:
        st.schedule(t + rng.randint(20, 60) * MIN, "remind", b, order, amount, agent)
    elif rng.random() < 0.6:
        emit(t + rng.randint(1 * HOUR, 24 * HOUR), "order.cancel", order=order)


def remind(st: Store, b: int, order: str, amount: float, agent: str | None, t: int) -> None:
    """催付: an agent reminds the buyer of the unpaid order; some pay, some cancel later."""
    rng, emit = st.rng, st.emit
    buyer = st.people.buyer(b)
    online = [a.id for a in st.team if a.role != "assistant" and a.online(t)]
    if not online:
        return
    sender = agent if agent in online else online[0]
    emit(t, "message", buyer=buyer, sender="agent", agent=sender, text=PAY_REMINDER)
    if rng.random() < 0.35:
        emit(t + rng.randint(2, 60) * MIN, "payment", order=order, amount=amount, buyer=buyer)
    elif rng.random() < 0.6:
        emit(t + rng.randint(1 * HOUR, 24 * HOUR), "order.cancel", order=order)


def _sell(st: Store, p: Product, qty: int, t: int) -> None:
    """Stock goes down; at zero the product is out of stock until restocked tomorrow morning."""
    p.stock -= qty
    if p.stock > 0:
        return
    p.status = "out_of_stock"
    st.emit(t, "product", **p.event())
    tomorrow = st.day_start + DAY
    st.schedule(max(t + HOUR, tomorrow + st.rng.randint(9 * HOUR, 11 * HOUR)), "restock", p.id)


def restock(st: Store, product: str, t: int) -> None:
    """New stock arrives: the product is on sale again."""
    p = st.by_id[product]
    p.stock = stock_level(st.rng)
    p.status = "on_sale"
    st.emit(t, "product", **p.event())


def _after_payment(st: Store, b: int, order: str, product: Product, paid: int) -> None:
    """Some paid orders bring a question days later; a few an after-sales case (more in clothes)."""
    rng = st.rng
    returns = 0.06 if CATEGORIES[product.category].apparel else 0.03
    r = rng.random()
    if r < returns:
        kind, case = "after", True
    elif r < returns + 0.08:
        kind, case = rng.choices(_POSTSALE_KINDS, cum_weights=_POSTSALE_CUM)[0], False
    else:
        return
    days = rng.randint(1, 5) if case else rng.randint(0, 3)
    day = st.day_start + (paid - st.day_start) // DAY * DAY + days * DAY
    at = max(paid + 10 * MIN, day + rng.randint(9 * HOUR, 22 * HOUR))
    st.schedule(at, "postsale", b, order, kind, case, product.id)


def aftersale(st: Store, b: int, order: str, t: int) -> None:
    """The after-sales case: opened after the chat, closed 1-5 days later."""
    rng = st.rng
    buyer = st.people.buyer(b)
    opened = t + rng.randint(2, 30) * MIN
    st.emit(opened, "aftersale.open", buyer=buyer, order=order)
    st.emit(opened + rng.randint(1, 5) * DAY + rng.randint(0, 8) * HOUR, "aftersale.close",
            buyer=buyer, order=order)  # fmt: skip
