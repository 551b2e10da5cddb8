"""Training and evaluating the purchase-intent model (`kefu train intent`, `kefu eval intent`).

Samples are (buyer, cut time) pairs: the features at the cut, from everything before it,
replayed through `intent_model.track` (and, for comparison, the rule-based score through
`kefu.guide.intent`'s own handlers); label 1 when the buyer orders within the next
`horizon_h` hours after the cut.

- Taobao UserBehavior sample (real): pv → view, cart → cart.add, fav → favorite, buy → order,
  events outside the official window (2017-11-25 .. 12-03, UTC+8) dropped. A cut at every
  product view — the moment a buyer could send that product's card — whose horizon ends
  inside the window. Users split by a stable hash: ~30 % held out for evaluation. (Cuts on a
  fixed 6-hourly grid were tried first: with ~13 held-out users, no feature separated buyers
  there, the rules included, so the grid mostly measured who is a heavy user.)
- Simulated stores (`kefu.sim.generate`): cuts at every buyer message (when the guide asks)
  and every product view. Only for training; the figures are on held-out real users.
"""

from __future__ import annotations

import csv
import zlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from kefu.engine import events as ev
from kefu.engine.state import StoreState
from kefu.guide import intent
from kefu.guide.intent_model import (
    FEATURES,
    HORIZON_H,
    HOUR_MS,
    History,
    IntentModel,
    features,
    rule_ctx,
    track,
)
from kefu.testing import shared_data_root

TAOBAO = "behaviour/taobao_userbehavior_sample.csv"
CST = timezone(timedelta(hours=8))
TAOBAO_START = int(datetime(2017, 11, 25, tzinfo=CST).timestamp() * 1000)
TAOBAO_END = int(datetime(2017, 12, 4, tzinfo=CST).timestamp() * 1000)
TEST_SHARE = 30  # percent of real users held out
PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.9,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "seed": 7,
    "deterministic": True,
    "num_threads": 2,
    "verbose": -1,
}


@dataclass
class Samples:
    """Feature rows, labels, the rule-based score of each row and whose row it is."""

    x: list[list[float]] = field(default_factory=list)
    y: list[int] = field(default_factory=list)
    rule: list[float] = field(default_factory=list)
    buyer: list[str] = field(default_factory=list)
    ts: list[int] = field(default_factory=list)

    def extend(self, other: Samples) -> None:
        """Append another sample set."""
        self.x += other.x
        self.y += other.y
        self.rule += other.rule
        self.buyer += other.buyer
        self.ts += other.ts

    def take(self, mask: np.ndarray) -> Samples:
        """The rows where `mask` is true."""
        idx = np.flatnonzero(mask)
        return Samples([self.x[i] for i in idx], [self.y[i] for i in idx],
                       [self.rule[i] for i in idx], [self.buyer[i] for i in idx],
                       [self.ts[i] for i in idx])  # fmt: skip

    def __len__(self) -> int:
        return len(self.y)


def replay(
    events: Iterable[Any], cuts: dict[str, list[int]], horizon_h: int = HORIZON_H
) -> Samples:
    """Features and rule scores at each cut, labels from the orders that follow it."""
    evs = sorted(events, key=lambda e: e.at)
    orders: dict[str, list[int]] = defaultdict(list)
    for e in evs:
        if isinstance(e, ev.Order):
            orders[e.buyer].append(e.at)
    timeline: list[tuple[int, int, Any]] = [(e.at, 0, e) for e in evs]
    timeline += [(t, 1, b) for b, ts in cuts.items() for t in ts]
    timeline.sort(key=lambda r: (r[0], r[1]))  # a cut sees the events of its own instant
    table: dict[str, History] = {}
    st = StoreState(store="replay")
    handlers = intent.CAPABILITY.events
    horizon = horizon_h * HOUR_MS
    out = Samples()
    for ts, is_cut, item in timeline:
        if not is_cut:
            track(table, item, ts)
            handler = handlers.get(item.__struct_config__.tag)
            if handler is not None:
                handler(st, item, rule_ctx(ts))
            continue
        h = table.get(item)
        if h is None:
            continue
        out.x.append(features(h, ts))
        out.y.append(int(any(ts < o <= ts + horizon for o in orders[item])))
        out.rule.append(intent.score(st, item, ts))
        out.buyer.append(item)
        out.ts.append(ts)
    return out


def held_out(user: str) -> bool:
    """Is this real user in the evaluation share (stable across runs and machines)?"""
    return zlib.crc32(user.encode()) % 100 < TEST_SHARE


def taobao_events(path: Path) -> list[Any]:
    """The Taobao sample as kefu events (store `taobao`)."""
    out: list[Any] = []
    with path.open(encoding="utf-8", newline="") as f:
        for n, row in enumerate(csv.DictReader(f)):
            ts = int(row["timestamp"]) * 1000
            if not TAOBAO_START <= ts < TAOBAO_END:
                continue
            kind, buyer, item = row["behavior_type"], row["user_id"], row["item_id"]
            common: dict[str, Any] = {"ts": ts, "store": "taobao", "buyer": buyer}
            if kind == "pv":
                out.append(ev.View(**common, product=item))
            elif kind == "cart":
                out.append(ev.CartAdd(**common, product=item))
            elif kind == "fav":
                out.append(ev.Favorite(**common, product=item))
            elif kind == "buy":
                out.append(ev.Order(**common, order=f"tb{n}", items=[ev.OrderItem(product=item)],
                                    amount=0.0))  # fmt: skip
    return out


def taobao_samples(
    path: Path | None = None, horizon_h: int = HORIZON_H, test: bool | None = None
) -> Samples:
    """Samples of the real Taobao users (`test`: only held-out users, only the others, all)."""
    events = taobao_events(path or shared_data_root() / TAOBAO)
    if test is not None:
        events = [e for e in events if held_out(e.buyer) == test]
    last = TAOBAO_END - horizon_h * HOUR_MS
    cuts: dict[str, list[int]] = defaultdict(list)
    for e in events:
        if isinstance(e, ev.View) and e.at <= last:
            cuts[e.buyer].append(e.at)
    return replay(events, cuts, horizon_h)


def sim_samples(buyers: int, days: int, seed: int, horizon_h: int = HORIZON_H) -> Samples:
    """Samples of one simulated store: cuts at buyer messages and product views."""
    from kefu.sim import generate

    decode = msgspec.json.Decoder(ev.AnyEvent).decode
    events = [decode(line) for line in generate(stores=1, buyers=buyers, days=days, seed=seed)]
    cuts: dict[str, list[int]] = defaultdict(list)
    for e in events:
        if isinstance(e, ev.View) or (isinstance(e, ev.Message) and e.sender == "buyer"):
            cuts[e.buyer].append(e.at)
    last = max((e.at for e in events), default=0) - horizon_h * HOUR_MS
    cuts = {b: [t for t in ts if t <= last] for b, ts in cuts.items()}
    return replay(events, cuts, horizon_h)


def fit(samples: Samples, weights: list[float] | None = None, rounds: int = 200) -> Any:
    """A LightGBM booster over `FEATURES`."""
    import lightgbm as lgb

    data = lgb.Dataset(np.asarray(samples.x, dtype=np.float64), label=np.asarray(samples.y),
                       weight=weights, feature_name=list(FEATURES), free_raw_data=True)  # fmt: skip
    return lgb.train(PARAMS, data, num_boost_round=rounds)


def train(
    out: Path,
    taobao: Path | None = None,
    sim_buyers: int = 1000,
    sim_days: int = 14,
    seed: int = 1,
    horizon_h: int = HORIZON_H,
    rounds: int = 200,
) -> dict[str, Any]:
    """Train on simulated stores plus the non-held-out real users; save a LightGBM text file.

    The real samples are weighted so that they weigh as much in total as the simulated ones.
    """
    real = taobao_samples(taobao, horizon_h, test=False)
    both = Samples()
    weights: list[float] = []
    if sim_buyers > 0:
        sim = sim_samples(sim_buyers, sim_days, seed, horizon_h)
        both.extend(sim)
        weights += [1.0] * len(sim)
    real_w = max(1.0, (len(both) / len(real)) if len(real) else 1.0)
    both.extend(real)
    weights += [real_w] * len(real)
    booster = fit(both, weights, rounds)
    out.parent.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(out))
    return {
        "model": str(out),
        "samples_sim": len(both) - len(real),
        "samples_real": len(real),
        "positives_real": int(sum(real.y)),
        "real_weight": round(real_w, 3),
        "horizon_h": horizon_h,
    }


def auc(y: Iterable[int], p: Iterable[float]) -> float:
    """Area under the ROC curve (Mann-Whitney, ties count half); 0.5 without both classes."""
    from scipy.stats import rankdata

    ya, pa = np.asarray(list(y)), np.asarray(list(p), dtype=np.float64)
    pos, neg = int(ya.sum()), int(len(ya) - ya.sum())
    if pos == 0 or neg == 0:
        return 0.5
    ranks = rankdata(pa)
    return float((ranks[ya == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def calibration(y: Iterable[int], p: Iterable[float], bins: int = 10) -> dict[str, Any]:
    """Reliability table (equal-width bins), expected calibration error and Brier score."""
    ya, pa = np.asarray(list(y), dtype=np.float64), np.asarray(list(p), dtype=np.float64)
    idx = np.minimum((pa * bins).astype(int), bins - 1)
    table, ece = [], 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            mean_p, rate = float(pa[m].mean()), float(ya[m].mean())
            ece += m.sum() / len(pa) * abs(mean_p - rate)
            table.append({"bin": f"{b / bins:.1f}-{(b + 1) / bins:.1f}", "n": int(m.sum()),
                          "mean_score": round(mean_p, 4), "buy_rate": round(rate, 4)})  # fmt: skip
    brier = float(((pa - ya) ** 2).mean()) if len(pa) else 0.0
    return {"ece": round(float(ece), 4), "brier": round(brier, 4), "bins": table}


def at_threshold(y: Iterable[int], p: Iterable[float], threshold: float) -> dict[str, Any]:
    """Precision and recall of 'score ≥ threshold' as a buy prediction."""
    ya, pa = np.asarray(list(y)), np.asarray(list(p), dtype=np.float64)
    flagged = pa >= threshold
    tp = int((flagged & (ya == 1)).sum())
    return {
        "threshold": threshold,
        "flagged": int(flagged.sum()),
        "precision": round(tp / int(flagged.sum()), 4) if flagged.any() else None,
        "recall": round(tp / int(ya.sum()), 4) if ya.sum() else None,
    }


def evaluate(
    model_path: Path | None,
    taobao: Path | None = None,
    threshold: float = 0.5,
    horizon_h: int = HORIZON_H,
) -> dict[str, Any]:
    """Model (or fallback) versus the rule-based score and a constant, on held-out real users."""
    s = taobao_samples(taobao, horizon_h, test=True)
    model = IntentModel.load(model_path) if model_path is not None else None
    scores = model.predict(s.x) if model is not None else np.asarray(s.rule, dtype=np.float64)
    result: dict[str, Any] = {
        "scorer": "lightgbm" if model is not None else "rule-based (no model)",
        "users": len(set(s.buyer)),
        "samples": len(s),
        "positives": int(sum(s.y)),
        "horizon_h": horizon_h,
        "auc": round(auc(s.y, scores), 4),
        "auc_rule_based": round(auc(s.y, s.rule), 4),
        "auc_constant": 0.5,
        **at_threshold(s.y, scores, threshold),
        "calibration": calibration(s.y, scores),
    }
    return result


# -- the time split over all users (what a store lives with) ----------------------------------
DAY_MS = 24 * HOUR_MS
THRESHOLDS = tuple(round(0.1 * i, 1) for i in range(10))


def average_precision(y: Iterable[int], p: Iterable[float]) -> float:
    """PR-AUC as average precision: the mean precision at the rank of each positive."""
    ya, pa = np.asarray(list(y)), np.asarray(list(p), dtype=np.float64)
    if ya.sum() == 0:
        return 0.0
    order = np.argsort(-pa, kind="stable")
    hits = ya[order]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((precision * hits).sum() / hits.sum())


def platt(scores: np.ndarray, y: np.ndarray, steps: int = 50) -> tuple[float, float]:
    """Platt scaling: a, b of sigmoid(a·logit(score) + b) by Newton's method (ridge 1e-3)."""
    x = np.log(np.clip(scores, 1e-6, 1 - 1e-6) / (1 - np.clip(scores, 1e-6, 1 - 1e-6)))
    w = np.zeros(2)
    xb = np.column_stack([x, np.ones_like(x)])
    for _ in range(steps):
        q = 1 / (1 + np.exp(-(xb @ w)))
        grad = xb.T @ (q - y) + 1e-3 * w
        hess = (xb * (q * (1 - q))[:, None]).T @ xb + 1e-3 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    return float(w[0]), float(w[1])


def calibrated(scores: np.ndarray, ab: tuple[float, float]) -> np.ndarray:
    """Scores mapped through a Platt fit."""
    x = np.log(np.clip(scores, 1e-6, 1 - 1e-6) / (1 - np.clip(scores, 1e-6, 1 - 1e-6)))
    return np.asarray(1 / (1 + np.exp(-(ab[0] * x + ab[1]))))


def _size(s: Samples) -> dict[str, int]:
    return {"samples": len(s), "positives": int(sum(s.y)), "users": len(set(s.buyer))}


def _report(y: list[int], p: np.ndarray) -> dict[str, Any]:
    cal = calibration(y, p)
    return {"auc": round(auc(y, p), 4), "pr_auc": round(average_precision(y, p), 4),
            "brier": cal["brier"], "ece": cal["ece"], "reliability": cal["bins"]}  # fmt: skip


def best_threshold(y: list[int], p: list[float]) -> dict[str, Any]:
    """The threshold (0, 0.1, … 0.9) with the best F1 of 'score ≥ t' as a buy prediction;
    ties go to the lower threshold (more buyers see the panel)."""
    rows = []
    for t in THRESHOLDS:
        r = at_threshold(y, p, t)
        prec, rec = r["precision"] or 0.0, r["recall"] or 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        rows.append({**r, "f1": round(f1, 4)})
    best = max(rows, key=lambda r: (r["f1"], -r["threshold"]))
    return {"threshold": best["threshold"], "table": rows}


def evaluate_timesplit(
    taobao: Path | None = None,
    horizon_h: int = HORIZON_H,
    train_days: int = 6,
    rounds: int = 200,
) -> dict[str, Any]:
    """Every Taobao user, split by time: the model learns from cuts whose label is known by
    day `train_days` (Platt-calibrated on the last day of those), and is tested on cuts from
    that day on. The rule-based score and a constant (the training base rate) are scored on
    the same test cuts; a learning curve (training users and training days) shows what more
    data would do. The rule-based score's best threshold on the *training* window is what
    `guide.min_intent` should be while no model is trained."""
    s = taobao_samples(taobao, horizon_h, test=None)
    ts = np.asarray(s.ts)
    h = horizon_h * HOUR_MS
    split = TAOBAO_START + train_days * DAY_MS
    train = s.take(ts + h <= split)
    test = s.take(ts >= split)
    fit_part = train.take(np.asarray(train.ts) + h <= split - DAY_MS)
    cal_part = train.take(np.asarray(train.ts) + h > split - DAY_MS)
    result: dict[str, Any] = {
        "protocol": "timesplit",
        "users": len(set(s.buyer)),
        "train": _size(train),
        "test": _size(test),
        "horizon_h": horizon_h,
        "split": datetime.fromtimestamp(split / 1000, CST).isoformat(),
        "methods": {},
    }
    if not len(test) or not sum(train.y):
        return result
    base = sum(train.y) / len(train)
    result["methods"]["constant"] = _report(test.y, np.full(len(test), base))
    result["methods"]["rule-based"] = _report(test.y, np.asarray(test.rule))
    try:
        import lightgbm  # noqa: F401
    except ImportError:
        return result
    booster = fit(fit_part if sum(fit_part.y) else train, rounds=rounds)
    ab = (1.0, 0.0)
    if len(cal_part) and 0 < sum(cal_part.y) < len(cal_part):
        ab = platt(booster.predict(np.asarray(cal_part.x)), np.asarray(cal_part.y, float))
    raw = booster.predict(np.asarray(test.x))
    result["methods"]["lightgbm"] = _report(test.y, raw)
    result["methods"]["lightgbm-calibrated"] = _report(test.y, calibrated(raw, ab))
    result["platt"] = {"a": round(ab[0], 4), "b": round(ab[1], 4)}
    result["min_intent_rule_based"] = {
        "train": best_threshold(train.y, train.rule),
        "test": [at_threshold(test.y, test.rule, t) for t in THRESHOLDS],
        "test_base_rate": round(sum(test.y) / len(test), 4),
    }
    result["learning_curve"] = learning_curve(train, test, rounds)
    return result


def learning_curve(train: Samples, test: Samples, rounds: int = 200) -> dict[str, Any]:
    """Test AUC of models trained on a share of the training users (3 seeded draws each) and
    on the last d days of the training window."""
    users = sorted(set(train.buyer))
    by_users = []
    for share in (0.25, 0.5, 0.75, 1.0):
        aucs = []
        for seed in range(3 if share < 1.0 else 1):
            rng = np.random.default_rng(seed)
            pick = set(rng.choice(users, max(2, int(len(users) * share)), replace=False))
            part = train.take(np.array([b in pick for b in train.buyer]))
            if 0 < sum(part.y) < len(part):
                aucs.append(auc(test.y, fit(part, rounds=rounds).predict(np.asarray(test.x))))
        by_users.append({"users": int(len(users) * share), "samples": None,
                         "auc": round(float(np.mean(aucs)), 4) if aucs else None})  # fmt: skip
    tmax = max(train.ts)
    by_days = []
    for days in (1, 2, 3, 4, 5):
        part = train.take(np.asarray(train.ts) >= tmax - days * DAY_MS)
        if 0 < sum(part.y) < len(part):
            a = auc(test.y, fit(part, rounds=rounds).predict(np.asarray(test.x)))
            by_days.append({"days": days, "samples": len(part), "auc": round(a, 4)})
    return {"by_users": by_users, "by_days": by_days}
