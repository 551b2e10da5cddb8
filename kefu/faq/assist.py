"""Smart assist for agents: suggested replies, and quick replies (快捷短语) with shortcuts.

Suggestions come from two places: the store's FAQ and the replies agents gave in past
conversations that were not rated badly (the same pairs `learn` mines, without waiting for
a supervisor). The agent picks or edits one; nothing is sent on its own.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kefu.faq.index import FaqIndex, FaqItem, as_item
from kefu.faq.learn import QA, Chat, good_pairs
from kefu.faq.text import signature

HISTORY_PREFIX = "history-"
FAQ_BONUS = 0.05  # on a near tie the store's own FAQ wording wins over a past reply


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A reply the agent may send: its text, where it comes from and how well it fits."""

    text: str
    source: str  # faq | history
    score: float
    ref: str  # FAQ id, or history-<n> for a past reply
    question: str = ""  # the FAQ variant or past buyer question that matched


def history_items(pairs: Iterable[QA], max_variants: int = 100) -> list[FaqItem]:
    """Past replies as index entries: one per distinct reply, its questions as variants."""
    groups: dict[str, list[QA]] = defaultdict(list)
    for qa in pairs:
        sig = signature(qa.answer)
        if sig:
            groups[sig].append(qa)
    items: list[FaqItem] = []
    for n, (_sig, qas) in enumerate(sorted(groups.items(), key=lambda kv: -len(kv[1]))):
        answer = Counter(qa.answer for qa in qas).most_common(1)[0][0]
        questions = [q for q, _ in Counter(qa.question for qa in qas).most_common(max_variants)]
        items.append(FaqItem(f"{HISTORY_PREFIX}{n}", questions[0], answer,
                             variants=tuple(questions[1:]), weight=float(len(qas))))  # fmt: skip
    return items


@dataclass
class Assistant:
    """Suggested replies for the buyer's latest message, from FAQ and past good replies.

    `bot` is the store bot's own index (the engine's `kefu.conversations.bot.index`): when it
    would answer the text confidently, that answer is the first suggestion, so the bot, the
    agent's first suggestion and `kefu faq ask` never disagree.
    """

    index: FaqIndex
    bot: FaqIndex | None = None

    @classmethod
    def build(cls, faq: Iterable[Any] = (), history: Iterable[Chat] = ()) -> Assistant:
        """An assistant over FAQ entries and the conversations to learn past replies from."""
        entries = [as_item(e) for e in faq]
        items = entries + history_items(good_pairs(history))
        return cls(FaqIndex.build(items, vote=True, prior=0.3, pool=100), FaqIndex.build(entries))

    def suggest(self, text: str, k: int = 3) -> list[Suggestion]:
        """The top-k distinct replies for `text`, best first (the bot's confident answer first)."""
        out: list[Suggestion] = []
        seen: set[str] = set()
        said = self.bot.answer(text) if self.bot is not None and len(self.bot) else None
        if said is not None and said.confident:
            seen.add(signature(said.text))
            out.append(Suggestion(said.text, "faq" if said.source != "product" else "product",
                                  round(said.score, 4), said.faq, said.question))  # fmt: skip
        hits = self.index.search(text, k=k * 4)
        ranked = sorted(
            hits,
            key=lambda h: (
                -(h.score + (0.0 if h.item.faq.startswith(HISTORY_PREFIX) else FAQ_BONUS))
            ),
        )
        for h in ranked:
            sig = signature(h.item.answer)
            if sig in seen:
                continue
            seen.add(sig)
            source = "history" if h.item.faq.startswith(HISTORY_PREFIX) else "faq"
            out.append(Suggestion(h.item.answer, source, round(h.score, 4), h.item.faq, h.variant))
            if len(out) >= k:
                break
        return out[:k]


class QuickReplyError(ValueError):
    """A quick reply that cannot be saved (empty text, bad shortcut)."""


@dataclass
class QuickReplies:
    """One store's quick replies (快捷短语): store-wide ones and each agent's own.

    A shortcut such as `/fh` expands to its text; an agent's own shortcut hides the store's
    one of the same name for that agent only.
    """

    store: dict[str, str] = field(default_factory=dict)
    agents: dict[str, dict[str, str]] = field(default_factory=dict)

    def add(self, shortcut: str, text: str, agent: str | None = None) -> None:
        """Save a quick reply for the store (agent None) or for one agent."""
        key = shortcut.strip()
        if not key or any(c.isspace() for c in key):
            raise QuickReplyError("a shortcut is one word without spaces, like /fh")
        if not text.strip():
            raise QuickReplyError("a quick reply needs text")
        (self.store if agent is None else self.agents.setdefault(agent, {}))[key] = text

    def remove(self, shortcut: str, agent: str | None = None) -> bool:
        """Delete a quick reply; False when there was none."""
        table = self.store if agent is None else self.agents.get(agent, {})
        return table.pop(shortcut.strip(), None) is not None

    def visible(self, agent: str | None = None) -> dict[str, str]:
        """Every shortcut this agent can use, their own ones winning."""
        return {**self.store, **(self.agents.get(agent, {}) if agent else {})}

    def expand(self, shortcut: str, agent: str | None = None) -> str | None:
        """The text of a shortcut for this agent, or None."""
        return self.visible(agent).get(shortcut.strip())

    def complete(self, prefix: str, agent: str | None = None) -> list[tuple[str, str]]:
        """(shortcut, text) of the shortcuts starting with `prefix`, sorted."""
        return sorted((k, v) for k, v in self.visible(agent).items() if k.startswith(prefix))
