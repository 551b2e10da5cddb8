"""Every string the staff app asks for exists in both languages: each literal key given to t()
in web/src is in messages.ts (the type check already requires English for every Chinese key)."""

from __future__ import annotations

import re

from kefu.testing import REPO

SRC = REPO / "web" / "src"
CALL = re.compile(r"""\bt\(\s*'([A-Za-z][\w.-]*)'""")


def _keys(lang: str) -> set[str]:
    text = (SRC / "lib" / "messages.ts").read_text(encoding="utf-8")
    start = text.index(f"export const {lang}")
    end = text.index("\n}", start)
    return set(re.findall(r"^\s+'([\w.-]+)':", text[start:end], re.M))


def test_every_literal_key_is_translated() -> None:
    zh, en = _keys("zh"), _keys("en")
    assert zh == en
    missing = []
    for path in sorted(SRC.rglob("*")):
        if path.suffix not in {".ts", ".vue"} or "widget" in path.parts:
            continue
        for key in CALL.findall(path.read_text(encoding="utf-8")):
            if key not in zh:
                missing.append(f"{path.relative_to(SRC)}: {key}")
    assert not missing, missing
