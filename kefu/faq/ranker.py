"""Training the FAQ re-ranker from weak labels: `kefu faq train-ranker` writes `data/ranker.txt`.

No hand labels of the target store are used. Two sources of question pairs:

- JDDC (JD.com chats): buyer turns that agents answered with the same reply (equal reply
  signature, the 40 most frequent pleasantries left out) ask the same thing. Each episode
  indexes one wording per reply as an FAQ entry (the reply as its answer), asks another wording
  (its entry is right, every other candidate wrong) and asks wordings of replies that are not
  indexed (every candidate wrong: the bot should refuse).
- AFQMC (Alipay question pairs), the even `idx` half only (the odd half is reported by
  `kefu eval faq`): sentence 2 of a batch of pairs as entries, sentence 1 asked; the pair's
  label says whether its own entry is right, other candidates are wrong.

Rows are the index's own candidate features (`FaqIndex.candidates`), so training and answering
can never disagree. LightGBM runs single-threaded with a fixed seed: the same data gives the
same model file. Monotone constraints keep "more overlap" from ever lowering the probability.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import orjson

from kefu.faq.index import (
    CALIBRATION_PATH,
    FEATURES,
    RANKER_PATH,
    FaqIndex,
    FaqItem,
    _calibration,
    _ranker,
)
from kefu.faq.text import signature

# +1: the probability may only grow with this feature
MONOTONE = {"cover_q": 1, "cover_d": 1, "chars": 1, "sounds": 1, "ask_rel": 1, "ans_cover": 1,
            "both_cover": 1, "margin": 1, "unknown": -1}  # fmt: skip
PARAMS = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 40,
    "feature_fraction": 1.0,
    "bagging_fraction": 1.0,
    "lambda_l2": 1.0,
    "num_threads": 1,
    "deterministic": True,
    "force_row_wise": True,
    "seed": 7,
    "verbose": -1,
}
ROUNDS = 200
TRAIN_CANDIDATES = 24  # more wrong candidates per question than the bot looks at (12)
GENERIC = 40


def _rows(
    index: FaqIndex, query: str, right: str | None, x: list[list[float]], y: list[int]
) -> None:
    rows, _ = index.candidates(query)
    for i in sorted(rows):
        x.append(rows[i])
        y.append(1 if right is not None and index.items[i].faq == right else 0)


def jddc_rows(
    folder: Path, episodes: int = 12, size: int = 150, seed: int = 7
) -> tuple[list[list[float]], list[int]]:
    """Weak-label rows from JDDC training lines (buyer turns sharing an agent reply)."""
    from kefu.faq.evaluate import load_jddc

    pairs = load_jddc(folder / "jddc_baseline_train_context.txt")
    by_reply: dict[str, list[str]] = defaultdict(list)
    wording: dict[str, str] = {}
    for p in pairs:
        sig = signature(p.reply)
        if len(sig) < 6 or not p.query.strip():
            continue
        by_reply[sig].append(p.query.strip())
        wording.setdefault(sig, p.reply)
    generic = {s for s, _ in Counter({s: len(q) for s, q in by_reply.items()}).most_common(GENERIC)}
    groups = sorted(
        (s, sorted(set(qs))) for s, qs in by_reply.items() if s not in generic and len(set(qs)) > 1
    )
    rng = random.Random(seed)
    x: list[list[float]] = []
    y: list[int] = []
    for _ in range(episodes):
        chosen = rng.sample(groups, min(size * 2, len(groups)))
        inside, outside = chosen[:size], chosen[size:]
        items = []
        asks: list[tuple[str, str | None]] = []
        for n, (sig, qs) in enumerate(inside):
            first, second = rng.sample(qs, 2)
            items.append(FaqItem(f"j{n}", first, wording[sig]))
            asks.append((second, f"j{n}"))
        asks += [(rng.choice(qs), None) for _, qs in outside[: size // 3]]
        index = FaqIndex.build(items, threshold=0.0)
        index.per_field = TRAIN_CANDIDATES
        for q, right in asks:
            _rows(index, q, right, x, y)
    return x, y


def afqmc_rows(path: Path, batch: int = 400) -> tuple[list[list[float]], list[int]]:
    """Rows from the even half of the AFQMC pairs (sentence 2 indexed, sentence 1 asked)."""
    from kefu.faq.evaluate import load_afqmc

    pairs = [p for p in load_afqmc(path) if p[3] % 2 == 0]
    x: list[list[float]] = []
    y: list[int] = []
    for start in range(0, len(pairs), batch):
        chunk = pairs[start : start + batch]
        items = [FaqItem(f"a{n}", b, b) for n, (_, b, _, _) in enumerate(chunk)]
        index = FaqIndex.build(items, threshold=0.0)
        index.per_field = TRAIN_CANDIDATES
        for n, (a, _, label, _) in enumerate(chunk):
            rows, _ = index.candidates(a)
            for i in sorted(rows):
                if index.items[i].faq == f"a{n}":
                    x.append(rows[i])
                    y.append(label)
                elif label == 1:  # a strange candidate beside a known same-meaning one
                    x.append(rows[i])
                    y.append(0)
    return x, y


def train(
    jddc: Path, afqmc: Path, out: Path = RANKER_PATH, progress: Callable[[str], None] = print
) -> dict:
    """Train the re-ranker on both sources and write the model file; returns row counts."""
    import lightgbm as lgb

    progress("JDDC rows")
    xj, yj = jddc_rows(jddc)
    progress("AFQMC rows")
    xa, ya = afqmc_rows(afqmc)
    x = np.asarray(xj + xa, dtype=np.float64)
    y = np.asarray(yj + ya, dtype=np.float64)
    params = {**PARAMS, "monotone_constraints": [MONOTONE.get(f, 0) for f in FEATURES]}
    progress(f"LightGBM on {len(y)} rows")
    data = lgb.Dataset(x, y, feature_name=list(FEATURES), free_raw_data=False)
    model = lgb.train(params, data, num_boost_round=ROUNDS)
    out.write_text(model.model_to_string(), encoding="utf-8")
    _ranker.cache_clear()
    progress("calibrating on the dev wordings")
    a, b = calibrate()
    CALIBRATION_PATH.write_text(orjson.dumps({"a": a, "b": b}).decode(), encoding="utf-8")
    _calibration.cache_clear()
    return {"calibration": [a, b], "rows": len(y), "positives": int(y.sum()), "jddc_rows": len(yj),
            "afqmc_rows": len(ya), "path": str(out)}  # fmt: skip


def calibrate() -> tuple[float, float]:
    """Platt scaling of the model's output on the store dev wordings (never the test file):
    confidence = sigmoid(a * logit(p) + b), fitted on each dev question's best candidate
    (right entry or not; out-of-scope questions are never right) — the number the bot
    compares with its threshold."""
    from kefu.faq.evaluate import fit_logistic
    from kefu.faq.paraphrase import DATA, load_cases, load_store

    items, products = load_store()
    index = FaqIndex.build(items, products=products, threshold=0.0)
    x: list[list[float]] = []
    y: list[int] = []
    for case in load_cases(DATA / "paraphrase_dev.tsv"):
        rows, _ = index.candidates(case.text)
        if not rows:
            continue
        ids = sorted(rows)
        p = index.raw_probabilities([rows[i] for i in ids])
        best = max(range(len(ids)), key=lambda n: (p[n], -n))
        x.append(rows[ids[best]])
        y.append(1 if index.items[ids[best]].faq == case.label else 0)
    raw = np.clip(index.raw_probabilities(x), 1e-6, 1 - 1e-6)
    logit = np.log(raw / (1 - raw)).reshape(-1, 1)
    w = fit_logistic(logit, np.asarray(y, dtype=np.float64))
    return round(float(w[1]), 4), round(float(w[0]), 4)
