"""The store bot: answers a buyer from the store's FAQ (jieba + BM25) or the product card.

The rules stay pure: the search index is derived from `StoreState.faq` and cached by the
state's `faq_rev`, a content hash chained over every FAQ change — two states with the same
FAQ history share one index, and a changed FAQ can never be answered from a stale one.
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
_indexes: OrderedDict[tuple[str, float], FaqIndex] = OrderedDict()


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


def index(st: StoreState, threshold: float) -> FaqIndex:
    """The store's FAQ index at its current revision (built once per revision)."""
    key = (st.faq_rev, threshold)
    idx = _indexes.get(key)
    if idx is None:
        entries = [st.faq[k] for k in sorted(st.faq)]
        idx = FaqIndex.build(entries, threshold=threshold)
        _indexes[key] = idx
        while len(_indexes) > _CACHE_SIZE:
            _indexes.popitem(last=False)
    else:
        _indexes.move_to_end(key)
    return idx


def answer(
    st: StoreState, text: str, product: str | None = None, threshold: float = 0.5
) -> Answer | None:
    """The bot's answer to `text` — from the product card when it asks about it, else the FAQ.

    None when nothing matches at all; an answer with `confident=False` when the best match
    is below `threshold` (the bot says it is unsure and offers the person button).
    """
    card = st.products.get(product) if product else None
    as_dict = msgspec.structs.asdict(card) if card is not None else None
    if not st.faq and as_dict is None:
        return None
    found = index(st, threshold).answer(text, product=as_dict)
    if found is None or not found.confident:
        rule = keyword_rule(st, text)
        if rule is not None:
            return Answer(faq=rule.faq, text=rule.answer, score=1.0, question=text,
                          source="keyword")  # fmt: skip
    return found


def normalise(text: str) -> str:
    """Lower-case, without spaces and the usual trailing punctuation."""
    return "".join(text.lower().split()).strip("?？!！。.~～")


def keyword_rule(st: StoreState, text: str) -> FaqEntry | None:
    """The entry whose store-set keyword or question appears in `text` (longest first).

    A store's keywords are explicit rules (关键词回复): they answer even where retrieval is
    unsure, e.g. a one-entry FAQ where BM25 has no other document to compare against.
    """
    q = normalise(text)
    if not q:
        return None
    best: tuple[tuple[int, str], FaqEntry] | None = None
    for entry in st.faq.values():
        for k in [*entry.keywords, entry.question]:
            nk = normalise(k)
            rank = (-len(nk), entry.faq)
            if nk and nk in q and (best is None or rank < best[0]):
                best = (rank, entry)
    return best[1] if best else None
