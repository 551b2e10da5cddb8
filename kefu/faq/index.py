"""The FAQ index: candidates by BM25 over questions, answers and sounds; a learned re-ranker.

Each entry is searched three ways — its question and variants as shop concepts
(`kefu.faq.lexicon.words`: 啥时候发货 = 什么时候发货), its *answer* (能发顺丰吗 meets the courier
entry whose answer names 顺丰) and the pinyin of its wordings (发漂 sounds like 发票). Product
attributes are entries too (美式咖啡豆是什么烘焙度). The best candidates are described by a few
features (how much of the question each side covers, character and sound overlap, relative
BM25 scores, the margin to the runner-up) and a small LightGBM model (`kefu/faq/data/ranker.txt`,
trained by `kefu.faq.ranker`) turns them into the probability that the entry answers the
question: the bot's confidence, compared with `[bot] threshold`.

Entries are indexed in id order and ties are broken by id, so the order in which a store added
its entries never changes an answer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import bm25s
import numpy as np

from kefu.faq.answer import ATTRIBUTE_NAMES, Answer, _value, product_answer
from kefu.faq.lexicon import doc_words, grams, sounds, words
from kefu.faq.text import clean, signature, tokenizer

DEFAULT_THRESHOLD = 0.5
# Before the re-ranker existed, a logistic calibration of three overlap features; kept for
# `kefu eval faq` (AFQMC) and as the fallback when the model file is missing.
CALIBRATION = (-2.54, 0.48, 0.38, 4.21)
RANKER_PATH = Path(__file__).parent / "data" / "ranker.txt"
CALIBRATION_PATH = Path(__file__).parent / "data" / "ranker_calibration.json"
FEATURES = (
    "cover_q",  # IDF share of the question's concepts found in the entry's closest wording
    "cover_d",  # IDF share of that wording's concepts found in the question
    "chars",  # character-pair Dice with the closest wording
    "sounds",  # pinyin syllable-pair Dice with the closest wording
    "ask_rel",  # BM25 of the closest wording / best BM25 of any entry
    "ans_cover",  # IDF share of the question's concepts found in the entry's answer
    "ans_rel",  # BM25 against the answer / best answer BM25
    "snd_rel",  # pinyin BM25 / best pinyin BM25
    "both_cover",  # IDF share of the question's concepts found in wording or answer
    "margin",  # this entry's lexical score minus the best other entry's
    "n_words",  # concepts in the question
    "unknown",  # IDF share of the question's concepts no entry knows
    "product",  # the entry is a product attribute
)
_CANDIDATES = 12  # entries looked at per query, per field (dev top-1 the same at 8, 12, 24)
_WORDINGS = 8  # an entry's wordings compared in detail


@dataclass(frozen=True, slots=True)
class FaqItem:
    """One FAQ entry: a standard question, its answer and other ways to ask it.

    `related` names FAQ ids whose answer is sent as the supplementary answer. `weight`
    multiplies the entry's vote (learned entries use how often agents gave that answer).
    `keywords` are rules a person typed: they answer when matched as whole words.
    """

    faq: str
    question: str
    answer: str
    variants: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    weight: float = 1.0
    source: str = "faq"  # faq | product


@dataclass(frozen=True, slots=True)
class Hit:
    """A ranked FAQ entry for a query: rank score, calibrated confidence, matched variant."""

    item: FaqItem
    rank: float
    score: float
    variant: str


def as_item(entry: Any) -> FaqItem:
    """A FaqItem from anything FAQ-shaped (engine FaqEntry, msgspec event, dict)."""
    if isinstance(entry, FaqItem):
        return entry
    get = entry.get if isinstance(entry, dict) else lambda k, d=None: getattr(entry, k, d)
    return FaqItem(
        faq=str(get("faq")),
        question=str(get("question", "") or ""),
        answer=str(get("answer", "") or ""),
        variants=tuple(get("variants", None) or ()),
        keywords=tuple(get("keywords", None) or ()),
        related=tuple(get("related", None) or ()),
        weight=float(get("weight", 1.0) or 1.0),
    )


def product_items(products: Iterable[Any]) -> list[FaqItem]:
    """Each attribute of each product as an entry: 美式咖啡豆 烘焙度 -> 中深烘焙."""
    out: list[FaqItem] = []
    for p in products:
        get = p.get if isinstance(p, dict) else lambda k, d=None, p=p: getattr(p, k, d)
        pid, title = str(get("product", "")), str(get("title", "") or "")
        attrs = get("attrs", None) or {}
        if not pid or not title:
            continue
        for key, value in sorted(attrs.items(), key=lambda kv: str(kv[0])):
            if value in (None, "", [], {}):
                continue
            name = ATTRIBUTE_NAMES.get(str(key).lower(), str(key))
            out.append(FaqItem(
                faq=f"product:{pid}:{key}", question=f"{title}{name}",
                answer=f"亲，这款「{title}」{name}是{_value(value)}哦~",
                variants=(f"{title}的{name}是多少", f"{title}{name}是什么"), source="product",
            ))  # fmt: skip
    return out


def warm() -> None:
    """Load the segmenter's dictionary and the re-ranker now (about 2 s of CPU): a server
    does it when it starts, so its first buyer does not wait for them with the store locked."""
    from kefu.faq.text import tokenizer

    tokenizer()
    _ranker()


@lru_cache(maxsize=1)
def _ranker() -> Any:
    """The shipped LightGBM re-ranker read by `kefu.faq.trees` (no LightGBM import on the
    answer path), or None when its file is absent (logistic fallback)."""
    if not RANKER_PATH.exists():
        return None
    from kefu.faq.trees import Trees

    return Trees.load(RANKER_PATH)


@lru_cache(maxsize=1)
def _calibration() -> tuple[float, float]:
    """Platt scaling (a, b) of the re-ranker's output, fitted on the store dev wordings."""
    if not CALIBRATION_PATH.exists():
        return 1.0, 0.0
    import orjson

    doc = orjson.loads(CALIBRATION_PATH.read_bytes())
    return float(doc["a"]), float(doc["b"])


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _dice(a: frozenset[str] | set[str], b: frozenset[str] | set[str]) -> float:
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


class _Field:
    """BM25 over one kind of document (wordings, answers or sounds) with doc -> entry ids."""

    def __init__(self, docs: list[list[str]], owner: list[int]) -> None:
        self.owner = np.asarray(owner, dtype=np.int32)
        self.bm: bm25s.BM25 | None = None
        self.vocab: dict[str, int] = {}
        if docs:
            bm = bm25s.BM25(k1=1.2, b=0.75)
            bm.index(docs, show_progress=False)
            self.bm, self.vocab = bm, bm.vocab_dict

    def scores(self, terms: Iterable[str]) -> np.ndarray | None:
        # terms in sorted order: float sums in one order, whatever the (hash-seeded) order of a
        # term set or of bm25s's vocabulary ids
        ids = [self.vocab[t] for t in sorted(terms) if t in self.vocab]
        if self.bm is None or not ids:
            return None
        return np.asarray(self.bm.get_scores_from_ids(ids), dtype=np.float32)

    def best_per_entry(self, scores: np.ndarray, n: int) -> dict[int, float]:
        """The n best entries by their best document's score."""
        nz = np.flatnonzero(scores)
        if len(nz) > n * 8:
            nz = nz[np.argpartition(scores[nz], -n * 8)[-n * 8 :]]
        out: dict[int, float] = {}
        for d in nz[np.argsort(-scores[nz], kind="stable")].tolist():
            i = int(self.owner[d])
            if i not in out:
                out[i] = float(scores[d])
                if len(out) >= n:
                    break
        return out


@dataclass
class FaqIndex:
    """Search FAQ entries (and product attributes); `answer` is the bot's one decision path."""

    items: list[FaqItem]
    threshold: float = DEFAULT_THRESHOLD
    supplementary: float | None = None  # auto supplementary answer above this confidence
    vote: bool = False  # rank by all matching variants (learned entries), not the best one
    prior: float = 0.0  # with vote: weight of log(entry weight), how often agents answered so
    pool: int = 256  # with vote: documents looked at per query
    calibration: tuple[float, float, float, float] = CALIBRATION
    per_field: int = _CANDIDATES  # candidates per BM25 field (training looks at more)
    _by_id: dict[str, int] = field(default_factory=dict)
    _ask: _Field | None = None
    _ans: _Field | None = None
    _snd: _Field | None = None
    _doc_text: list[str] = field(default_factory=list)
    _doc_words: list[frozenset[str]] = field(default_factory=list)
    _doc_grams: list[frozenset[str]] = field(default_factory=list)
    _doc_sounds: list[frozenset[str]] = field(default_factory=list)
    _entry_docs: list[list[int]] = field(default_factory=list)
    _ans_words: list[frozenset[str]] = field(default_factory=list)
    _idf: dict[str, float] = field(default_factory=dict)
    _doc_mult: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    _log_weight: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    _keywords: list[tuple[str, int]] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        entries: Iterable[Any],
        *,
        threshold: float = DEFAULT_THRESHOLD,
        supplementary: float | None = None,
        vote: bool = False,
        prior: float = 0.0,
        pool: int = 256,
        calibration: tuple[float, float, float, float] = CALIBRATION,
        products: Iterable[Any] = (),
    ) -> FaqIndex:
        """Index FAQ entries (FaqItem, engine FaqEntry or dicts) and product attributes.

        Entries without an answer drop out; entries are kept in id order (a store's order of
        adding them never matters). `supplementary`: send the second-best entry as a
        supplementary answer when its confidence reaches this value (None: only the entries'
        explicit `related` ids). `vote`: rank by the sum of an entry's matching wordings plus
        `prior` x log(weight) — a nearest-neighbour vote for learned entries with many variants.
        """
        items = {it.faq: it for it in map(as_item, entries) if it.answer.strip()}
        for it in product_items(products):
            items.setdefault(it.faq, it)
        ordered = [items[k] for k in sorted(items)]
        idx = cls(ordered, threshold, supplementary, vote, prior, pool, calibration)
        idx._index()
        return idx

    def _index(self) -> None:
        ask_docs: list[list[str]] = []
        ask_owner: list[int] = []
        mult: list[float] = []
        snd_docs: list[list[str]] = []
        ans_docs: list[list[str]] = []
        ans_owner: list[int] = []
        df: dict[str, int] = {}
        for i, it in enumerate(self.items):
            self._by_id[it.faq] = i
            seen: dict[tuple[str, ...], int] = {}
            mine: list[int] = []
            for text in (it.question, *it.variants):
                ws = doc_words(text)
                if not ws:
                    continue
                if ws in seen:  # same concepts, another wording
                    mult[seen[ws]] += 1.0
                    continue
                seen[ws] = len(ask_docs)
                mine.append(len(ask_docs))
                ask_docs.append(list(ws))
                ask_owner.append(i)
                mult.append(1.0)
                snd = sounds(text)
                snd_docs.append(sorted(snd) or ["_"])
                self._doc_text.append(text)
                self._doc_words.append(frozenset(ws))
                self._doc_grams.append(grams(text))
                self._doc_sounds.append(snd)
            self._entry_docs.append(mine)
            aw = doc_words(it.answer)
            self._ans_words.append(frozenset(aw))
            ans_docs.append(list(aw) or ["_"])
            ans_owner.append(i)
            for w in set().union(*[set(ask_docs[d]) for d in mine], aw):
                df[w] = df.get(w, 0) + 1
            for k in it.keywords:
                if k.strip():
                    self._keywords.append((k.strip(), i))
        n = float(max(1, len(self.items)))
        self._idf = {w: math.log1p((n - c + 0.5) / (c + 0.5)) for w, c in df.items()}
        self._unknown_idf = math.log1p((n + 0.5) / 0.5)
        self._ask = _Field(ask_docs, ask_owner)
        self._ans = _Field(ans_docs, ans_owner)
        self._snd = _Field(snd_docs, ask_owner)
        self._doc_mult = np.log1p(np.asarray(mult, dtype=np.float32))
        self._log_weight = np.log(
            np.maximum(np.asarray([it.weight for it in self.items], dtype=np.float32), 1.0)
        )
        self._keywords.sort(key=lambda kv: (-len(kv[0]), self.items[kv[1]].faq))

    def __len__(self) -> int:
        return len(self.items)

    def get(self, faq: str) -> FaqItem | None:
        """The entry with this id, if indexed."""
        i = self._by_id.get(faq)
        return None if i is None else self.items[i]

    # ------------------------------------------------------------------------ scoring

    def _mass(self, ws: Iterable[str]) -> float:
        # fsum: the same float whatever the set's (hash-seeded) order, so features and the
        # re-ranker trained on them are identical from one process to the next
        return math.fsum(self._idf.get(w, self._unknown_idf) for w in ws)

    def candidates(self, text: str) -> tuple[dict[int, list[float]], dict[int, int]]:
        """Feature rows of the entries worth a look for `text`, and each one's closest wording."""
        qw = words(text)
        qs = sounds(text)
        if not qw and not qs:
            return {}, {}
        assert self._ask is not None and self._ans is not None and self._snd is not None
        ask_s = self._ask.scores(qw)
        ans_s = self._ans.scores(qw)
        snd_s = self._snd.scores(qs)
        pool: dict[int, dict[str, float]] = {}
        for name, fld, sc in (("ask", self._ask, ask_s), ("ans", self._ans, ans_s),
                              ("snd", self._snd, snd_s)):  # fmt: skip
            if sc is None:
                continue
            for i, s in fld.best_per_entry(sc, self.per_field).items():
                pool.setdefault(i, {})[name] = s
        if not pool:
            return {}, {}
        tops = {k: max((p.get(k, 0.0) for p in pool.values()), default=0.0) or 1.0
                for k in ("ask", "ans", "snd")}  # fmt: skip
        qset = set(qw)
        q_mass = self._mass(qset) or 1.0
        unknown = sum(self._unknown_idf for w in qset if w not in self._idf) / q_mass
        qg = grams(text)
        rows: dict[int, list[float]] = {}
        closest: dict[int, int] = {}
        for i, got in pool.items():
            best: tuple[float, ...] | None = None
            best_doc = -1
            for d in self._entry_docs[i][:_WORDINGS] if not self.vote else self._entry_docs[i]:
                dw = self._doc_words[d]
                shared = qset & dw
                s_mass = self._mass(shared)
                cq = s_mass / q_mass
                cd = s_mass / (self._mass(dw) or 1.0)
                ch = _dice(qg, self._doc_grams[d])
                sn = _dice(qs, self._doc_sounds[d])
                key = (cq + cd + ch + sn, cq, cd, ch, sn)
                if best is None or key > best:
                    best, best_doc = key, d
            aw = self._ans_words[i]
            ans_cover = self._mass(qset & aw) / q_mass
            if best is None:
                best = (0.0, 0.0, 0.0, 0.0, 0.0)
                dw = frozenset()
            else:
                dw = self._doc_words[best_doc]
            both = self._mass(qset & (aw | dw)) / q_mass
            rows[i] = [best[1], best[2], best[3], best[4], got.get("ask", 0.0) / tops["ask"],
                       ans_cover, got.get("ans", 0.0) / tops["ans"],
                       got.get("snd", 0.0) / tops["snd"], both, 0.0, float(len(qw)), unknown,
                       1.0 if self.items[i].source == "product" else 0.0]  # fmt: skip
            rows[i] = [round(v, 6) for v in rows[i]]  # no float32 noise in the features
            closest[i] = best_doc
        lex = {i: r[0] + r[1] + r[2] + r[3] + 0.5 * r[5] for i, r in rows.items()}
        if len(lex) > 1:
            ordered = sorted(lex.values(), reverse=True)
            for i, r in rows.items():
                other = ordered[1] if lex[i] == ordered[0] else ordered[0]
                r[9] = lex[i] - other
        else:
            for r in rows.values():
                r[9] = next(iter(lex.values()))
        return rows, closest

    def probabilities(self, rows: list[list[float]]) -> np.ndarray:
        """P(the entry answers the question) for feature rows: the re-ranker's output with
        its Platt scaling (`data/ranker_calibration.json`), else the logistic fallback."""
        if not rows:
            return np.zeros(0)
        raw = self.raw_probabilities(rows)
        if _ranker() is None:
            return raw
        a, b = _calibration()
        p = np.clip(raw, 1e-6, 1 - 1e-6)
        return np.asarray(1.0 / (1.0 + np.exp(-(a * np.log(p / (1 - p)) + b))))

    def raw_probabilities(self, rows: list[list[float]]) -> np.ndarray:
        """The re-ranker's own output (before Platt scaling), else the logistic fallback."""
        if not rows:
            return np.zeros(0)
        model = _ranker()
        x = np.asarray(rows, dtype=np.float64)
        if model is not None:
            return np.asarray(model.predict(x), dtype=np.float64)
        b0, b1, b2, b3 = self.calibration
        return 1.0 / (1.0 + np.exp(-(b0 + b1 * x[:, 0] + b2 * x[:, 1] + b3 * x[:, 2])))

    def search(self, text: str, k: int = 5) -> list[Hit]:
        """The k best entries for `text`, best first (ties by id; empty when nothing is shared)."""
        rows, closest = self.candidates(text)
        if not rows:
            return []
        ids = sorted(rows)
        probs = self.probabilities([rows[i] for i in ids])
        conf = {i: float(p) for i, p in zip(ids, probs, strict=True)}
        rank = self._votes(text, conf) if self.vote else conf
        ranked = sorted(rank, key=lambda i: (-round(rank[i], 9), self.items[i].faq))[:k]
        return [
            Hit(self.items[i], rank[i], conf.get(i, 0.0),
                self._doc_text[closest[i]] if closest.get(i, -1) >= 0 else self.items[i].question)
            for i in ranked
        ]  # fmt: skip

    def _votes(self, text: str, conf: dict[int, float]) -> dict[int, float]:
        """Nearest-neighbour vote of every matching wording, plus prior x log(weight)."""
        assert self._ask is not None
        sc = self._ask.scores(words(text))
        votes: dict[int, float] = {}
        if sc is not None:
            nz = np.flatnonzero(sc)
            if len(nz) > self.pool:
                nz = nz[np.argpartition(sc[nz], -self.pool)[-self.pool :]]
            top = float(sc[nz].max()) if len(nz) else 1.0
            for d in nz.tolist():
                i = int(self._ask.owner[d])
                votes[i] = votes.get(i, 0.0) + float(sc[d]) / top * float(self._doc_mult[d])
        return {i: votes.get(i, 0.0) + self.prior * float(self._log_weight[i]) + conf.get(i, 0.0)
                for i in set(votes) | set(conf)}  # fmt: skip

    def pair_features(self, query: str, faq: str) -> list[float]:
        """The re-ranker's features of `query` against the entry `faq` (zeros: no candidate)."""
        i = self._by_id.get(faq)
        rows, _ = self.candidates(query)
        if i is None or i not in rows:
            return [0.0] * len(FEATURES)
        return rows[i]

    def similarity(self, query: str, faq: str) -> float:
        """Calibrated confidence that `query` asks the FAQ `faq`."""
        i = self._by_id.get(faq)
        rows, _ = self.candidates(query)
        if i is None or i not in rows:
            return 0.0
        return float(self.probabilities([rows[i]])[0])

    def bm25_score(self, query: str, faq: str) -> float:
        """Plain BM25 score of `query` against the FAQ's best wording (a baseline)."""
        i = self._by_id.get(faq)
        sc = self._ask.scores(words(query)) if self._ask is not None else None
        if i is None or sc is None:
            return 0.0
        return float(sc[self._ask.owner == i].max(initial=0.0))  # type: ignore[union-attr]

    # ------------------------------------------------------------------------ answering

    def keyword_entry(self, text: str) -> FaqItem | None:
        """The entry whose typed keyword is a whole word of `text` (longest keyword, then id)."""
        if not self._keywords:
            return None
        s = clean(text)
        toks = [t for t in tokenizer().lcut(s) if t.strip()]
        for kw, i in self._keywords:
            if _word_in(kw, s, toks):
                return self.items[i]
        return None

    def answer(self, text: str, product: dict[str, Any] | None = None) -> Answer | None:
        """The bot's answer to `text` (product-aware), or None when nothing matches at all.

        Below `threshold` the answer comes back with `confident=False`: the bot should say
        it is not sure and offer the person button instead of sending the text as fact. A
        keyword a person typed answers where retrieval is unsure.
        """
        if product is not None:
            from_card = product_answer(text, product)
            if from_card is not None:
                return from_card
        hits = self.search(text, k=3)
        top = hits[0] if hits else None
        if top is None or top.score < self.threshold:
            rule = self.keyword_entry(text)
            if rule is not None:
                return Answer(faq=rule.faq, text=rule.answer, score=1.0, question=text,
                              source="keyword")  # fmt: skip
        if top is None:
            return None
        confident = top.score >= self.threshold
        supp_text, supp_faq = (None, None)
        if confident:
            supp_text, supp_faq = self._supplementary(top, hits[1:])
        return Answer(
            faq=top.item.faq,
            text=top.item.answer,
            score=round(top.score, 4),
            confident=confident,
            question=top.variant,
            source=top.item.source,
            supplementary=supp_text,
            supplementary_faq=supp_faq,
        )

    def _supplementary(self, top: Hit, rest: list[Hit]) -> tuple[str | None, str | None]:
        """An explicitly related entry first, else a second good match with another answer."""
        for rid in top.item.related:
            rel = self.get(rid)
            if rel is not None and rel.faq != top.item.faq:
                return rel.answer, rel.faq
        if self.supplementary is None:
            return None, None
        main = signature(top.item.answer)
        for h in rest:
            if h.score >= self.supplementary and signature(h.item.answer) != main:
                return h.item.answer, h.item.faq
        return None, None


_LATIN_KW = re.compile(r"^[a-z0-9 ]+$")


def _word_in(keyword: str, cleaned: str, toks: list[str]) -> bool:
    """A keyword found as whole words: Latin ones between non-letters, Chinese ones as jieba
    words (a run of the text's words that spells the keyword), never inside a placeholder."""
    kw = clean(keyword).strip()
    if not kw:
        return False
    if _LATIN_KW.match(kw):
        return re.search(rf"(?<![a-z0-9]){re.escape(kw)}(?![a-z0-9])", cleaned) is not None
    if kw not in cleaned:
        return False
    for a in range(len(toks)):
        joined = ""
        for b in range(a, len(toks)):
            joined += toks[b]
            if joined == kw:
                return True
            if len(joined) >= len(kw):
                break
    return False


def fingerprint(entries: Iterable[Any]) -> int:
    """A hash of the entries' content: rebuild a cached index only when it changes."""
    return hash(tuple((it.faq, it.question, it.answer, it.variants, it.keywords, it.related)
                      for it in map(as_item, entries)))  # fmt: skip


class IndexCache:
    """One index per store, rebuilt when the store's FAQ content changes (the engine's use)."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._cache: dict[str, tuple[int, FaqIndex]] = {}

    def get(self, store: str, entries: Iterable[Any]) -> FaqIndex:
        """The store's index over `entries`, built on first use or after a change."""
        items = [as_item(e) for e in entries]
        key = fingerprint(items)
        hit = self._cache.get(store)
        if hit is None or hit[0] != key:
            hit = (key, FaqIndex.build(items, **self._options))
            self._cache[store] = hit
        return hit[1]
