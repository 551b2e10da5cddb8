"""The FAQ index: BM25 (bm25s) over every question variant, one answer per FAQ entry.

Each entry contributes its question, its variants and its keywords as documents. A query is
scored against all documents at once (a sparse-matrix product), documents are folded into
their entry (the best variant, plus a small vote from the entry's other matching variants
when learned entries carry many), and the winner's confidence is a logistic calibration of
three overlap features — fitted on the AFQMC same-meaning pairs (`kefu eval faq`), so 0.5
means "as likely the same question as not".
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import bm25s
import numpy as np

from kefu.faq.answer import Answer, product_answer
from kefu.faq.text import bigrams, normalize, signature, tokens

# Logistic calibration of P(same meaning | features of the best variant); features are the
# IDF-weighted share of the query found in the variant, of the variant found in the query,
# and the character-bigram Dice of the two. Fitted on the even half of the AFQMC pairs plus
# repeats and strangers (`kefu eval faq` prints the refit; docs/faq.md).
CALIBRATION = (-2.54, 0.48, 0.38, 4.21)
DEFAULT_THRESHOLD = 0.5
_WORDINGS = 8  # an entry's matching wordings whose confidence is looked at
_POOL = 256  # documents looked at per query after scoring (enough to fill k entries)


@dataclass(frozen=True, slots=True)
class FaqItem:
    """One FAQ entry: a standard question, its answer and other ways to ask it.

    `related` names FAQ ids whose answer is sent as the supplementary answer. `weight`
    multiplies the entry's vote (learned entries use how often agents gave that answer).
    """

    faq: str
    question: str
    answer: str
    variants: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    weight: float = 1.0


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


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@dataclass
class FaqIndex:
    """BM25 over FAQ variants; `answer` for the bot, `search` for ranked candidates."""

    items: list[FaqItem]
    threshold: float = DEFAULT_THRESHOLD
    supplementary: float | None = None  # auto supplementary answer above this confidence
    vote: bool = False  # rank by all matching variants (learned entries), not the best one
    prior: float = 0.0  # with vote: weight of log(entry weight), how often agents answered so
    pool: int = _POOL  # documents looked at per query after scoring
    calibration: tuple[float, float, float, float] = CALIBRATION
    _bm25: bm25s.BM25 | None = None
    _doc_item: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    _doc_mult: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    _doc_text: list[str] = field(default_factory=list)  # the first wording of each document
    _doc_grams: list[list[set[str]]] = field(default_factory=list)  # every wording's bigrams
    _doc_ids: list[frozenset[int]] = field(default_factory=list)
    _idf: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    _vocab: dict[str, int] = field(default_factory=dict)
    _by_id: dict[str, int] = field(default_factory=dict)
    _log_weight: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))

    @classmethod
    def build(
        cls,
        entries: Iterable[Any],
        *,
        threshold: float = DEFAULT_THRESHOLD,
        supplementary: float | None = None,
        vote: bool = False,
        prior: float = 0.0,
        pool: int = _POOL,
        calibration: tuple[float, float, float, float] = CALIBRATION,
    ) -> FaqIndex:
        """Index FAQ entries (FaqItem, engine FaqEntry or dicts); entries without text drop out.

        `supplementary`: send the second-best entry as a supplementary answer when its
        confidence reaches this value (None: only the entries' explicit `related` ids).
        `vote`: rank an entry by the sum of its matching variants' scores (each relative to
        the best document, times log(1 + times asked)) plus `prior` x log(weight) — a
        nearest-neighbour vote that suits learned entries with many variants; plain BM25
        (the best variant's score) otherwise.
        """
        items = [as_item(e) for e in entries]
        items = [it for it in items if it.answer.strip()]
        idx = cls(items, threshold, supplementary, vote, prior, pool, calibration)
        idx._index()
        return idx

    def _index(self) -> None:
        docs: list[tuple[str, ...]] = []
        doc_item: list[int] = []
        doc_mult: list[float] = []
        for i, it in enumerate(self.items):
            self._by_id[it.faq] = i
            seen: dict[tuple[str, ...], int] = {}
            # each keyword is a document of its own: a store's keyword found in the question
            # is a strong, short match (what the plain matcher answered on)
            texts = [it.question, *it.variants, *it.keywords]
            for text in texts:
                toks = tokens(text)
                if not toks:
                    continue
                grams = bigrams(normalize(text))
                if toks in seen:  # same words, another wording (maybe another language)
                    d = seen[toks]
                    doc_mult[d] += 1.0
                    if len(self._doc_grams[d]) < 8 and grams not in self._doc_grams[d]:
                        self._doc_grams[d].append(grams)
                    continue
                seen[toks] = len(docs)
                docs.append(toks)
                doc_item.append(i)
                doc_mult.append(1.0)
                self._doc_text.append(text)
                self._doc_grams.append([grams])
        self._doc_item = np.asarray(doc_item, dtype=np.int32)
        self._doc_mult = np.log1p(np.asarray(doc_mult, dtype=np.float32))
        self._log_weight = np.log(
            np.maximum(np.asarray([it.weight for it in self.items], dtype=np.float32), 1.0)
        )
        if not docs:
            return
        bm = bm25s.BM25(k1=1.2, b=0.75)
        bm.index([list(d) for d in docs], show_progress=False)
        self._bm25 = bm
        self._vocab = bm.vocab_dict
        indptr = bm.scores["indptr"]
        df = np.diff(indptr).astype(np.float32)
        n = float(len(docs))
        self._idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        vocab = self._vocab
        self._doc_ids = [frozenset(vocab[t] for t in d) for d in docs]

    def __len__(self) -> int:
        return len(self.items)

    def get(self, faq: str) -> FaqItem | None:
        """The entry with this id, if indexed."""
        i = self._by_id.get(faq)
        return None if i is None else self.items[i]

    def _oov_idf(self) -> float:
        n = float(len(self._doc_ids))
        return math.log1p((n + 0.5) / 0.5)

    def _features(self, qtoks: tuple[str, ...], qids: set[int], doc: int) -> list[float]:
        """IDF share of the query in the variant, of the variant in the query, bigram Dice."""
        idf = self._idf
        dids = self._doc_ids[doc]
        oov = sum(1 for t in set(qtoks) if t not in self._vocab) * self._oov_idf()
        q_mass = float(idf[list(qids)].sum()) + oov if qids else oov
        shared = qids & dids
        s_mass = float(idf[list(shared)].sum()) if shared else 0.0
        d_mass = float(idf[list(dids)].sum())
        cover_q = s_mass / q_mass if q_mass else 0.0
        cover_d = s_mass / d_mass if d_mass else 0.0
        return [cover_q, cover_d]

    def _dice(self, qgrams: set[str], doc: int) -> float:
        """Bigram Dice of the query with the document's closest wording."""
        return max(_dice(qgrams, g) for g in self._doc_grams[doc])

    def confidence_of(self, features: list[float]) -> float:
        """Calibrated P(same meaning) of a query/variant pair from its features."""
        b0, b1, b2, b3 = self.calibration
        return _sigmoid(b0 + b1 * features[0] + b2 * features[1] + b3 * features[2])

    def _score_docs(self, text: str) -> tuple[tuple[str, ...], set[int], np.ndarray | None]:
        qtoks = tokens(text)
        if self._bm25 is None or not qtoks:
            return qtoks, set(), None
        ids = [self._vocab[t] for t in qtoks if t in self._vocab]
        if not ids:
            return qtoks, set(), None
        scores = self._bm25.get_scores_from_ids(ids)
        return qtoks, set(ids), scores

    def search(self, text: str, k: int = 5) -> list[Hit]:
        """The k best entries for `text`, best first (empty when no word is shared)."""
        qtoks, qids, scores = self._score_docs(text)
        if scores is None:
            return []
        nz = np.flatnonzero(scores)
        if len(nz) == 0:
            return []
        if len(nz) > self.pool:
            nz = nz[np.argpartition(scores[nz], -self.pool)[-self.pool :]]
        nz = nz[np.argsort(-scores[nz], kind="stable")]
        top = float(scores[nz[0]])
        best: dict[int, tuple[float, int]] = {}
        docs: dict[int, list[int]] = {}  # each entry's matching wordings, best first
        votes: dict[int, float] = {}
        for d in nz.tolist():
            i = int(self._doc_item[d])
            s = float(scores[d])
            if i not in best:
                best[i] = (s, d)
            docs.setdefault(i, []).append(d)
            if self.vote:  # every matching variant adds, more so when many buyers asked it
                votes[i] = votes.get(i, 0.0) + s / top * float(self._doc_mult[d])
        if self.vote:
            lw, prior = self._log_weight, self.prior
            rank = {i: v + prior * float(lw[i]) for i, v in votes.items()}
        else:
            rank = {i: b[0] for i, b in best.items()}
        ranked = sorted(rank, key=lambda i: -rank[i])
        qn = bigrams(normalize(text))
        hits: list[Hit] = []
        for i in ranked[:k]:
            # Confidence is that of the entry's closest wording, not only its top BM25 one:
            # "几天能发货" is nearest to the variant "几天发货" even if another scores higher.
            conf, d = max(
                (self.confidence_of([*self._features(qtoks, qids, d), self._dice(qn, d)]), -d)
                for d in docs[i][:_WORDINGS]
            )
            hits.append(Hit(self.items[i], rank[i], conf, self._doc_text[-d]))
        return hits

    def pair_features(self, query: str, faq: str) -> list[float]:
        """Calibration features of `query` against the FAQ's best-matching variant."""
        i = self._by_id.get(faq)
        qtoks, qids, _ = self._score_docs(query)
        if i is None or not qtoks:
            return [0.0, 0.0, 0.0]
        qn = bigrams(normalize(query))
        best: list[float] = [0.0, 0.0, 0.0]
        for d in np.flatnonzero(self._doc_item == i).tolist():
            feats = self._features(qtoks, qids, d)
            feats.append(self._dice(qn, d))
            if self.confidence_of(feats) > self.confidence_of(best):
                best = feats
        return best

    def similarity(self, query: str, faq: str) -> float:
        """Calibrated confidence that `query` asks the FAQ `faq` (its best variant)."""
        return self.confidence_of(self.pair_features(query, faq))

    def bm25_score(self, query: str, faq: str) -> float:
        """Plain BM25 score of `query` against the FAQ's best variant (the baseline)."""
        i = self._by_id.get(faq)
        _, _, scores = self._score_docs(query)
        if i is None or scores is None:
            return 0.0
        return float(scores[self._doc_item == i].max(initial=0.0))

    def answer(self, text: str, product: dict[str, Any] | None = None) -> Answer | None:
        """The bot's answer to `text` (product-aware), or None when nothing matches at all.

        Below `threshold` the answer comes back with `confident=False`: the bot should say
        it is not sure and offer the person button instead of sending the text as fact.
        """
        if product is not None:
            from_card = product_answer(text, product)
            if from_card is not None:
                return from_card
        hits = self.search(text, k=3)
        if not hits:
            return None
        top = hits[0]
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


def _dice(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


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
