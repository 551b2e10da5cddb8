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

import dataclasses
import hashlib
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import msgspec

from kefu.engine.events import Event, Message, Order, Rating
from kefu.faq.index import FaqItem, as_item
from kefu.faq.lexicon import words
from kefu.faq.text import bigrams, dice, signature, tokens

SESSION_GAP_MS = 30 * 60 * 1000  # a buyer's messages further apart start a new conversation
ORDER_WINDOW_MS = 24 * 3600 * 1000  # an order this soon after an answer counts for it
BAD_RATING = 2  # conversations rated at or below this teach nothing
MAX_EVIDENCE = 20  # conversation ids kept as evidence per proposal

Status = Literal["proposed", "approved", "rejected", "edited"]
Kind = Literal["entry", "variant"]
VARIANT_MATCH = 0.6  # bigram Dice of reply and FAQ answer signatures: the agent gave that answer


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
    kind: Kind = "entry"  # entry: a new FAQ entry; variant: new wordings of entry `target`
    target: str | None = None  # with kind variant: the FAQ id the wordings belong to


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


# Clauses that carry no answer: greetings, self-introductions, waiting and sign-offs. They are
# cut from agents' replies (您好，我是客服小夏，现货48小时内发货 -> 现货48小时内发货) and
# buyers' questions (在吗，什么时候发货 -> 什么时候发货) before pairs are mined.
_COURTESY = re.compile(
    r"^(?:您好+|你好+|hi|hello|哈喽|在的|在呢|在吗|在么|在不在|有人吗|"
    r"(?:您好)?我是.{0,12}|.{0,8}(?:客服|小二).{0,8}为您服务|很高兴(?:为您)?服务|"
    r"欢迎光临.{0,10}|请问有什么(?:可以|能)?(?:帮|为)您.{0,6}|"
    r"(?:请|麻烦)?(?:您)?稍等(?:一下|片刻)?|正在(?:为您)?(?:查询|核实|查看|处理).{0,6}|"
    r"好的|好滴|嗯+|恩+|哦+|噢+|收到|明白|了解|是的|对的|对|谢谢.{0,4}|感谢.{0,10}|多谢|不客气|"
    r"新年快乐|节日快乐|"
    r"还有(?:其他|别的|什么).{0,12}(?:吗|呢)|祝您.{0,12}|再见|拜拜|"
    r"有什么问题.{0,12}(?:帮|为)您.{0,10}|请问(?:您)?还有其他.{0,14}|您太客气了.{0,4}|"
    r"这都是我应该做.{0,8}|很高兴遇到.{0,16}|亲爱的|妹子|小妹|"
    r"(?:咨询)?订单(?:号|编号)[:：]?\S*|订单金额[:：]\S*|下单时间[:：]\S*|"
    r"#e-s\[[^\]]*\]|\[[^\[\]]{1,40}\])$",
    re.I,
)
_ADDRESS_ONLY = re.compile(r"^(?:亲+|亲爱的|亲亲|[，,。.!！?？~～；;\s])*$")
_CLAUSE = re.compile(r"[^，,。.!！?？~～；;\s]+[，,。.!！?？~～；;\s]*")


def substance(text: str) -> str:
    """`text` without its courtesy clauses; empty when nothing else is said."""
    keep = [c for c in _CLAUSE.findall(text.strip())
            if not _COURTESY.match(c.strip().rstrip("，,。.!！?？~～；; ").strip())]  # fmt: skip
    said = "".join(keep).strip().rstrip("，,；;")
    return "" if _ADDRESS_ONLY.match(said) else said


def qa_pairs(chat: Chat, courtesy: bool = False) -> Iterator[QA]:
    """Each buyer turn with the agent turn right after it (bot and system turns break pairs);
    courtesy clauses are cut from both sides and a side with nothing else breaks the pair."""
    msgs = chat.messages
    i = 0
    while i < len(msgs):
        if msgs[i].sender != "buyer":
            i += 1
            continue
        q: list[str] = []
        product = None
        while i < len(msgs) and msgs[i].sender == "buyer":
            said = msgs[i].text.strip() if courtesy else substance(msgs[i].text)
            if said:
                q.append(said)
            product = msgs[i].product or product
            i += 1
        a: list[str] = []
        agent = None
        end = 0
        while i < len(msgs) and msgs[i].sender == "agent":
            said = msgs[i].text.strip() if courtesy else substance(msgs[i].text)
            if said:
                a.append(said)
            agent = msgs[i].agent
            end = int(msgs[i].ts)
            i += 1
        if q and a:
            ordered = any(0 <= t - end <= ORDER_WINDOW_MS for t in chat.orders)
            yield QA("，".join(q), "，".join(a), chat.id, agent, chat.rating, ordered, product)


def good_pairs(conversations: Iterable[Chat], courtesy: bool = False) -> Iterator[QA]:
    """Question/answer pairs of every conversation not rated badly."""
    for chat in conversations:
        if chat.rating is not None and chat.rating <= BAD_RATING:
            continue
        yield from qa_pairs(chat, courtesy)


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
    faq: Iterable[Any] = (),
    on_topic_only: bool = True,
    courtesy: bool = False,
) -> list[Proposal]:
    """Proposed FAQ entries and variants mined from conversations, most supported first.

    `min_support`: distinct conversations that must have asked a question cluster for it to
    be proposed (1 keeps every question, as the JDDC evaluation does). `faq`: the store's
    entries — where an agent's reply gives an entry's answer, the buyer's wording becomes a
    proposed *variant* of that entry (one asking is enough: an agent vouched for it) instead
    of a new entry. `on_topic_only`: propose only answers that share a concept with their
    question (what a supervisor reviews); False keeps every cluster's best answer (the JDDC
    recall evaluation, where each entry is only one candidate among many). `courtesy`: keep
    greetings and sign-offs in the pairs (that evaluation again: JD agents' real replies are
    often only courtesy, and it scores replies against them).
    """
    pairs = list(good_pairs(conversations, courtesy))
    entries = [as_item(e) for e in faq]
    variants = learn_variants(pairs, entries) if entries else []
    covered = {id(qa) for qa in _answered_by_faq(pairs, entries)} if entries else set()
    proposals = [*_entries(
        [qa for qa in pairs if id(qa) not in covered], min_support, max_variants, on_topic_only
    ), *variants]  # fmt: skip
    proposals.sort(key=lambda p: (-p.score, p.id))
    return proposals


# Concepts too general to show that an answer is about its question.
_GENERIC_CONCEPTS = frozenset(["可以", "怎么", "何时", "商品", "订单", "你好", "操作", "人工"])


def on_topic(question: str, answer: str) -> bool:
    """The answer speaks of the shop topic the question asks about (a shared lexicon concept:
    价保 -> 签收7天内降价可申请差价 shares 价保; 查到没 -> 会退到您的礼品卡 shares nothing)."""
    return bool(_topics(question) & set(words(answer)))


def _topics(question: str) -> set[str]:
    from kefu.faq.lexicon import CONCEPTS

    return (set(words(question)) & CONCEPTS.keys()) - _GENERIC_CONCEPTS


_ASKS_BACK = re.compile(r"(?:[?？]|吗|什么原因|是否.{0,10}|对吧|好吗|可以吗)[\s~～。.!！]*$")
_FRAGMENT = re.compile(r"^(?:或是|或者|如果|因为|但是|不过|所以|而且|然后|那么|却)")
_PLACEHOLDERS = re.compile(r"\[[^\[\]]{1,40}\]|#E-s\S*", re.I)
# An agent's answer says something the shop knows or does: addressed to the buyer (您, 亲, the
# shop's 这边/咱们), in a service tone (哦/呢/哈), or a fact (a figure, a time, a delivery or
# refund state, a policy: 支持七天无理由退换). A reply with none of these is usually the
# buyer's words in an agent turn (刚收到 / 麻烦取消 / 胎压这个没有收到: chat logs whose turns
# were recovered by guessing).
_AGENT_VOICE = re.compile(
    r"您|亲|哦|呢|哈|滴|[~～]|请|这边|咱们|我们|我司|小妹|妹子|已经|可以|预计|工作日|"
    r"\[(?:数字|时间|金额|日期)x\]|\d|发货|现货|到账|送达|质保|退款|的[。.!！]?$|"
    r"支持|包邮|无理由|退换|运费|库存|保修|赠|送|正品",
    re.I,
)
# ...and no buyer's voice: the buyer's plans and complaints (我这个/我要/不知道/结果), a
# question or a doubt back (…吧 / …么 / 什么问题 / 哪里), or a dangling label (售后返件地址:).
_BUYER_VOICE = re.compile(
    r"我这个|我要|我想|我也(?!会)|我还|我都|我就|我没|我看|不知道|所以才|结果|说要|"
    r"[呀吧么吗][~～。.!！?？]*$|什么问题|什么原因|为什么|哪里|哪个|什么报价|怎么.{0,6}的呢|[:：]$"
)
# A clause that only apologises, wishes or asks for patience answers nothing.
_SOOTHING = re.compile(r"^(?:希望您.*|.*(?:抱歉|不便|谅解|理解|会尽快.{0,6}))$")
# A question worth an entry: not an agent's line (您…), not pasted product or order text, and
# a bare word of one or two characters (地址, 发票, 号码) only with a question or request in it.
_NOT_A_QUESTION = re.compile(r"您|本产品|质保期为|订单(?:编)?号[:：]")
_ASKING = re.compile(
    r"[?？]|吗|么|嘛|呢|吧|啥|什么|怎么|咋|多久|多少|几|哪|能|可以|要|想|帮|麻烦|申请|如何|没|不"
)


def asks(question: str) -> bool:
    """The buyer's turn is a question or request an FAQ entry can answer (not 地址 / 发票 alone,
    not pasted product text, not an agent's line that landed in a buyer turn)."""
    if _NOT_A_QUESTION.search(question):
        return False
    said = _PLACEHOLDERS.sub("", question)
    hanzi = sum(1 for ch in said if "\u4e00" <= ch <= "\u9fff")
    return hanzi > 2 or bool(_ASKING.search(said))


def answers(question: str, answer: str) -> bool:
    """The reply can stand as an answer: not a question back to the buyer (您是什么原因…呢?),
    not a fragment (或是取消订单), not the buyer's own words echoed or in the buyer's voice
    (麻烦取消, 美的售后说要向京东申请退货), not only soothing (希望您尽快收到商品), at least 3
    characters."""
    sig = signature(answer)
    if (
        len(sig) < 3
        or _ASKS_BACK.search(answer.strip())
        or _FRAGMENT.match(sig)
        or ("什么原因" in sig or "为什么" in sig)
        or not _AGENT_VOICE.search(answer)
        or _BUYER_VOICE.search(answer.strip())
    ):
        return False
    clauses = [c for c in re.split(r"[，,。.!！?？~～；;\s]+", _PLACEHOLDERS.sub("", answer)) if c]
    if clauses and all(_SOOTHING.match(c) for c in clauses):
        return False
    return dice(bigrams(sig), bigrams(signature(question))) < 0.6


def topical(question: str, answer: str) -> str:
    """The clauses of `answer` that speak of the question's shop topics, in order (an agent's
    turn often mixes the answer with waiting, apologies and other business)."""
    topics = _topics(question)
    clauses = _CLAUSE.findall(answer)
    on = [n for n, c in enumerate(clauses) if topics & set(words(c))]
    if not on:
        return ""
    first, last = on[0], min(on[-1] + 1, len(clauses) - 1)  # and the clause that follows
    if last > on[-1] and _ASKS_BACK.search(clauses[last].strip()):
        last = on[-1]
    if first > 0 and _ADDRESS_ONLY.match(clauses[first - 1]):
        first -= 1  # 亲，… keeps its address
    return "".join(clauses[first : last + 1]).strip().rstrip("，,；;")


def _entries(
    pairs: list[QA], min_support: int, max_variants: int, topic: bool = True
) -> list[Proposal]:
    """New entries: each frequent question cluster with its best on-topic answer (a cluster
    whose answers never speak of what it asks is not proposed)."""
    by_question: dict[tuple[str, ...], list[QA]] = defaultdict(list)
    for qa in pairs:
        key = question_key(qa.question)
        if key and signature(qa.answer):
            by_question[key].append(qa)
    # the best answer of each frequent question cluster
    chosen: dict[str, list[tuple[tuple[str, ...], list[QA], list[str], int]]] = defaultdict(list)
    for key, qas in by_question.items():
        if len({qa.conversation for qa in qas}) < min_support:
            continue
        asked = len(qas)  # every asking counts, also those whose reply answered nothing
        if topic:  # keep the clauses on the question's topic; nothing on topic: no answer
            said = [dataclasses.replace(qa, answer=topical(qa.question, qa.answer)) for qa in qas]
            qas = [qa for qa in said if asks(qa.question) and answers(qa.question, qa.answer)]
            if not qas:
                continue
        by_answer: dict[str, list[QA]] = defaultdict(list)
        for qa in qas:
            by_answer[signature(qa.answer)].append(qa)
        agreed = _agreement(by_answer)
        ranked = sorted(
            by_answer.items(), key=lambda kv: (-(_quality(kv[1]) + agreed[kv[0]]), kv[0])
        )
        best_sig, _ = ranked[0]
        others = [group[0].answer for _, group in ranked[1:4]]
        chosen[best_sig].append((key, qas, others, asked))
    return [_proposal(sig, clusters, max_variants) for sig, clusters in chosen.items()]


def _agreement(by_answer: dict[str, list[QA]]) -> dict[str, float]:
    """How much the other replies to a question say the same as each reply (bigram Dice,
    weighted by uses): a reply other agents agree with is an answer, a stray line rarely is."""
    grams = {sig: bigrams(sig) for sig in by_answer}
    return {
        sig: sum(dice(grams[sig], grams[o]) * len(g) for o, g in by_answer.items() if o != sig)
        for sig in by_answer
    }


def _answered_by_faq(pairs: list[QA], entries: list[FaqItem]) -> Iterator[QA]:
    for qa, _ in _faq_matches(pairs, entries):
        yield qa


def _faq_matches(pairs: list[QA], entries: list[FaqItem]) -> Iterator[tuple[QA, FaqItem]]:
    """Pairs whose agent reply gives an FAQ entry's answer, with that entry (best match, id)."""
    sigs = [(bigrams(signature(e.answer)), e) for e in sorted(entries, key=lambda e: e.faq)]
    sigs = [(g, e) for g, e in sigs if g]
    for qa in pairs:
        g = bigrams(signature(qa.answer))
        if not g:
            continue
        best = max(((dice(g, eg), e) for eg, e in sigs), key=lambda t: t[0], default=None)
        if best is not None and best[0] >= VARIANT_MATCH:
            yield qa, best[1]


def learn_variants(pairs: list[QA], entries: list[FaqItem]) -> list[Proposal]:
    """New wordings of existing entries: buyer questions an agent answered with the entry's
    answer, which the bot does not already answer confidently with that entry."""
    from kefu.faq.index import FaqIndex

    bot = FaqIndex.build(entries)
    groups: dict[tuple[str, tuple[str, ...]], list[QA]] = defaultdict(list)
    for qa, entry in _faq_matches(pairs, entries):
        key = question_key(qa.question)
        if not key:
            continue
        said = bot.answer(qa.question)
        if said is not None and said.confident and said.faq == entry.faq:
            continue  # the bot already answers this wording with the entry
        groups[(entry.faq, key)].append(qa)
    by_id = {e.faq: e for e in entries}
    out: list[Proposal] = []
    for (faq, key), qas in sorted(groups.items()):
        entry = by_id[faq]
        wordings = [t for t, _ in Counter(qa.question for qa in qas).most_common()]
        ratings = [qa.rating for qa in qas if qa.rating is not None]
        convs = sorted({qa.conversation for qa in qas})
        evidence = Evidence(
            asked=len(qas), uses=len(qas), conversations=convs[:MAX_EVIDENCE],
            agents=sorted({qa.agent for qa in qas if qa.agent}),
            mean_rating=round(sum(ratings) / len(ratings), 2) if ratings else None,
            orders_after=sum(1 for qa in qas if qa.ordered),
            alternatives=list(dict.fromkeys(qa.answer for qa in qas))[:3],
        )  # fmt: skip
        digest = hashlib.sha1(("\x00".join((faq, *key))).encode()).hexdigest()[:12]
        out.append(Proposal(
            id=f"variant-{digest}", question=wordings[0], answer=entry.answer,
            variants=wordings[1:20], kind="variant", target=faq, evidence=evidence,
            score=round(answer_quality(len(convs), evidence.orders_after, ratings), 3),
        ))  # fmt: skip
    return out


def _quality(group: list[QA]) -> float:
    """Reuse, orders and ratings; a reply that several agents gave counts more (not one
    agent's habit)."""
    ratings = [qa.rating for qa in group if qa.rating is not None]
    orders = sum(1 for qa in group if qa.ordered)
    agents = len({qa.agent for qa in group if qa.agent})
    base = answer_quality(len({qa.conversation for qa in group}), orders, ratings)
    return base + 0.5 * max(0, agents - 1)


def _proposal(
    sig: str,
    clusters: list[tuple[tuple[str, ...], list[QA], list[str], int]],
    max_variants: int,
) -> Proposal:
    """One proposal: the answer `sig` chosen by these question clusters."""
    clusters.sort(key=lambda c: (-len(c[1]), c[0]))
    asked = sum(n for *_, n in clusters)
    used = [qa for _, qas, _, _ in clusters for qa in qas if signature(qa.answer) == sig]
    # the answer's most common wording; its cluster's most common wording as the question
    answer = Counter(qa.answer for qa in used).most_common(1)[0][0]
    variants: list[str] = []
    for _, qas, _, _ in clusters:
        for text, _n in Counter(qa.question for qa in qas).most_common():
            if len(variants) >= max_variants:
                break
            variants.append(text)
    ratings = [qa.rating for qa in used if qa.rating is not None]
    convs = sorted({qa.conversation for qa in used})
    alternatives = list(dict.fromkeys(a for _, _, others, _ in clusters for a in others))[:5]
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
        if p.status in ("approved", "edited") and p.kind == "entry"
    ]


def with_variants(entries: Iterable[Any], proposals: Iterable[Proposal]) -> list[FaqItem]:
    """`entries` with the wordings of their approved (or edited) variant proposals added."""
    items = {it.faq: it for it in map(as_item, entries)}
    for p in proposals:
        if p.kind != "variant" or p.status not in ("approved", "edited") or p.target not in items:
            continue
        it = items[p.target]
        new = tuple(dict.fromkeys([*it.variants, p.question, *p.variants]))
        items[p.target] = FaqItem(
            it.faq, it.question, it.answer, new, it.keywords, it.related, it.weight, it.source
        )
    return list(items.values())


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
