"""Urge copy: the store's text for the product, a generated line, or the generic text.

`generated` is deterministic and offline: the product's title, up to two attributes (size,
colour, material …) and the two points most buyers praised in its reviews
(`kefu.urge.reviews`), in a fixed template.
"""

from __future__ import annotations

from kefu.engine.settings import UrgeSection
from kefu.engine.state import StoreState
from kefu.urge.reviews import points

MAX_LEN = 120


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
    text = s.generic_text
    if p is not None and s.copy == "item" and p.urge_text:
        text = p.urge_text
    elif p is not None and s.copy == "generated" and p.title:
        text = generated_text(p.title, p.attrs, points(st, p.product))
    return text if len(text) <= MAX_LEN else text[: MAX_LEN - 1] + "…"
