"""The store-FAQ paraphrase evaluation: a day-one store FAQ asked in buyers' own words.

`kefu/faq/data/store_faq.json` is a store's 26 canonical questions with answers (no variants,
no keywords) and four products with attributes; `paraphrase_dev.tsv` and
`paraphrase_test.tsv` are buyer wordings labelled with the entry that answers them (`-`: none
does). The bot is asked exactly as the engine asks it (`FaqIndex.answer`, default threshold);
baselines in the same run: the nearest canonical question by character-bigram Jaccard and
plain BM25 over jieba words, each with its refusal threshold fitted on the dev file.
Thresholds and weights are chosen on dev; the test file is only ever reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from kefu.faq.index import DEFAULT_THRESHOLD, FaqIndex, FaqItem, product_items
from kefu.faq.text import normalize

DATA = Path(__file__).parent / "data"
OUT = "-"


@dataclass(frozen=True, slots=True)
class Case:
    """A buyer's question and the entry that answers it (None: out of scope)."""

    text: str
    label: str | None


def load_store(path: Path = DATA / "store_faq.json") -> tuple[list[FaqItem], list[dict]]:
    """The store's FAQ entries and products."""
    doc = orjson.loads(path.read_bytes())
    items = [FaqItem(e["faq"], e["question"], e["answer"]) for e in doc["faq"]]
    return items, list(doc["products"])


def load_cases(path: Path) -> list[Case]:
    """label<TAB>question lines (# comments and blank lines skipped)."""
    out: list[Case] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, text = line.split("\t", 1)
        out.append(Case(text.strip(), None if label == OUT else label))
    return out


def score(answers: list[tuple[str | None, float]], cases: list[Case], threshold: float) -> dict:
    """In-scope top-1 (answered with the right entry), wrong-answer rate, out-of-scope refusal.

    `answers` holds each case's top entry and its confidence; an answer below `threshold`
    is a refusal (the bot says it is unsure). `top1_any` ignores the threshold.
    """
    ins = [(a, c) for a, c in zip(answers, cases, strict=True) if c.label is not None]
    outs = [(a, c) for a, c in zip(answers, cases, strict=True) if c.label is None]
    right = sum(1 for (f, s), c in ins if f == c.label and s >= threshold)
    wrong_in = sum(1 for (f, s), c in ins if f is not None and f != c.label and s >= threshold)
    wrong_out = sum(1 for (f, s), _ in outs if f is not None and s >= threshold)
    return {
        "in_scope": len(ins),
        "out_of_scope": len(outs),
        "top1": round(right / len(ins), 4) if ins else 0.0,
        "top1_any": round(sum(1 for (f, _), c in ins if f == c.label) / len(ins), 4)
        if ins
        else 0.0,
        "wrong_in_scope": round(wrong_in / len(ins), 4) if ins else 0.0,
        "wrong_answer_rate": round((wrong_in + wrong_out) / len(cases), 4) if cases else 0.0,
        "refusal": round(1 - wrong_out / len(outs), 4) if outs else 0.0,
        "threshold": round(threshold, 4),
    }


def bot_answers(index: FaqIndex, cases: list[Case]) -> list[tuple[str | None, float]]:
    """The bot's top entry and confidence per case, through `FaqIndex.answer` (threshold 0)."""
    out: list[tuple[str | None, float]] = []
    for c in cases:
        a = index.answer(c.text)
        out.append((None, 0.0) if a is None else (a.faq, float(a.score)))
    return out


def _bigrams(s: str) -> set[str]:
    s = normalize(s)
    return {s[i : i + 2] for i in range(len(s) - 1)} if len(s) > 1 else ({s} if s else set())


def jaccard_answers(items: list[FaqItem], cases: list[Case]) -> list[tuple[str | None, float]]:
    """Baseline: the entry whose question has the highest character-bigram Jaccard."""
    grams = [(it.faq, _bigrams(it.question)) for it in items]
    out: list[tuple[str | None, float]] = []
    for c in cases:
        q = _bigrams(c.text)
        best: tuple[float, str] | None = None
        for faq, g in grams:
            j = len(q & g) / len(q | g) if q | g else 0.0
            if j > 0 and (best is None or j > best[0] or (j == best[0] and faq < best[1])):
                best = (j, faq)
        out.append((None, 0.0) if best is None else (best[1], best[0]))
    return out


def bm25_answers(items: list[FaqItem], cases: list[Case]) -> list[tuple[str | None, float]]:
    """Baseline: plain BM25 over jieba words of the questions (no synonyms, no answers)."""
    import bm25s

    from kefu.faq.text import tokenizer

    def toks(s: str) -> list[str]:
        return [w for w in tokenizer().lcut(normalize(s)) if w.strip()]

    bm = bm25s.BM25()
    bm.index([toks(it.question) or ["_"] for it in items], show_progress=False)
    vocab = bm.vocab_dict
    out: list[tuple[str | None, float]] = []
    for c in cases:
        ids = [vocab[t] for t in toks(c.text) if t in vocab]
        if not ids:
            out.append((None, 0.0))
            continue
        sc = bm.get_scores_from_ids(ids)
        best = max(range(len(items)), key=lambda i: (float(sc[i]), -i))
        out.append((items[best].faq, float(sc[best])) if sc[best] > 0 else (None, 0.0))
    return out


def fit_threshold(answers: list[tuple[str | None, float]], cases: list[Case]) -> float:
    """The threshold with the most right answers minus wrong ones (refusals cost nothing)."""
    cands = sorted({s for _, s in answers} | {0.0})
    best_t, best_u = 0.0, -1e9
    for t in cands:
        m = score(answers, cases, t)
        u = m["top1"] * m["in_scope"] - m["wrong_answer_rate"] * (m["in_scope"] + m["out_of_scope"])
        if u > best_u:
            best_t, best_u = t, u
    return best_t


def reliability(answers: list[tuple[str | None, float]], cases: list[Case], bins: int = 5) -> list:
    """Confidence bins of the bot's top answer: [lo, hi, n, mean confidence, share right]."""
    rows: list[list[float]] = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        sel = [(f, s, c) for (f, s), c in zip(answers, cases, strict=True)
               if f is not None and lo <= s < hi + (1e-9 if b == bins - 1 else 0)]  # fmt: skip
        if sel:
            ok = sum(1 for f, _, c in sel if f == c.label) / len(sel)
            mean = sum(s for _, s, _ in sel) / len(sel)
            rows.append([lo, hi, len(sel), round(mean, 3), round(ok, 3)])
    return rows


def evaluate_store(
    threshold: float = DEFAULT_THRESHOLD,
    data: Path = DATA,
    progress: Callable[[str], None] = lambda _m: None,
) -> dict[str, Any]:
    """The bot (default threshold) and both baselines on the dev and the test wordings."""
    items, products = load_store(data / "store_faq.json")
    dev = load_cases(data / "paraphrase_dev.tsv")
    test = load_cases(data / "paraphrase_test.tsv")
    index = FaqIndex.build(items, products=products, threshold=0.0)
    flat = [*items, *product_items(products)]  # baselines see the product entries too
    doc: dict[str, Any] = {"entries": len(items), "product_entries": len(flat) - len(items)}
    progress("the bot")
    bot = {name: bot_answers(index, cases) for name, cases in (("dev", dev), ("test", test))}
    doc["bot"] = {name: score(bot[name], cases, threshold)
                  for name, cases in (("dev", dev), ("test", test))}  # fmt: skip
    doc["bot"]["reliability_test"] = reliability(bot["test"], test)
    doc["bot"]["threshold_best_on_dev"] = round(fit_threshold(bot["dev"], dev), 4)
    for name, fn in (("jaccard", jaccard_answers), ("bm25", bm25_answers)):
        progress(name)
        d, t = fn(flat, dev), fn(flat, test)
        th = fit_threshold(d, dev)
        doc[name] = {"dev": score(d, dev, th), "test": score(t, test, th)}
    return doc
