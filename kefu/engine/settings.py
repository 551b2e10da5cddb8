"""Store settings: the TOML of `spec/config.md`, validated with msgspec.

Top-level sections apply to every store; `[stores.<id>.<section>]` overrides them for one
store. Every key has a default (an empty file is valid); an unknown key or a bad value is a
`SettingsError` naming the key, never silently ignored.
"""

from __future__ import annotations

import re
import tomllib
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from msgspec import Meta

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


class SettingsError(ValueError):
    """A settings file or value that cannot be used; the message names the key."""


@lru_cache(maxsize=256)
def parse_duration(value: str) -> int:
    """ "30s", "5m", "24h", "2d" (also "250ms") to milliseconds."""
    m = _DURATION.match(value)
    if not m:
        raise ValueError(f"not a duration: {value!r} (use e.g. '30s', '5m', '24h', '2d')")
    return int(float(m.group(1)) * _UNIT_S[m.group(2)] * 1000)


Duration = Annotated[str, Meta(pattern=r"^\s*\d+(\.\d+)?\s*(ms|s|m|h|d)\s*$")]
Percent = Annotated[int, Meta(ge=0, le=100)]
Fraction = Annotated[float, Meta(ge=0, le=1)]


class _Section(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    def ms(self, name: str) -> int:
        """The duration setting `name` in milliseconds."""
        return parse_duration(getattr(self, name))


class StoreSection(_Section, frozen=True):
    timezone: str = "Asia/Shanghai"
    session_timeout: Duration = "30m"
    tier: Literal["small", "large", "auto"] = "auto"

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {self.timezone!r} - at `$.timezone`") from None


class BotSection(_Section, frozen=True):
    enabled: bool = True
    supplementary: bool = True
    greeting: str = "亲，欢迎光临，我是智能客服小助手～"
    miss_text: str = "亲，这个问题我还在学习中，您可以点击“转人工”联系人工客服哦"
    # Below this calibrated confidence the bot does not answer alone (project addition).
    threshold: Annotated[float, Meta(ge=0, le=1)] = 0.5
    unsure_text: str = "亲，这个问题我不太确定，您可以点击“转人工”让客服为您解答哦"
    # The server re-learns FAQ proposals from the store's conversations this often.
    learn: bool = True
    learn_every: Duration = "24h"
    learn_min_support: Annotated[int, Meta(ge=1, le=1000)] = 2


class RoutingRule(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """分流: buyers whose words or inquired product category match go to `group`."""

    group: Annotated[str, Meta(min_length=1)]
    keywords: list[str] = msgspec.field(default_factory=list)
    categories: list[str] = msgspec.field(default_factory=list)


class HandoffSection(_Section, frozen=True):
    enabled: bool = True
    button_ttl: Duration = "10m"
    queue: bool = True
    queue_text: str = "当前排队人数较多，您前面还有 {position} 位，请稍候"
    offline_text: str = "客服暂时不在线，请留言，我们会尽快回复您"
    full_text: str = "当前咨询人数较多，客服暂时无法接待，请稍后再试"
    rollout_percent: Percent = 100
    tiers: list[Literal["small", "large"]] = msgspec.field(
        default_factory=lambda: ["small", "large"]
    )
    ab_test: bool = False
    keywords: list[str] = msgspec.field(
        default_factory=lambda: ["人工", "转人工", "找客服", "real person"]
    )
    after_misses: Annotated[int, Meta(ge=0, le=100)] = 2


class RoutingSection(_Section, frozen=True):
    default_capacity: Annotated[int, Meta(ge=1, le=1000)] = 5
    sticky_hours: Annotated[int, Meta(ge=0, le=24 * 365)] = 48
    # rules.md §2 reply timeout: "0" = off; e.g. "3m" moves an unanswered buyer to a colleague.
    reassign_after: Annotated[str, Meta(pattern=r"^\s*(0|\d+(\.\d+)?\s*(ms|s|m|h|d))\s*$")] = "0"
    rules: list[RoutingRule] = msgspec.field(default_factory=list)

    @property
    def reassign_after_ms(self) -> int:
        """The reply timeout in milliseconds (0 = off)."""
        v = self.reassign_after.strip()
        return 0 if v == "0" else parse_duration(v)


class GuideSection(_Section, frozen=True):
    enabled: bool = True
    provider: str = "builtin"
    # 0.3 = a product card alone: on later Taobao days no rule-score threshold raised the
    # share of buyers who ordered above the base rate (kefu eval intent --protocol timesplit).
    min_intent: Fraction = 0.3
    max_items: Annotated[int, Meta(ge=0, le=20)] = 3
    copy: str = "这几款和您看的宝贝很搭，一起买更划算哦"
    # A LightGBM intent model (`kefu train intent`); "" = the rule-based score (project addition).
    intent_model: str = ""


class UrgeSection(_Section, frozen=True):
    enabled: bool = True
    delay: Duration = "5m"
    min_intent: Fraction = 0.5
    senders: list[Literal["last_agent", "assistant"]] = msgspec.field(
        default_factory=lambda: ["last_agent", "assistant"]
    )
    assistant: str = ""
    copy: Literal["item", "generated", "generic"] = "item"
    generic_text: str = "亲，您咨询的宝贝还有库存，喜欢的话可以尽快下单哦"
    alert_after: str | bool = "30m"
    aftersale_cooldown: Duration = "24h"

    def __post_init__(self) -> None:
        if self.enabled and not self.senders:
            raise ValueError("at least one sender must be enabled - at `$.senders`")
        after = self.alert_after
        if after is True:
            raise ValueError("use a duration between 5m and 120m, or false - at `$.alert_after`")
        if isinstance(after, str) and after != "":
            try:
                ms = parse_duration(after)
            except ValueError as e:
                raise ValueError(f"{e} - at `$.alert_after`") from None
            if not 5 * 60_000 <= ms <= 120 * 60_000:
                raise ValueError("must be between 5m and 120m - at `$.alert_after`")

    @property
    def alert_after_ms(self) -> int | None:
        """The fallback alert delay, or None when disabled."""
        if self.alert_after in ("", False):
            return None
        return parse_duration(str(self.alert_after))


class InsightSection(_Section, frozen=True):
    attribution: Literal["order", "payment", "order_first"] = "order"
    validity_days: Annotated[int, Meta(ge=1, le=90)] = 2
    proactive_excluded: bool = True


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True, dict=True):
    """The settings of one store."""

    store: StoreSection = StoreSection()
    bot: BotSection = BotSection()
    handoff: HandoffSection = HandoffSection()
    routing: RoutingSection = RoutingSection()
    guide: GuideSection = GuideSection()
    urge: UrgeSection = UrgeSection()
    insight: InsightSection = InsightSection()

    @cached_property
    def tz(self) -> ZoneInfo:
        """The store's timezone for day boundaries and output timestamps."""
        return ZoneInfo(self.store.timezone)


SECTIONS = tuple(Settings.__struct_fields__)


def _key_path(err: msgspec.ValidationError, prefix: str) -> str:
    msg = str(err)
    m = re.search(r"unknown field `([^`]+)`(?: - at `\$\.?([^`]*)`)?", msg)
    if m:
        where = ".".join(p for p in (prefix, m.group(2) or "", m.group(1)) if p)
        return f"unknown key `{where}`"
    # msgspec appends " - at `$.x`" once per nesting level, innermost first.
    parts = re.split(r" - at `\$\.?([^`]*)`", msg)
    if len(parts) > 1:
        path = [p for p in reversed(parts[1::2]) if p]
        where = ".".join([prefix, *path] if prefix else path)
        reason = parts[0]
        if "matching regex" in reason and "(ms|s|m|h|d)" in reason:  # a Duration, not a regex
            reason = "expected a duration such as '30s', '5m', '24h' or '2d'"
        return f"bad value for `{where}`: {reason}"
    return f"{prefix}: {msg}" if prefix else msg


class Config(msgspec.Struct, frozen=True):
    """A settings file: the defaults for every store plus per-store overrides."""

    base: dict[str, dict[str, Any]] = msgspec.field(default_factory=dict)
    overrides: dict[str, dict[str, dict[str, Any]]] = msgspec.field(default_factory=dict)
    _cache: dict[str, Settings] = msgspec.field(default_factory=dict)

    def for_store(self, store: str) -> Settings:
        """The effective settings of `store` (validated once, then cached)."""
        hit = self._cache.get(store)
        if hit is None:
            merged = {k: dict(v) for k, v in self.base.items()}
            for section, values in self.overrides.get(store, {}).items():
                merged.setdefault(section, {}).update(values)
            prefix = f"stores.{store}" if store in self.overrides else ""
            hit = self._cache[store] = _convert(merged, prefix)
        return hit

    def layers(self, store: str) -> dict[str, dict[str, Any]]:
        """The file's values for `store` (defaults + its overrides), before live changes."""
        return merge_values(self.base, self.overrides.get(store, {}))

    def with_changes(self, store: str, changes: dict[str, dict[str, Any]]) -> Settings:
        """The settings of `store` with live changes applied over the file's values."""
        if not changes:
            return self.for_store(store)
        return _convert(merge_values(self.layers(store), changes))


def _convert(data: dict[str, Any], prefix: str = "") -> Settings:
    try:
        return msgspec.convert(data, Settings)
    except msgspec.ValidationError as e:
        raise SettingsError(_key_path(e, prefix)) from None


def check_values(values: dict[str, Any], prefix: str = "") -> Settings:
    """Validate a `{section: {key: value}}` change on its own (over the defaults)."""
    if not isinstance(values, dict):
        raise SettingsError("bad value: expected a table of sections")
    for name, section in values.items():
        if name not in SECTIONS:
            raise SettingsError(f"unknown key `{prefix}{name}`")
        if not isinstance(section, dict):
            raise SettingsError(f"bad value for `{prefix}{name}`: expected a table")
    return _convert(values, prefix.rstrip("."))


def merge_values(*layers: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Section-wise merge of settings layers, later ones winning key by key."""
    merged: dict[str, dict[str, Any]] = {}
    for layer in layers:
        for section, values in layer.items():
            merged.setdefault(section, {}).update(values)
    return merged


def parse_config(data: dict[str, Any]) -> Config:
    """Validate a parsed TOML document; raises `SettingsError` naming the bad key."""
    data = dict(data)
    stores = data.pop("stores", {})
    if not isinstance(stores, dict):
        raise SettingsError("bad value for `stores`: expected a table of store ids")
    _convert(data)
    overrides: dict[str, dict[str, dict[str, Any]]] = {}
    for store, sections in stores.items():
        if not isinstance(sections, dict):
            raise SettingsError(f"bad value for `stores.{store}`: expected a table")
        for name, section in sections.items():
            if name not in SECTIONS:
                raise SettingsError(f"unknown key `stores.{store}.{name}`")
            if not isinstance(section, dict):
                raise SettingsError(f"bad value for `stores.{store}.{name}`: expected a table")
        merged = {k: dict(v) for k, v in data.items()}
        for name, section in sections.items():
            merged.setdefault(name, {}).update(section)
        _convert(merged, f"stores.{store}")
        overrides[store] = sections
    return Config(base=data, overrides=overrides)


def load_config(path: str | Path | None) -> Config:
    """Read a TOML settings file (None or an empty file gives the defaults)."""
    if path is None:
        return Config()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise SettingsError(f"cannot read settings file {p}: {e.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SettingsError(f"{p}: not valid TOML: {e}") from None
    return parse_config(data)
