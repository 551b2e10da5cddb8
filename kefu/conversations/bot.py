"""The store bot: answers a buyer from the store's FAQ, its products' attributes or the card.

The rules stay pure: the search index is derived from `StoreState.faq` and the products'
attributes, and cached by the state's `faq_rev` (a content hash chained over every FAQ change)
and a hash of the attributes — two states with the same FAQ history share one index, and a
changed FAQ can never be answered from a stale one.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import msgspec

from kefu.engine.events import Faq
from kefu.engine.state import FaqEntry, StoreState
from kefu.faq.answer import Answer
from kefu.faq.index import FaqIndex

_CACHE_SIZE = 32
_ENC = msgspec.json.Encoder()
_indexes: OrderedDict[tuple[str, int, float], FaqIndex] = OrderedDict()


def apply_faq(st: StoreState, e: Faq) -> None:
    """Upsert or remove an entry and advance the state's FAQ revision."""
    if e.enabled:
        st.faq[e.faq] = FaqEntry(
            faq=e.faq,
            question=e.question,
            answer=e.answer,
            keywords=list(e.keywords or []),
            variants=list(e.variants or []),
            related=list(e.related or []),
        )
    else:
        st.faq.pop(e.faq, None)
    change = msgspec.json.encode(st.faq.get(e.faq)) + e.faq.encode()
    st.faq_rev = hashlib.blake2b(st.faq_rev.encode() + change, digest_size=12).hexdigest()


def catalogue_key(st: StoreState) -> int:
    """A hash of what the index reads from the store's products (titles and attributes, not
    stock or price): the index is rebuilt when a product's facts change."""
    return hash(tuple((pid, p.title, _ENC.encode(p.attrs)) for pid, p in sorted(st.products.items())
                      if p.attrs))  # fmt: skip


def index(st: StoreState, threshold: float) -> FaqIndex:
    """The store's FAQ and product-attribute index at its current revision (built once)."""
    key = (st.faq_rev, catalogue_key(st), threshold)
    idx = _indexes.get(key)
    if idx is None:
        entries = [st.faq[k] for k in sorted(st.faq)]
        products = [msgspec.structs.asdict(st.products[k]) for k in sorted(st.products)
                    if st.products[k].attrs]  # fmt: skip
        idx = FaqIndex.build(entries, threshold=threshold, products=products)
        _indexes[key] = idx
        while len(_indexes) > _CACHE_SIZE:
            _indexes.popitem(last=False)
    else:
        _indexes.move_to_end(key)
    return idx


def answer(
    st: StoreState, text: str, product: str | None = None, threshold: float = 0.5
) -> Answer | None:
    """The bot's answer to `text`: `FaqIndex.answer`, the same path as `kefu faq ask` and the
    first suggestion of smart assist — the product card first when it asks about it, then the
    FAQ and the products' attributes, then a keyword the store typed (as a whole word).

    None when nothing matches at all; an answer with `confident=False` when the best match
    is below `threshold` (the bot says it is unsure and offers the person button).
    """
    card = st.products.get(product) if product else None
    as_dict = msgspec.structs.asdict(card) if card is not None else None
    if not st.faq and not st.products:
        return None
    return index(st, threshold).answer(text, product=as_dict)
