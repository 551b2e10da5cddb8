"""`kefu eval faq`: the FAQ bot on real data, against plain BM25.

JDDC (JD.com customer service, Chinese): every training line becomes a conversation of
kefu events (buyer/agent turns recovered by the JDDC importer's `split_turns`, the reply as
the last agent turn); `learn` mines FAQ entries from them (every question cluster, support
1), all approved; each test context's last buyer turn is then answered. A hit is an answer
*equivalent* to the agent's real reply: character-bigram Dice of the two replies'
signatures (placeholders, punctuation, fillers and digits removed) of at least 0.5. The
baseline is plain BM25 (same tokens) over the training lines' last buyer turns, answering
with the reply of the best-matching lines (distinct replies for @5).

AFQMC (Alipay question pairs): every distinct sentence is an FAQ entry of one index (so IDF
is realistic); a pair's score is the calibrated confidence that sentence 1 asks sentence 2.
Pairs are split by `idx` parity: the logistic calibration and the threshold (best F1) are
fitted on the even half, accuracy/F1 reported on the odd half; plain BM25 (raw score,
threshold fitted the same way) and the majority class are the baselines.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from kefu.engine.events import Message
from kefu.faq.index import FaqIndex, FaqItem
from kefu.faq.learn import Chat, accepted, approve, learn
from kefu.faq.text import bigrams, normalize, signature

EQUIVALENT = 0.5  # bigram Dice of reply signatures at or above which two replies are the same
# The learned index ranks by a vote of 256 documents plus 4 x log(uses): the best recall@1 of
# a grid (pool 100/256 x prior 0.3/1/2/4) on a split of the training lines (train[:-1000] ->
# train[-1000:]), never on the test file; the grid's recall@1 spread was 0.114-0.122.
JDDC_POOL = 256
JDDC_PRIOR = 4.0
GENERIC = 20  # the most frequent training replies: pleasantries, reported apart
Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class JddcPair:
    """One JDDC line: the context's buyer/agent turns and the agent's real reply."""

    turns: list[tuple[str, str]]  # (sender, text) in order
    reply: str

    @property
    def query(self) -> str:
        """The buyer's last turn: what the bot answers."""
        return self.turns[-1][1] if self.turns else ""


def load_jddc(context: Path, limit: int | None = None) -> list[JddcPair]:
    """Context/response pairs of a JDDC baseline file, turns split like the importer does."""
    from kefu.importers.jddc import messages_of, response_path, split_turns

    out: list[JddcPair] = []
    with context.open(encoding="utf-8") as cf, response_path(context).open(encoding="utf-8") as rf:
        for n, (ctx, rsp) in enumerate(zip(cf, rf, strict=False)):
            if limit is not None and n >= limit:
                break
            msgs = messages_of(ctx)
            try:
                turn_of = split_turns(msgs)
            except ValueError:
                continue
            turns: list[tuple[str, str]] = []
            for k in range(5):
                text = "，".join(m for m, t in zip(msgs, turn_of, strict=True) if t == k and m)
                turns.append(("agent" if k % 2 else "buyer", text))
            reply = "，".join(m for m in messages_of(rsp) if m)
            out.append(JddcPair(turns, reply))
    return out


def jddc_conversations(pairs: list[JddcPair], store: str = "jd") -> list[Chat]:
    """Each training line as a conversation of decoded kefu message events."""
    chats: list[Chat] = []
    t0 = 1_520_000_000_000
    for n, p in enumerate(pairs):
        cid, buyer = f"jddc-{n}", f"jddc-b{n}"
        chat = Chat(cid, store, buyer)
        ts = t0 + n * 600_000
        for sender, text in [*p.turns, ("agent", p.reply)]:
            ts += 30_000
            agent = "jd-agent" if sender == "agent" else None
            chat.messages.append(
                Message(
                    ts=ts,
                    store=store,
                    buyer=buyer,
                    sender=sender,  # type: ignore[arg-type]
                    agent=agent,
                    text=text,
                    conversation=cid,
                )
            )
        chats.append(chat)
    return chats


def equivalent(a: str, b: str, threshold: float = EQUIVALENT) -> bool:
    """Two replies say the same (bigram Dice of signatures >= threshold)."""
    return _dice_sig(signature(a), signature(b)) >= threshold


def _dice_sig(a: str, b: str) -> float:
    ba, bb = bigrams(a), bigrams(b)
    if not ba or not bb:
        return 1.0 if a == b else 0.0
    return 2 * len(ba & bb) / (len(ba) + len(bb))


def recall(ranked: list[list[str]], truth: list[str], ks: tuple[int, ...] = (1, 5)) -> dict:
    """recall@k: share of cases whose real reply has an equivalent in the top k answers."""
    out: dict[str, Any] = {"cases": len(truth)}
    sig_truth = [signature(t) for t in truth]
    for k in ks:
        hits = 0
        for answers, t in zip(ranked, sig_truth, strict=True):
            if any(_dice_sig(signature(a), t) >= EQUIVALENT for a in answers[:k]):
                hits += 1
        out[f"recall@{k}"] = round(hits / len(truth), 4) if truth else 0.0
    return out


class PlainBM25:
    """Plain BM25 (bm25s over jieba words, no synonyms, no re-ranker) over the training lines'
    last buyer turns, answering with the replies of the best lines."""

    def __init__(self, train: list[JddcPair]) -> None:
        import bm25s

        self.lines = [p for p in train if p.reply]
        self.bm = bm25s.BM25()
        self.bm.index([self._toks(p.query) or ["_"] for p in self.lines], show_progress=False)
        self.vocab = self.bm.vocab_dict

    @staticmethod
    def _toks(text: str) -> list[str]:
        from kefu.faq.text import tokenizer

        return sorted(w for w in tokenizer().lcut(normalize(text)) if w.strip())

    def replies(self, query: str, k: int = 5) -> list[str]:
        """The distinct replies of the best-scoring lines (ties: earlier line)."""
        ids = [self.vocab[t] for t in self._toks(query) if t in self.vocab]
        if not ids:
            return []
        sc = np.asarray(self.bm.get_scores_from_ids(ids))
        order = np.lexsort((np.arange(len(sc)), -sc))
        seen: dict[str, str] = {}
        for n in order[: k * 20].tolist():
            if sc[n] <= 0:
                break
            r = self.lines[n].reply
            seen.setdefault(signature(r), r)
            if len(seen) >= k:
                break
        return list(seen.values())


def learned_index(train: list[JddcPair]) -> tuple[FaqIndex, int]:
    """The learned bot: proposals mined from the training conversations, all approved."""
    proposals = learn(jddc_conversations(train), min_support=1, on_topic_only=False, courtesy=True)
    items = accepted(approve(p, "eval", at=0) for p in proposals)
    index = FaqIndex.build(items, vote=True, prior=JDDC_PRIOR, pool=JDDC_POOL)
    return index, len(proposals)


def answers_of(index: FaqIndex, queries: list[str], k: int = 5) -> list[list[str]]:
    """The top-k distinct answers for each query."""
    out: list[list[str]] = []
    for q in queries:
        seen: dict[str, str] = {}
        for h in index.search(q, k=k * 3):
            seen.setdefault(signature(h.item.answer), h.item.answer)
            if len(seen) >= k:
                break
        out.append(list(seen.values()))
    return out


def evaluate_jddc(folder: Path, limit: int | None = None, progress: Progress = _quiet) -> dict:
    """Recall@1/@5 of the learned bot, plain BM25 and the most frequent replies on JDDC test.

    Test lines whose real reply is only emoticons or placeholders (empty signature) are left
    out: no bot should learn to send those. `content` repeats the figures without the cases
    whose real reply is one of the GENERIC most frequent training replies (pleasantries).
    """
    progress("reading JDDC")
    train = load_jddc(folder / "jddc_baseline_train_context.txt", limit)
    test = load_jddc(folder / "jddc_baseline_test_context.txt", limit)
    skipped = sum(1 for p in test if not signature(p.reply))
    test = [p for p in test if signature(p.reply)]
    queries = [p.query for p in test]
    truth = [p.reply for p in test]
    frequent = Counter(signature(p.reply) for p in train if signature(p.reply))
    wording: dict[str, str] = {}
    for p in train:
        wording.setdefault(signature(p.reply), p.reply)
    popular = [wording[sig] for sig, _ in frequent.most_common(5)]
    generic = [wording[sig] for sig, _ in frequent.most_common(GENERIC)]
    content = [n for n, t in enumerate(truth) if not any(equivalent(t, g) for g in generic)]
    progress("plain BM25")
    plain = PlainBM25(train)
    base = [plain.replies(q) for q in queries]
    progress("learning")
    learned, n_proposals = learned_index(train)
    progress("answering")
    bot = answers_of(learned, queries)
    pop = [popular] * len(queries)

    def on_content(ranked: list[list[str]]) -> dict:
        return recall([ranked[n] for n in content], [truth[n] for n in content])

    doc: dict[str, Any] = {
        "train_lines": len(train),
        "test_lines": len(test),
        "test_skipped_empty_reply": skipped,
        "proposals": n_proposals,
        "equivalent_dice": EQUIVALENT,
        "learned": recall(bot, truth),
        "bm25": recall(base, truth),
        "most_frequent_replies": recall(pop, truth),
        "content": {
            "learned": on_content(bot),
            "bm25": on_content(base),
            "most_frequent_replies": on_content(pop),
        },
    }
    doc["beats_bm25_at_1"] = doc["learned"]["recall@1"] > doc["bm25"]["recall@1"]
    return doc


# ---------------------------------------------------------------- AFQMC


def load_afqmc(path: Path, limit: int | None = None) -> list[tuple[str, str, int, int]]:
    """(sentence1, sentence2, label, idx) of the AFQMC JSON Lines file."""
    out: list[tuple[str, str, int, int]] = []
    with path.open("rb") as fh:
        for n, line in enumerate(fh):
            if limit is not None and n >= limit:
                break
            if line.strip():
                r = orjson.loads(line)
                out.append((r["sentence1"], r["sentence2"], int(r["label"]), int(r["idx"])))
    return out


def fit_logistic(x: np.ndarray, y: np.ndarray, iters: int = 50) -> np.ndarray:
    """Logistic regression by Newton steps (a little L2): [bias, w1, ...]."""
    xb = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(xb.shape[1])
    for _ in range(iters):
        p = 1 / (1 + np.exp(-xb @ w))
        grad = xb.T @ (p - y) + 1e-3 * w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + 1e-3 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def best_threshold(scores: np.ndarray, y: np.ndarray) -> float:
    """The threshold of best F1 on these scores (ties: the higher threshold)."""
    best, best_t = -1.0, 0.5
    for t in np.unique(np.round(scores, 4)):
        f = _prf(scores >= t, y)["f1"]
        if f >= best:
            best, best_t = f, float(t)
    return best_t


def _prf(pred: np.ndarray, y: np.ndarray) -> dict[str, float]:
    tp = float(np.sum(pred & (y == 1)))
    fp = float(np.sum(pred & (y == 0)))
    fn = float(np.sum(~pred & (y == 1)))
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    acc = float(np.mean(pred == (y == 1))) if len(y) else 0.0
    return {"accuracy": round(acc, 4), "precision": round(prec, 4), "recall": round(rec, 4),
            "f1": round(f1, 4)}  # fmt: skip


def afqmc_scores(pairs: list[tuple[str, str, int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """The matcher's confidence that sentence 1 asks sentence 2, and plain BM25, per pair,
    over one index of all sentences (so IDF is realistic)."""
    sentences = sorted({s for a, b, _, _ in pairs for s in (a, b)})
    ids = {s: f"s{i}" for i, s in enumerate(sentences)}
    index = FaqIndex.build(FaqItem(ids[s], s, s) for s in sentences)
    conf = np.zeros(len(pairs))
    bm25 = np.zeros(len(pairs))
    for n, (a, b, _, _) in enumerate(pairs):
        conf[n] = index.similarity(a, ids[b])
        bm25[n] = index.bm25_score(a, ids[b])
    return conf, bm25


def best_accuracy_threshold(scores: np.ndarray, y: np.ndarray) -> float:
    """The threshold of best accuracy on these scores (ties: the higher threshold)."""
    best, best_t = -1.0, 0.5
    for t in np.unique(np.round(scores, 4)):
        acc = float(np.mean((scores >= t) == (y == 1)))
        if acc >= best:
            best, best_t = acc, float(t)
    return best_t


def evaluate_afqmc(path: Path, limit: int | None = None, progress: Progress = _quiet) -> dict:
    """Same-meaning accuracy of the matcher: thresholds fitted on even `idx`, reported on odd.

    The re-ranker saw only the even half in training (`kefu.faq.ranker`), so the odd half is
    unseen. Plain BM25 (its threshold fitted the same way) and the majority class beside it.
    """
    progress("reading AFQMC")
    pairs = load_afqmc(path, limit)
    y = np.asarray([lab for _, _, lab, _ in pairs])
    fit = np.asarray([idx % 2 == 0 for _, _, _, idx in pairs])
    rep = ~fit
    progress("scoring pairs")
    conf, bm25 = afqmc_scores(pairs)
    t_acc = best_accuracy_threshold(conf[fit], y[fit])
    t_f1 = best_threshold(conf[fit], y[fit])
    t_bm25 = best_accuracy_threshold(bm25[fit], y[fit])
    positives = float(np.mean(y[rep])) if rep.any() else 0.0
    return {
        "pairs": len(pairs),
        "fit_pairs": int(fit.sum()),
        "report_pairs": int(rep.sum()),
        "positives_report": int(y[rep].sum()),
        "matcher": {"threshold": round(t_acc, 4), **_prf(conf[rep] >= t_acc, y[rep])},
        "matcher_best_f1": {"threshold": round(t_f1, 4), **_prf(conf[rep] >= t_f1, y[rep])},
        "matcher_at_0.5": _prf(conf[rep] >= 0.5, y[rep]),
        "bm25": {"threshold": round(t_bm25, 4), **_prf(bm25[rep] >= t_bm25, y[rep])},
        "majority_accuracy": round(max(positives, 1 - positives), 4),
        "all_same_f1": round(2 * positives / (1 + positives), 4),
        "calibration_error": round(_ece(conf[rep], y[rep]), 4),
    }


def _ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: how far confidence is from the observed same-meaning rate."""
    total = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        m = (p >= lo) & ((p < hi) if b < bins - 1 else (p <= hi))
        if m.any():
            total += float(m.sum()) / len(p) * abs(float(p[m].mean()) - float(y[m].mean()))
    return total if not math.isnan(total) else 0.0


# ---------------------------------------------------------------- proposal precision

LABELLED = Path(__file__).resolve().parents[2] / "tests" / "data" / "faq_jd_proposals_labelled.tsv"


def load_labelled(path: Path = LABELLED) -> list[tuple[int, str, str]]:
    """(label, question, answer) rows of the hand-labelled JD proposals."""
    out: list[tuple[int, str, str]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            label, question, answer = line.split("\t", 2)
            out.append((int(label), question, answer))
    return out


def evaluate_proposals(
    folder: Path, labelled: Path = LABELLED, progress: Progress = _quiet
) -> dict[str, Any]:
    """Share of correct pairs among the labelled sample, and among the labelled pairs that
    today's learner (defaults, JDDC training chats) still proposes."""
    rows = load_labelled(labelled)
    progress("learning from the JDDC training chats")
    train = load_jddc(folder / "jddc_baseline_train_context.txt")
    proposals = learn(jddc_conversations(train))
    pairs = {(q, p.answer) for p in proposals for q in (p.question, *p.variants)}
    kept = [lab for lab, q, a in rows if (q, a) in pairs]
    return {
        "labelled": len(rows),
        "precision_labelled": round(sum(lab for lab, _, _ in rows) / len(rows), 4),
        "proposals_now": len(proposals),
        "labelled_still_proposed": len(kept),
        "precision_still_proposed": round(sum(kept) / len(kept), 4) if kept else None,
    }


# ---------------------------------------------------------------- JDDC: the store's bot


def char_f1(a: str, b: str) -> float:
    """Character F1 of two replies (placeholders, punctuation and spaces removed)."""
    ca, cb = Counter(normalize(a)), Counter(normalize(b))
    common = sum((ca & cb).values())
    if not common:
        return 0.0
    p, r = common / sum(ca.values()), common / sum(cb.values())
    return 2 * p * r / (p + r)


def exact(a: str, b: str) -> bool:
    """The same reply once placeholders, punctuation, fillers and digits are normalised."""
    sa = signature(a)
    return bool(sa) and sa == signature(b)


def evaluate_jddc_bot(
    folder: Path, limit: int | None = None, progress: Progress = _quiet
) -> dict[str, Any]:
    """The bot as a store would run it on JD chats: `learn` with its defaults on the training
    chats, every proposal approved, each test context's last buyer turn answered by
    `FaqIndex.answer` at the default threshold (the engine's own call); an unsure bot sends
    its unsure text. Smart assist (approved entries + past replies) is scored @5.
    Baselines of the same run: always the most frequent training reply, plain BM25.
    """
    from kefu.engine.settings import BotSection
    from kefu.faq.assist import Assistant

    progress("reading JDDC")
    train = load_jddc(folder / "jddc_baseline_train_context.txt", limit)
    test = [p for p in load_jddc(folder / "jddc_baseline_test_context.txt", limit)
            if signature(p.reply)]  # fmt: skip
    chats = jddc_conversations(train)
    progress("learning (defaults)")
    proposals = learn(chats)
    items = accepted(approve(p, "eval", at=0) for p in proposals)
    section = BotSection()
    bot = FaqIndex.build(items, threshold=section.threshold)
    frequent = Counter(signature(p.reply) for p in train if signature(p.reply))
    top_sig = frequent.most_common(1)[0][0]
    top_reply = next(p.reply for p in train if signature(p.reply) == top_sig)
    base = PlainBM25(train)
    progress("smart assist")
    assist = Assistant.build(items, chats)
    progress("answering")
    sent: list[str] = []
    answered = 0
    bm25_top: list[str] = []
    suggestions: list[list[str]] = []
    for p in test:
        ans = bot.answer(p.query)
        if ans is not None and ans.confident:
            answered += 1
            sent.append(ans.text)
        else:
            sent.append(section.unsure_text if ans is not None else section.miss_text)
        top = base.replies(p.query, k=1)
        bm25_top.append(top[0] if top else "")
        suggestions.append([s.text for s in assist.suggest(p.query, k=5)])

    def figures(replies: list[str]) -> dict[str, float]:
        n = len(test) or 1
        return {
            "exact@1": round(
                sum(exact(r, p.reply) for r, p in zip(replies, test, strict=True)) / n, 4
            ),
            "char_f1@1": round(
                sum(char_f1(r, p.reply) for r, p in zip(replies, test, strict=True)) / n, 4
            ),
        }

    n = len(test) or 1
    return {
        "test_lines": len(test),
        "proposals": len(proposals),
        "bot": {**figures(sent), "answer_rate": round(answered / n, 4)},
        "most_frequent_reply": figures([top_reply] * len(test)),
        "bm25": figures(bm25_top),
        "assist_exact@5": round(
            sum(any(exact(s, p.reply) for s in ss) for ss, p in zip(suggestions, test, strict=True))
            / n,
            4,
        ),
        "assist_char_f1@1": round(
            sum(
                char_f1(ss[0] if ss else "", p.reply)
                for ss, p in zip(suggestions, test, strict=True)
            )
            / n,
            4,
        ),
    }
