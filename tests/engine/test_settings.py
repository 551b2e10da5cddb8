"""Settings: defaults for every key, per-store overrides, errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from kefu.engine.settings import SettingsError, load_config, parse_config, parse_duration


def test_empty_file_gives_the_documented_defaults(tmp_path: Path) -> None:
    p = tmp_path / "s.toml"
    p.write_text("", encoding="utf-8")
    s = load_config(p).for_store("any")
    assert s.store.timezone == "Asia/Shanghai"
    assert s.store.ms("session_timeout") == 30 * 60_000
    assert s.handoff.button_ttl == "10m"
    assert s.handoff.keywords == ["人工", "转人工", "找客服", "real person"]
    assert s.routing.default_capacity == 5 and s.routing.sticky_hours == 48
    assert s.guide.min_intent == 0.3 and s.guide.max_items == 3  # issue 17: chosen on data
    assert s.urge.delay == "5m" and s.urge.alert_after_ms == 30 * 60_000
    assert s.insight.attribution == "order" and s.insight.validity_days == 2


def test_store_override_wins_over_top_level() -> None:
    cfg = parse_config({"urge": {"delay": "10m"}, "stores": {"s1": {"urge": {"min_intent": 0.2}}}})
    assert cfg.for_store("s1").urge.delay == "10m"
    assert cfg.for_store("s1").urge.min_intent == 0.2
    assert cfg.for_store("s2").urge.min_intent == 0.5


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"urge": {"no_such_key": 1}}, "unknown key `urge.no_such_key`"),
        ({"nosection": {}}, "unknown key `nosection`"),
        ({"urge": {"delay": "five minutes"}}, "bad value for `urge.delay`"),
        ({"urge": {"alert_after": "2m"}}, "bad value for `urge.alert_after`"),
        ({"urge": {"senders": []}}, "bad value for `urge.senders`"),
        ({"handoff": {"rollout_percent": 101}}, "bad value for `handoff.rollout_percent`"),
        ({"store": {"timezone": "Mars/Base"}}, "bad value for `store.timezone`"),
        ({"insight": {"attribution": "magic"}}, "bad value for `insight.attribution`"),
        ({"stores": {"s1": {"urge": {"delay": 5}}}}, "bad value for `stores.s1.urge.delay`"),
        ({"stores": {"s1": {"bogus": {}}}}, "unknown key `stores.s1.bogus`"),
    ],
)
def test_bad_settings_name_the_key(doc: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("`", "`").replace(".", r"\.")):
        parse_config(doc)


def test_alert_after_can_be_disabled() -> None:
    assert parse_config({"urge": {"alert_after": ""}}).for_store("s").urge.alert_after_ms is None
    assert parse_config({"urge": {"alert_after": False}}).for_store("s").urge.alert_after_ms is None


def test_invalid_toml_is_reported_with_the_file(tmp_path: Path) -> None:
    p = tmp_path / "bad.toml"
    p.write_text("[urge\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_config(p)


@pytest.mark.parametrize(
    ("text", "ms"), [("30s", 30_000), ("5m", 300_000), ("24h", 86_400_000), ("2d", 172_800_000)]
)
def test_durations(text: str, ms: int) -> None:
    assert parse_duration(text) == ms
