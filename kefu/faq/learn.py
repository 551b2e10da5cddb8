"""Learning FAQ entries from past conversations, and the supervisor's approval of them.

From decoded kefu events (message, rating, order) grouped into conversations, every buyer
turn followed by an agent turn is a question/answer pair. Near-duplicate questions (the same
canonical words after the synonym layer: 啥时候发货呀 = 什么时候发货) form clusters; the
frequent ones get their best agent answer — the one reused most, followed by orders, rated
well. Questions whose best answer is the same become one proposed FAQ entry with the
questions as variants and the evidence a supervisor needs. A conversation rated badly
(rating <= 2) never teaches anything.

Proposals carry a status (proposed, approved, rejected, edited); the functions at the end
change it without storage, so the REST layer only persists what they return.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import msgspec

from kefu.engine.events import Event, Message, Order, Rating
from kefu.faq.index import FaqItem
from kefu.faq.text import signature, tokens

SESSION_GAP_MS = 30 * 60 * 1000  # a buyer's messages further apart start a new conversation
ORDER_WINDOW_MS = 24 * 3600 * 1000  # an order this soon after an answer counts for it
BAD_RATING = 2  # conversations rated at or below this teach nothing
MAX_EVIDENCE = 20  # conversation ids kept as evidence per proposal

Status = Literal["proposed", "approved", "rejected", "edited"]


@dataclass
class Chat:
    """One conversation: its messages in time order, its rating and the buyer's orders."""

    id: str
    store: str
    buyer: str
    messages: list[Message] = field(default_factory=list)
    rating: int | None = None
    orders: list[int] = field(default_factory=list)  # order times (epoch ms) after it began

    @property
    def opened(self) -> int:
        """Time of the first message."""
        return int(self.messages[0].ts) if self.messages else 0

    @property
    def last(self) -> int:
        """Time of the last message."""
        return int(self.messages[-1].ts) if self.messages else 0


@dataclass(frozen=True, slots=True)
class QA:
    """A buyer turn and the agent turn that answered it, with what followed."""

    question: str
    answer: str
    conversation: str
    agent: str | None
    rating: int | None
    ordered: bool
    product: str | None = None


class Evidence(msgspec.Struct, kw_only=True):
    """Why a proposal is made: how often, by whom, how it went."""

    asked: int = 0  # buyer questions in the proposal's clusters
    uses: int = 0  # times agents gave this answer to them
    conversations: list[str] = msgspec.field(default_factory=list)
    agents: list[str] = msgspec.field(default_factory=list)
    mean_rating: float | None = None
    orders_after: int = 0
    alternatives: list[str] = msgspec.field(default_factory=list)  # other answers given


class Proposal(msgspec.Struct, kw_only=True):
    """A proposed FAQ entry and its review state (approve, edit or reject)."""

    id: str
    question: str
    answer: str
    variants: list[str] = msgspec.field(default_factory=list)
    score: float = 0.0
    status: Status = "proposed"
    evidence: Evidence = msgspec.field(default_factory=Evidence)
    decided_by: str | None = None
    decided_at: int | None = None
    note: str = ""
    learned_answer: str | None = None  # the mined answer, kept when a supervisor edits it


# ---------------------------------------------------------------- conversations from events


def group_conversations(
    events: Iterable[Event], gap_ms: int = SESSION_GAP_MS, order_window_ms: int = ORDER_WINDOW_MS
) -> list[Chat]:
    """Messages into conversations: the explicit `conversation` id, else buyer + 30-min gaps.

    A rating joins its explicit conversation or the buyer's latest one; an order joins the
    buyer's latest conversation when it comes within `order_window_ms` of its last message.
    """
    evs = sorted(
        (e for e in events if isinstance(e, Message | Rating | Order)), key=lambda e: int(e.ts)
    )
    chats: dict[tuple[str, str], Chat] = {}
    latest: dict[tuple[str, str], Chat] = {}  # (store, buyer) -> their latest conversation
    sessions: Counter[tuple[str, str]] = Counter()
    for e in evs:
        who = (e.store, e.buyer)
        if isinstance(e, Message):
            chat = _chat_of(e, chats, latest, sessions, gap_ms)
            chat.messages.append(e)
            latest[who] = chat
        elif isinstance(e, Rating):
            target = chats.get((e.store, e.conversation)) if e.conversation else None
            target = target or latest.get(who)
            if target is not None:
                target.rating = e.score  # a later rating replaces an earlier one
        else:
            last = latest.get(who)
            if last is not None and int(e.ts) - last.last <= order_window_ms:
                last.orders.append(int(e.ts))
    return [c for c in chats.values() if c.messages]


def _chat_of(
    e: Message,
    chats: dict[tuple[str, str], Chat],
    latest: dict[tuple[str, str], Chat],
    sessions: Counter[tuple[str, str]],
    gap_ms: int,
) -> Chat:
    if e.conversation is not None:
        key = (e.store, e.conversation)
        if key not in chats:
            chats[key] = Chat(e.conversation, e.store, e.buyer)
        return chats[key]
    who = (e.store, e.buyer)
    prev = latest.get(who)
    if prev is not None and int(e.ts) - prev.last <= gap_ms:
        return prev
    sessions[who] += 1
    cid = f"{e.buyer}#{sessions[who]}"
    chat = Chat(cid, e.store, e.buyer)
    chats[(e.store, f"\x00{cid}")] = chat  # never collides with an explicit id
    return chat


def read_conversations(path: str | Path) -> list[Chat]:
    """Conversations of a JSON Lines event file (read with the engine's reader)."""
    from kefu.engine.readers import read_events

    return group_conversations(read_events(path))


def qa_pairs(chat: Chat) -> Iterator[QA]:
    """Each buyer turn with the agent turn right after it (bot and system turns break pairs)."""
    msgs = chat.messages
    i = 0
    while i < len(msgs):
        if msgs[i].sender != "buyer":
            i += 1
            continue
        q: list[str] = []
        product = None
        while i < len(msgs) and msgs[i].sender == "buyer":
            if msgs[i].text.strip():
                q.append(msgs[i].text.strip())
            product = msgs[i].product or product
            i += 1
        a: list[str] = []
        agent = None
        end = 0
        while i < len(msgs) and msgs[i].sender == "agent":
            if msgs[i].text.strip():
                a.append(msgs[i].text.strip())
            agent = msgs[i].agent
            end = int(msgs[i].ts)
            i += 1
        if q and a:
            ordered = any(0 <= t - end <= ORDER_WINDOW_MS for t in chat.orders)
            yield QA("，".join(q), "，".join(a), chat.id, agent, chat.rating, ordered, product)


def good_pairs(conversations: Iterable[Chat]) -> Iterator[QA]:
    """Question/answer pairs of every conversation not rated badly."""
    for chat in conversations:
        if chat.rating is not None and chat.rating <= BAD_RATING:
            continue
        yield from qa_pairs(chat)


# ---------------------------------------------------------------- mining


def question_key(text: str) -> tuple[str, ...]:
    """Near-duplicate questions share a key: their canonical words as a sorted set."""
    return tuple(sorted(set(tokens(text))))


def answer_quality(uses: int, orders: int, ratings: list[int]) -> float:
    """How good an answer looks: reuse, then orders that followed, then ratings above 3."""
    bonus = sum(r - 3 for r in ratings) / len(ratings) if ratings else 0.0
    return uses + 2.0 * orders + 0.5 * bonus


def learn(
    conversations: Iterable[Chat],
    *,
    min_support: int = 2,
    max_variants: int = 200,
) -> list[Proposal]:
    """Proposed FAQ entries mined from conversations, most supported first.

    `min_support`: distinct conversations that must have asked a question cluster for it to
    be proposed (1 keeps every question, as the JDDC evaluation does).
    """
    by_question: dict[tuple[str, ...], list[QA]] = defaultdict(list)
    for qa in good_pairs(conversations):
        key = question_key(qa.question)
        if key and signature(qa.answer):
            by_question[key].append(qa)
    # the best answer of each frequent question cluster
    chosen: dict[str, list[tuple[tuple[str, ...], list[QA], list[str]]]] = defaultdict(list)
    for key, qas in by_question.items():
        if len({qa.conversation for qa in qas}) < min_support:
            continue
        by_answer: dict[str, list[QA]] = defaultdict(list)
        for qa in qas:
            by_answer[signature(qa.answer)].append(qa)
        ranked = sorted(by_answer.items(), key=lambda kv: (-_quality(kv[1]), kv[0]))
        best_sig, _ = ranked[0]
        others = [group[0].answer for _, group in ranked[1:4]]
        chosen[best_sig].append((key, qas, others))
    proposals = [_proposal(sig, clusters, max_variants) for sig, clusters in chosen.items()]
    proposals.sort(key=lambda p: (-p.score, p.id))
    return proposals


def _quality(group: list[QA]) -> float:
    ratings = [qa.rating for qa in group if qa.rating is not None]
    orders = sum(1 for qa in group if qa.ordered)
    return answer_quality(len({qa.conversation for qa in group}), orders, ratings)


def _proposal(
    sig: str,
    clusters: list[tuple[tuple[str, ...], list[QA], list[str]]],
    max_variants: int,
) -> Proposal:
    """One proposal: the answer `sig` chosen by these question clusters."""
    clusters.sort(key=lambda c: (-len(c[1]), c[0]))
    asked = sum(len(qas) for _, qas, _ in clusters)
    used = [qa for _, qas, _ in clusters for qa in qas if signature(qa.answer) == sig]
    # the answer's most common wording; its cluster's most common wording as the question
    answer = Counter(qa.answer for qa in used).most_common(1)[0][0]
    variants: list[str] = []
    for _, qas, _ in clusters:
        for text, _n in Counter(qa.question for qa in qas).most_common():
            if len(variants) >= max_variants:
                break
            variants.append(text)
    ratings = [qa.rating for qa in used if qa.rating is not None]
    convs = sorted({qa.conversation for qa in used})
    alternatives = list(dict.fromkeys(a for _, _, others in clusters for a in others))[:5]
    evidence = Evidence(
        asked=asked,
        uses=len(used),
        conversations=convs[:MAX_EVIDENCE],
        agents=sorted({qa.agent for qa in used if qa.agent}),
        mean_rating=round(sum(ratings) / len(ratings), 2) if ratings else None,
        orders_after=sum(1 for qa in used if qa.ordered),
        alternatives=alternatives,
    )
    return Proposal(
        id="learned-" + hashlib.sha1(sig.encode()).hexdigest()[:12],
        question=variants[0],
        answer=answer,
        variants=variants[1:],
        score=round(answer_quality(len(convs), evidence.orders_after, ratings), 3),
        evidence=evidence,
    )


# ---------------------------------------------------------------- review (approval API)


class ReviewError(ValueError):
    """A review step that the proposal's status does not allow."""


_NEXT: dict[str, frozenset[str]] = {
    "proposed": frozenset({"approved", "rejected", "edited"}),
    "edited": frozenset({"approved", "rejected", "edited"}),
    "approved": frozenset({"rejected", "edited"}),  # a supervisor may withdraw or fix it
    "rejected": frozenset({"approved"}),  # or change their mind
}


def _now(at: int | None) -> int:
    return at if at is not None else int(time.time() * 1000)


def _check(p: Proposal, to: str) -> None:
    if to not in _NEXT[p.status]:
        raise ReviewError(f"proposal {p.id} is {p.status}; it cannot become {to}")


def approve(p: Proposal, by: str, at: int | None = None) -> Proposal:
    """The proposal approved: the bot answers with it from now on."""
    _check(p, "approved")
    return msgspec.structs.replace(p, status="approved", decided_by=by, decided_at=_now(at))


def reject(p: Proposal, by: str, note: str = "", at: int | None = None) -> Proposal:
    """The proposal rejected: never answered with, and not proposed again."""
    _check(p, "rejected")
    return msgspec.structs.replace(
        p, status="rejected", decided_by=by, decided_at=_now(at), note=note
    )


def edit(
    p: Proposal,
    by: str,
    *,
    question: str | None = None,
    answer: str | None = None,
    variants: list[str] | None = None,
    at: int | None = None,
) -> Proposal:
    """The proposal with a supervisor's wording; an edited proposal answers like an approved one."""
    _check(p, "edited")
    if answer is not None and not answer.strip():
        raise ReviewError("an edited answer cannot be empty")
    return msgspec.structs.replace(
        p,
        status="edited",
        question=question if question is not None else p.question,
        answer=answer if answer is not None else p.answer,
        variants=list(variants) if variants is not None else p.variants,
        learned_answer=p.learned_answer or p.answer,
        decided_by=by,
        decided_at=_now(at),
    )


def accepted(proposals: Iterable[Proposal]) -> list[FaqItem]:
    """FAQ entries of the approved and edited proposals, ready for `FaqIndex.build`."""
    return [
        FaqItem(
            faq=p.id,
            question=p.question,
            answer=p.answer,
            variants=tuple(p.variants),
            weight=float(max(1, p.evidence.uses)),
        )
        for p in proposals
        if p.status in ("approved", "edited")
    ]


def merge(previous: Iterable[Proposal], fresh: Iterable[Proposal]) -> list[Proposal]:
    """A new learning run over earlier proposals: decisions stay, new evidence is added.

    A proposal already decided keeps its status and wording (a rejected one is not proposed
    again); an undecided one is replaced by its fresh version; new ones are appended.
    """
    old = {p.id: p for p in previous}
    out: list[Proposal] = []
    for p in fresh:
        before = old.pop(p.id, None)
        if before is None or before.status == "proposed":
            out.append(p)
        else:
            out.append(msgspec.structs.replace(before, evidence=p.evidence, score=p.score))
    out.extend(old.values())
    return out


_ENC = msgspec.json.Encoder()
_DEC = msgspec.json.Decoder(Proposal)


def write_proposals(path: str | Path, proposals: Iterable[Proposal]) -> int:
    """Write proposals as JSON Lines; returns how many."""
    n = 0
    with Path(path).open("wb") as fh:
        for p in proposals:
            fh.write(_ENC.encode(p) + b"\n")
            n += 1
    return n


def read_proposals(path: str | Path) -> list[Proposal]:
    """Proposals from a JSON Lines file written by `write_proposals`."""
    with Path(path).open("rb") as fh:
        return [_DEC.decode(line) for line in fh if line.strip()]
