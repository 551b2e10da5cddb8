"""The trained purchase-intent model: features tracked from events, LightGBM on top.

`score(st, buyer, now, model)` is the model's probability that the buyer orders within the
next `HORIZON_H` hours; without a model (none trained, LightGBM not installed, a model file
with other features) it is `kefu.guide.intent.score`, the documented rule-based score.

Features are computed by one tracker fed the engine's own events (`CAPABILITY`, state in
`st.ext["intent_history"]`), and training replays the data through the very same tracker,
so what the model learnt from is exactly what it sees when serving. Per buyer, from the last
24 h: views, distinct and repeatedly viewed products, dwell, carts, favourites, searches,
product cards and buyer messages (the conversation), the kinds of buying questions (size,
stock, price, delivery, discount) and purchase words found by jieba; from the whole history:
views, carts, favourites and orders so far, active days, time since the last order.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import msgspec
import numpy as np

from kefu.engine import events as ev
from kefu.engine.actions import Action
from kefu.engine.core import Capability, Ctx
from kefu.engine.state import StoreState
from kefu.guide import intent

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
HORIZON_H = 24
MAX_RECENT = 400
VIEW, CART, FAV, SEARCH, CARD, MSG = range(6)
# Words of a buyer who is about to buy (jieba tokens; substring match without jieba).
BUY_WORDS = frozenset(
    {"买", "购买", "下单", "拍", "拍下", "付款", "支付", "我要", "要了", "链接", "包邮", "现货"}
    | {"发货", "多少钱", "优惠", "便宜", "库存", "有货", "尺码", "合适", "推荐"}
)
NEGATIONS = ("不", "别", "没", "不想", "不要")
FEATURES = (
    "views_24h",
    "products_viewed_24h",
    "repeat_views_24h",
    "max_views_one_product_24h",
    "dwell_s_24h",
    "dwell_max_s_24h",
    "carts_24h",
    "favorites_24h",
    "searches_24h",
    "cards_24h",
    "buyer_messages_24h",
    "question_kinds_24h",
    "q_size",
    "q_stock",
    "q_price",
    "q_delivery",
    "q_discount",
    "buy_words_24h",
    "views_total",
    "carts_total",
    "favorites_total",
    "orders_total",
    "active_days",
    "hours_since_last_order",
    "minutes_since_last_event",
    "minutes_since_last_cart",
)
NONE_YET = 10_000.0  # "never" for the time-since features (hours / minutes)

log = logging.getLogger(__name__)


class History(msgspec.Struct, kw_only=True):
    """What the model needs to know about one buyer: 24 h of detail, totals for the rest."""

    recent: list[tuple[int, int, str, float]] = msgspec.field(default_factory=list)
    questions: dict[str, int] = msgspec.field(default_factory=dict)
    views: int = 0
    carts: int = 0
    favorites: int = 0
    orders: int = 0
    active_days: int = 0
    last_day: int = -1
    last_order: int = -1
    last_event: int = -1
    last_cart: int = -1


def histories(st: StoreState) -> dict[str, History]:
    """The store's per-buyer feature histories (in the state, so snapshots carry them)."""
    table: dict[str, History] | None = st.ext.get("intent_history")
    if table is None:
        table = st.ext["intent_history"] = {}
    return table


def _touch(table: dict[str, History], buyer: str, now: int) -> History:
    h = table.get(buyer)
    if h is None:
        h = table[buyer] = History()
    day = now // DAY_MS
    if day != h.last_day:
        h.active_days += 1
        h.last_day = day
    h.last_event = max(h.last_event, now)
    if h.recent and (now - h.recent[0][0] > DAY_MS or len(h.recent) >= MAX_RECENT):
        h.recent = [r for r in h.recent[-MAX_RECENT // 2 :] if now - r[0] <= DAY_MS]
    return h


def track(table: dict[str, History], e: Any, now: int) -> None:
    """Update the buyer's history with one event (other event types are ignored)."""
    if isinstance(e, ev.View):
        h = _touch(table, e.buyer, now)
        h.views += 1
        h.recent.append((now, VIEW, e.product, float(e.dwell_s or 0.0)))
    elif isinstance(e, ev.CartAdd):
        h = _touch(table, e.buyer, now)
        h.carts += 1
        h.last_cart = now
        h.recent.append((now, CART, e.product, 0.0))
    elif isinstance(e, ev.Favorite):
        h = _touch(table, e.buyer, now)
        h.favorites += 1
        h.recent.append((now, FAV, e.product, 0.0))
    elif isinstance(e, ev.Search):
        _touch(table, e.buyer, now).recent.append((now, SEARCH, "", 0.0))
    elif isinstance(e, ev.Message) and e.sender == "buyer":
        h = _touch(table, e.buyer, now)
        for pid in [e.product] if e.product else (e.products or []):
            h.recent.append((now, CARD, pid, 0.0))
        h.recent.append((now, MSG, "", float(buy_words(e.text))))
        for kind in intent.question_kinds(e.text):
            h.questions[kind] = now
    elif isinstance(e, ev.Order):
        h = _touch(table, e.buyer, now)
        h.orders += 1
        h.last_order = now


def features(h: History, now: int) -> list[float]:
    """The model's inputs for one buyer at `now`, in `FEATURES` order."""
    fresh = [r for r in h.recent if 0 <= now - r[0] <= DAY_MS]
    per_product: dict[str, int] = {}
    counts = [0] * 6
    dwell = dwell_max = words = 0.0
    for _, kind, pid, value in fresh:
        counts[kind] += 1
        if kind == VIEW:
            per_product[pid] = per_product.get(pid, 0) + 1
            dwell += value
            dwell_max = max(dwell_max, value)
        elif kind == MSG:
            words += value
    asked = {k for k, t in h.questions.items() if 0 <= now - t <= DAY_MS}
    return [
        counts[VIEW],
        len(per_product),
        counts[VIEW] - len(per_product),
        max(per_product.values(), default=0),
        dwell,
        dwell_max,
        counts[CART],
        counts[FAV],
        counts[SEARCH],
        counts[CARD],
        counts[MSG],
        len(asked),
        *(float(k in asked) for k in ("size", "stock", "price", "delivery", "discount")),
        words,
        h.views,
        h.carts,
        h.favorites,
        h.orders,
        h.active_days,
        (now - h.last_order) / HOUR_MS if h.last_order >= 0 else NONE_YET,
        (now - h.last_event) / 60_000 if h.last_event >= 0 else NONE_YET,
        (now - h.last_cart) / 60_000 if h.last_cart >= 0 else NONE_YET,
    ]


_jieba: Any = None


def buy_words(text: str) -> int:
    """Purchase words in a buyer's message (jieba tokens when installed), negated ones not."""
    global _jieba
    if not text:
        return 0
    if _jieba is None:
        try:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            _jieba = jieba
        except ImportError:  # pragma: no cover - jieba is a dependency
            _jieba = False
    if _jieba:
        tokens = _jieba.lcut(text)
        n, i = 0, 0
        while i < len(tokens):
            # jieba splits some phrases (多少|钱, 拍|下): try each token joined to the next.
            pair = tokens[i] + tokens[i + 1] if i + 1 < len(tokens) else ""
            word = pair if pair in BUY_WORDS else tokens[i]
            if word in BUY_WORDS and not (i > 0 and tokens[i - 1] in NEGATIONS):
                n += 1
            i += 2 if word == pair else 1
        return n
    return sum(1 for w in BUY_WORDS if w in text and not any(n + w in text for n in NEGATIONS))


class IntentModel:
    """A trained LightGBM booster over `FEATURES`."""

    def __init__(self, booster: Any) -> None:
        self.booster = booster

    @classmethod
    def load(cls, path: str | Path) -> IntentModel | None:
        """The model in a LightGBM text file; None (rule-based fallback) when unusable."""
        try:
            import lightgbm as lgb
        except ImportError:
            log.warning("lightgbm is not installed: purchase intent stays rule-based")
            return None
        p = Path(path)
        if not p.exists():
            return None
        booster = lgb.Booster(model_file=str(p))
        if tuple(booster.feature_name()) != FEATURES:
            log.warning("intent model %s has other features: purchase intent stays rule-based", p)
            return None
        return cls(booster)

    def predict(self, rows: Iterable[list[float]]) -> np.ndarray:
        """Probabilities for feature rows."""
        x = np.asarray(list(rows), dtype=np.float64).reshape(-1, len(FEATURES))
        return np.asarray(self.booster.predict(x, num_threads=1), dtype=np.float64)

    def score(self, st: StoreState, buyer: str, now: int) -> float:
        """The buyer's purchase intent in [0, 1] (rule-based for a buyer never tracked)."""
        h = histories(st).get(buyer)
        if h is None:
            return intent.score(st, buyer, now)
        p = float(self.predict([features(h, now)])[0])
        return round(min(1.0, max(0.0, p)), 4) if math.isfinite(p) else 0.0


def score(st: StoreState, buyer: str, now: int, model: IntentModel | None = None) -> float:
    """Purchase intent in [0, 1]: the trained model if there is one, else the rules."""
    if model is None:
        return intent.score(st, buyer, now)
    return model.score(st, buyer, now)


_loaded: dict[str, IntentModel | None] = {}


def model_at(path: str) -> IntentModel | None:
    """The model in `path`, loaded once per process (None: unusable, the rules answer)."""
    if path not in _loaded:
        _loaded[path] = IntentModel.load(path)
        if _loaded[path] is None:
            log.warning("intent model %s not usable: purchase intent stays rule-based", path)
    return _loaded[path]


def buyer_intent(st: StoreState, buyer: str, ctx: Ctx) -> float:
    """The intent score the rules use: the store's `guide.intent_model` if set, else rules."""
    path = ctx.settings.guide.intent_model
    return score(st, buyer, ctx.now, model_at(path) if path else None)


def _on_event(st: StoreState, e: Any, ctx: Ctx) -> list[Action] | None:
    track(histories(st), e, ctx.now)
    return None


def _on_engine_event(st: StoreState, e: Any, ctx: Ctx) -> list[Action] | None:
    if ctx.settings.guide.intent_model:  # features are tracked only where a model reads them
        track(histories(st), e, ctx.now)
    return None


TRACKED = ("view", "cart.add", "favorite", "search", "message", "order")
# Training and tests: always track. The engine: only for stores whose settings name a model.
CAPABILITY = Capability(name="intent_model", events=dict.fromkeys(TRACKED, _on_event))
ENGINE_CAPABILITY = Capability(name="intent_model", events=dict.fromkeys(TRACKED, _on_engine_event))


def rule_ctx(now: int) -> Ctx:
    """A stand-in for the engine's context: `kefu.guide.intent`'s handlers read only `now`."""
    return cast(Ctx, SimpleNamespace(now=now, conversation=None))
