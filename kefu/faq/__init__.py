"""The FAQ bot: answers from the store's FAQ (jieba + BM25), learns entries from agents'
replies for a supervisor to approve, suggests replies to agents and measures itself.

    from kefu.faq import FaqIndex
    index = FaqIndex.build(st.faq.values())
    ans = index.answer(text, product=card)   # None, or Answer(faq, text, score, ...)
    if ans is None or ans.handover: ...      # say so and offer the person button
"""

from kefu.faq.answer import Answer, product_answer
from kefu.faq.assist import Assistant, QuickReplies, Suggestion
from kefu.faq.index import FaqIndex, FaqItem, Hit, IndexCache
from kefu.faq.learn import (
    Proposal,
    ReviewError,
    accepted,
    approve,
    edit,
    group_conversations,
    learn,
    merge,
    reject,
)

__all__ = [
    "Answer",
    "Assistant",
    "FaqIndex",
    "FaqItem",
    "Hit",
    "IndexCache",
    "Proposal",
    "QuickReplies",
    "ReviewError",
    "Suggestion",
    "accepted",
    "approve",
    "edit",
    "group_conversations",
    "learn",
    "merge",
    "product_answer",
    "reject",
]
