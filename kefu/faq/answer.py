"""What the bot says: the `Answer` record and answers read off a product card's attributes.

A question asked next to a product card (尺码, 材质, 有货吗, 多少钱) is answered from that
product's own data before the FAQ is searched: the card is what the buyer is looking at, and a
store FAQ cannot know every item's size chart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kefu.faq.text import is_english, tokens

# Confidence of an answer read off the product's own data (a rule, not a guess).
PRODUCT_CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True)
class Answer:
    """The bot's reply: which FAQ, the text, a calibrated confidence and an optional extra.

    `confident` is False below the index threshold: the bot should say it is not sure and
    offer the person button (`handover`). `supplementary` is a second, related answer sent
    after the main one (智能补充应答) when configured.
    """

    faq: str
    text: str
    score: float
    confident: bool = True
    question: str = ""
    source: str = "faq"  # faq | product
    supplementary: str | None = None
    supplementary_faq: str | None = None

    @property
    def handover(self) -> bool:
        """True when the bot should not answer alone: say so and show the person button."""
        return not self.confident


# Attribute intents: the canonical words (text.SYNONYMS) that ask for it, and the keys of
# `attrs` that hold it, in order of preference.
ATTRIBUTES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "size": (("尺码",), ("size", "sizes", "尺码", "尺寸", "规格", "dimensions")),
    "material": (("材质",), ("material", "fabric", "材质", "面料", "成分")),
    "color": (("颜色",), ("color", "colour", "colors", "颜色", "色号")),
    "weight": (("重量", "多重", "weight"), ("weight", "重量", "净重")),
    "origin": (("产地", "哪里产", "origin"), ("origin", "产地")),
}
# An attribute key as a buyer says it (product attributes indexed as FAQ entries).
ATTRIBUTE_NAMES = {
    "material": "材质", "fabric": "面料", "size": "尺码", "sizes": "尺码", "color": "颜色",
    "colour": "颜色", "colors": "颜色", "weight": "重量", "origin": "产地",
    "dimensions": "尺寸", "capacity": "容量",
}  # fmt: skip
_LABELS = {
    "size": ("尺码", "sizes"),
    "material": ("材质", "material"),
    "color": ("颜色", "colours"),
    "weight": ("重量", "weight"),
    "origin": ("产地", "origin"),
}


def _value(v: Any) -> str:
    if isinstance(v, list | tuple):
        return "、".join(str(x) for x in v)
    if isinstance(v, dict):
        return "，".join(f"{k} {x}" for k, x in v.items())
    return str(v)


def _attr(attrs: dict[str, Any], keys: tuple[str, ...]) -> Any:
    lowered = {str(k).lower(): v for k, v in attrs.items()}
    for key in keys:
        if key in lowered and lowered[key] not in (None, "", []):
            return lowered[key]
    return None


def product_answer(text: str, product: dict[str, Any]) -> Answer | None:
    """The answer to `text` from the product's attributes, or None when it asks nothing of it.

    `product` is a ProductState as a dict (product, title, price, stock, status, attrs).
    """
    words = set(tokens(text))
    if not words:
        return None
    en = is_english(text)
    pid = str(product.get("product", ""))
    title = str(product.get("title") or pid)
    attrs = product.get("attrs") or {}
    said: list[tuple[str, str]] = []  # (intent, sentence)
    for intent, (asks, keys) in ATTRIBUTES.items():
        if not words.intersection(asks):
            continue
        value = _attr(attrs, keys)
        if value is not None:
            zh, eng = _LABELS[intent]
            said.append(
                (intent, f"the {eng} is {_value(value)}" if en else f"{zh}是{_value(value)}")
            )
    if words & {"有货", "缺货"}:
        stock_line = _stock(product, en)
        if stock_line:
            said.append(("stock", stock_line))
    if "价格" in words and product.get("price") is not None:
        price = float(product["price"])
        said.append(("price", f"the price is ¥{price:g}" if en else f"现价¥{price:g}"))
    if not said:
        return None
    intents = "+".join(i for i, _ in said)
    if en:
        body = "; ".join(s for _, s in said)
        reply = f"For {title}, {body}."
    else:
        reply = f"亲，这款「{title}」" + "，".join(s for _, s in said) + "哦~"
    return Answer(
        faq=f"product:{pid}:{intents}",
        text=reply,
        score=PRODUCT_CONFIDENCE,
        question=text,
        source="product",
    )


def _stock(product: dict[str, Any], en: bool) -> str | None:
    status = product.get("status")
    stock = product.get("stock")
    if status == "off_sale":
        return "it is no longer on sale" if en else "已经下架了"
    if status == "out_of_stock" or (stock is not None and stock <= 0):
        return "it is out of stock right now" if en else "暂时缺货"
    if stock is not None:
        return f"{stock} in stock" if en else f"现货还有{stock}件"
    if status == "on_sale":
        return "it is in stock" if en else "有现货"
    return None
