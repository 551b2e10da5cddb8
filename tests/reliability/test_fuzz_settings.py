"""Hypothesis fuzzing of the settings parser: any TOML-shaped document gives Settings or a
`SettingsError` naming the key at fault — never another exception."""

from __future__ import annotations

import re
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kefu.engine.settings import SECTIONS, Settings, SettingsError, check_values, parse_config

KEYS = {name: list(type(getattr(Settings(), name)).__struct_fields__) for name in SECTIONS}
# TOML bare keys (plus CJK): no dots or backticks, which would blur the named path.
KEY = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_-0123456789店铺", min_size=1, max_size=10)
SCALAR = (
    st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["5m", "30s", "24h", "2d", "250ms", "0m", "121m", "Asia/Shanghai",
                       "Mars/Olympus", "small", "large", "auto", "item", "generated",
                       "last_agent", "assistant", "order", "payment"])
)  # fmt: skip
VALUE = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEY, inner,
                                                                 max_size=3),
    max_leaves=6,
)  # fmt: skip


@st.composite
def section(draw: Any, name: str) -> dict[str, Any]:
    known = KEYS.get(name, [])
    keys = draw(st.lists(st.sampled_from(known) if known and draw(st.booleans())
                         else KEY, max_size=4))  # fmt: skip
    return {k: draw(VALUE) for k in keys}


@st.composite
def sections(draw: Any) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(SECTIONS) | KEY,
                          max_size=4, unique=True))  # fmt: skip
    out: dict[str, Any] = {}
    for n in names:
        out[n] = draw(section(n)) if draw(st.integers(0, 9)) else draw(SCALAR)
    return out


@st.composite
def documents(draw: Any) -> dict[str, Any]:
    doc = draw(sections())
    if draw(st.booleans()):
        stores = draw(st.dictionaries(KEY, sections(), max_size=3))
        doc["stores"] = stores if draw(st.integers(0, 9)) else draw(SCALAR)
    return doc


def keys_of(doc: Any, prefix: str = "") -> set[str]:
    """Every key path of the document (a.b.c), list items included as a[0]."""
    out: set[str] = set()
    if isinstance(doc, dict):
        for k, v in doc.items():
            path = f"{prefix}.{k}" if prefix else str(k)
            out.add(path)
            out |= keys_of(v, path)
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            path = f"{prefix}[{i}]"
            out.add(path)
            out |= keys_of(v, path)
    return out


def named_key(message: str, doc: dict[str, Any]) -> bool:
    """The message quotes a key path, and that path (or its start) is in the document."""
    quoted = re.findall(r"`([^`]+)`", message)
    if not quoted:
        return False
    paths = keys_of(doc)
    return any(q in paths or any(q.startswith(p) for p in paths if p) for q in quoted)


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(documents())
def test_a_settings_document_is_settings_or_an_error_naming_the_key(doc: dict[str, Any]) -> None:
    try:
        cfg = parse_config(doc)
        for store in cfg.overrides:
            assert isinstance(cfg.for_store(store), Settings)
        assert isinstance(cfg.for_store("any-store"), Settings)
    except SettingsError as e:
        assert named_key(str(e), doc), f"{e} does not name a key of {doc!r}"


@FUZZ
@given(sections())
def test_a_live_settings_change_is_checked_the_same_way(values: dict[str, Any]) -> None:
    try:
        assert isinstance(check_values(values), Settings)
    except SettingsError as e:
        assert named_key(str(e), values), f"{e} does not name a key of {values!r}"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"urge": {"delay": "soon"}}, "bad value for `urge.delay`"),
        ({"nope": {}}, "unknown key `nope`"),
        ({"stores": {"s1": {"bot": {"greting": "hi"}}}}, "unknown key `stores.s1.bot.greting`"),
        ({"store": {"timezone": "Mars/Olympus"}}, "bad value for `store.timezone`"),
        ({"routing": {"rules": [{"group": ""}]}}, "bad value for `routing.rules[0].group`"),
    ],
)
def test_known_mistakes_name_their_key(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError) as err:
        parse_config(msgspec.json.decode(msgspec.json.encode(doc)))
    assert str(err.value).startswith(message)
