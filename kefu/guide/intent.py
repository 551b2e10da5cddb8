"""Purchase intent from behaviour and chat — the documented rule-based score.

Used by the urge and the guide until a trained model exists (and as its fallback). Signals
of the last 24 h, each capped so no single one dominates:

| signal | points |
|---|---|
| a product card sent in chat | 0.30 |
| questions on size, stock, price, delivery, discount (per kind) | 0.10 each, max 0.30 |
| views of the same product beyond the first | 0.05 each, max 0.15 |
| added to cart | 0.30 |
| favourited | 0.15 |

The score is the sum clamped to [0, 1]. Per product, the same signals restricted to that
product rank the buyer's candidates ("the one with the highest intent").
"""

from __future__ import annotations

import re

import msgspec

from kefu.engine import events as ev
from kefu.engine.actions import Action
from kefu.engine.core import Capability, Ctx
from kefu.engine.state import StoreState

DAY_MS = 86_400_000
QUESTION_KINDS: dict[str, tuple[str, ...]] = {
    "size": ("尺码", "尺寸", "多大", "大小", "码数", "size", "身高", "体重"),
    "stock": ("有货", "库存", "现货", "缺货", "stock", "还有吗"),
    "price": ("价格", "多少钱", "便宜", "优惠", "price", "贵"),
    "delivery": ("发货", "快递", "物流", "几天到", "包邮", "delivery", "shipping"),
    "discount": ("优惠券", "折扣", "满减", "活动", "discount", "coupon", "减"),
}


class ProductSignals(msgspec.Struct, kw_only=True):
    """What one buyer did with one product, with the latest time of each."""

    card: int = 0
    views: int = 0
    cart: int = 0
    favorite: int = 0
    last: int = 0


class BuyerSignals(msgspec.Struct, kw_only=True):
    """A buyer's recent signals in one store."""

    products: dict[str, ProductSignals] = msgspec.field(default_factory=dict)
    questions: dict[str, int] = msgspec.field(default_factory=dict)  # kind -> last time
    last: int = 0


def signals(st: StoreState) -> dict[str, BuyerSignals]:
    """The store's buyer-signal table (kept in the state, so snapshots carry it)."""
    table: dict[str, BuyerSignals] | None = st.ext.get("signals")
    if table is None:
        table = st.ext["signals"] = {}
    return table


def _buyer(st: StoreState, buyer: str, now: int) -> BuyerSignals:
    table = signals(st)
    b = table.get(buyer)
    if b is None:
        b = table[buyer] = BuyerSignals()
    elif now - b.last > DAY_MS:
        b.products.clear()
        b.questions.clear()
    b.last = now
    return b


def _product(b: BuyerSignals, product: str, now: int) -> ProductSignals:
    p = b.products.get(product)
    if p is None or now - p.last > DAY_MS:
        p = b.products[product] = ProductSignals()
    p.last = now
    return p


def product_score(p: ProductSignals) -> float:
    """Intent points from one product's signals."""
    return (
        (0.30 if p.card else 0.0)
        + min(0.15, 0.05 * max(0, p.views - 1))
        + (0.30 if p.cart else 0.0)
        + (0.15 if p.favorite else 0.0)
    )


def score(st: StoreState, buyer: str, now: int) -> float:
    """The buyer's purchase intent in [0, 1] from the last 24 h of signals."""
    b = signals(st).get(buyer)
    if b is None:
        return 0.0
    fresh = [p for p in b.products.values() if now - p.last <= DAY_MS]
    total = (
        (0.30 if any(p.card for p in fresh) else 0.0)
        + min(0.30, 0.10 * sum(1 for t in b.questions.values() if now - t <= DAY_MS))
        + min(0.15, 0.05 * sum(max(0, p.views - 1) for p in fresh))
        + (0.30 if any(p.cart for p in fresh) else 0.0)
        + (0.15 if any(p.favorite for p in fresh) else 0.0)
    )
    return round(min(1.0, total), 4)


def best_card(st: StoreState, buyer: str, now: int) -> str | None:
    """Among products the buyer sent as cards in the last 24 h, the highest-intent one."""
    b = signals(st).get(buyer)
    if b is None:
        return None
    cards = [(product_score(p), p.last, pid) for pid, p in b.products.items()
             if p.card and now - p.last <= DAY_MS]  # fmt: skip
    if not cards:
        return None
    return max(cards)[2]


_KIND_OF = {w: k for k, words in QUESTION_KINDS.items() for w in words}
_QUESTION = re.compile("|".join(sorted(map(re.escape, _KIND_OF), key=len, reverse=True)))


def question_kinds(text: str) -> list[str]:
    """Which kinds of buying questions `text` asks (one regex pass over the text)."""
    found = {_KIND_OF[m.group(0)] for m in _QUESTION.finditer(text.lower())}
    return [k for k in QUESTION_KINDS if k in found]


def on_message(st: StoreState, e: ev.Message, ctx: Ctx) -> list[Action] | None:
    """Buyer cards and buying questions raise intent."""
    if e.sender != "buyer":
        return None
    b = _buyer(st, e.buyer, ctx.now)
    for pid in [e.product] if e.product else (e.products or []):
        _product(b, pid, ctx.now).card += 1
    for kind in question_kinds(e.text):
        b.questions[kind] = ctx.now
    return None


def on_view(st: StoreState, e: ev.View, ctx: Ctx) -> list[Action] | None:
    """A product page visit."""
    _product(_buyer(st, e.buyer, ctx.now), e.product, ctx.now).views += 1
    return None


def on_cart(st: StoreState, e: ev.CartAdd, ctx: Ctx) -> list[Action] | None:
    """Added to cart."""
    _product(_buyer(st, e.buyer, ctx.now), e.product, ctx.now).cart += 1
    return None


def on_favorite(st: StoreState, e: ev.Favorite, ctx: Ctx) -> list[Action] | None:
    """Favourited."""
    _product(_buyer(st, e.buyer, ctx.now), e.product, ctx.now).favorite += 1
    return None


CAPABILITY = Capability(
    name="intent",
    events={"message": on_message, "view": on_view, "cart.add": on_cart, "favorite": on_favorite},
)
