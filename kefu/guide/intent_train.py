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

    def extend(self, other: Samples) -> None:
        """Append another sample set."""
        self.x += other.x
        self.y += other.y
        self.rule += other.rule
        self.buyer += other.buyer

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
