"""The simple store bot of the Conversations capability: greets and answers from the FAQ.

Matching is deliberately plain — an exact question, then the entry whose keywords (or
question) appear in the buyer's words, longest match first. The learning FAQ bot
(jieba + BM25) replaces `answer` without changing the rules around it.
"""

from __future__ import annotations

from kefu.engine.state import FaqEntry, StoreState


def normalise(text: str) -> str:
    """Lower-case, without spaces and the usual trailing punctuation."""
    return "".join(text.lower().split()).strip("?？!！。.~～")


def answer(st: StoreState, text: str) -> FaqEntry | None:
    """The FAQ entry that answers `text`, or None when the bot does not know."""
    q = normalise(text)
    if not q:
        return None
    best: tuple[tuple[int, str], FaqEntry] | None = None
    for entry in st.faq.values():
        if normalise(entry.question) == q:
            return entry
        for k in [*entry.keywords, entry.question]:
            nk = normalise(k)
            rank = (-len(nk), entry.faq)  # the longest match wins, then the smaller id
            if nk and nk in q and (best is None or rank < best[0]):
                best = (rank, entry)
    return best[1] if best else None
