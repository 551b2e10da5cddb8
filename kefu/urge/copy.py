"""Urge copy: the store's text for the product, a generated line, or the generic text.

`generated` is deterministic and offline: the product's title, up to two attributes (size,
colour, material …) and the two points most buyers praised in its reviews
(`kefu.urge.reviews`), in a fixed template.

Copy never claims what the catalogue does not say (config.md `[urge]`):
- `{stock}` in a text is replaced by the product's stock; a text with `{stock}` is unusable
  when the stock is unknown.
- A text that claims low stock (库存不多, 仅剩, 最后几件, "only … left" …) is used only when
  the product's stock is known and low (1 … LOW_STOCK units).
- A text that claims the item is in stock (还有库存, 有货, 现货 …) is not used for a product
  the catalogue lists as out of stock.
An unusable item text falls back to the generic text, and an unusable generic text to
NEUTRAL_TEXT, which claims nothing about stock.
"""

from __future__ import annotations

import re

from kefu.engine.settings import UrgeSection
from kefu.engine.state import ProductState, StoreState
from kefu.urge.reviews import points

MAX_LEN = 120
LOW_STOCK = 10  # at most this many units left: "low stock" is true
NEUTRAL_TEXT = "亲，您咨询的宝贝喜欢的话可以下单哦，有任何问题随时问我～"
_LOW_CLAIM = re.compile(
    r"库存不多|库存有限|库存紧张|库存告急|仅剩|只剩|最后\s*\d*\s*[件个份]|快(要)?(卖|抢)(完|光)|"
    r"即将(售罄|卖完|断货)|手慢无|数量有限|low stock|only \S+ left|selling out|almost gone",
    re.IGNORECASE,
)
_IN_STOCK_CLAIM = re.compile(r"还有库存|有库存|有货|现货|in stock", re.IGNORECASE)


def stock_is_low(p: ProductState | None) -> bool:
    """The catalogue says few units are left (known stock, 1 … LOW_STOCK)."""
    return p is not None and p.stock is not None and 0 < p.stock <= LOW_STOCK


def _sold_out(p: ProductState | None) -> bool:
    return p is not None and (p.status == "out_of_stock" or p.stock == 0)


def truthful(text: str, p: ProductState | None) -> str | None:
    """`text` with `{stock}` filled in, or None when it claims what the catalogue does not say."""
    if "{stock}" in text:
        if p is None or p.stock is None:
            return None
        text = text.replace("{stock}", str(p.stock))
    if _LOW_CLAIM.search(text) and not stock_is_low(p):
        return None
    if _IN_STOCK_CLAIM.search(text) and _sold_out(p):
        return None
    return text


def generated_text(
    title: str, attrs: dict[str, object] | None, praised: list[str] | None = None
) -> str:
    """A short, fixed-template urge line from the product's facts and its reviews' points."""
    facts = "，".join(f"{k}{v}" for k, v in sorted((attrs or {}).items())[:2])
    detail = f"（{facts}）" if facts else ""
    said = f"买家都说“{'、'.join(praised)}”，" if praised else ""
    return f"亲，您看中的「{title}」{detail}{said}还有库存，现在下单尽快为您发货哦"


def urge_text(st: StoreState, product: str | None, s: UrgeSection) -> str:
    """The urge's text under the store's copy setting, never longer than MAX_LEN."""
    p = st.products.get(product) if product else None
    chosen: str | None = None
    if p is not None and s.copy == "item" and p.urge_text:
        chosen = truthful(p.urge_text, p)
    elif p is not None and s.copy == "generated" and p.title:
        chosen = truthful(generated_text(p.title, p.attrs, points(st, p.product)), p)
    if chosen is None:
        chosen = truthful(s.generic_text, p) or NEUTRAL_TEXT
    text = chosen
    return text if len(text) <= MAX_LEN else text[: MAX_LEN - 1] + "…"
