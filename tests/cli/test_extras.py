"""An optional part asked for without its extra is one line naming the extra."""

from __future__ import annotations

import sys

import pytest

from kefu.cli.errors import user_error_message
from kefu.extras import MissingExtra, require


def test_a_missing_module_names_its_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "implicit", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "implicit.nearest_neighbours", None)
    with pytest.raises(MissingExtra) as caught:
        require("implicit.nearest_neighbours", "the item-kNN baseline of kefu eval", "eval")
    message = user_error_message(caught.value)
    assert message == (
        "the item-kNN baseline of kefu eval needs the optional package 'implicit': "
        "pip install 'kefu[eval]'"
    )


def test_the_spark_backend_names_its_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from kefu.insight import backends

    monkeypatch.setattr(backends, "_spark", None)
    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(MissingExtra, match=r"pip install 'kefu\[spark\]'"):
        backends.spark_session()


def test_an_installed_module_is_returned() -> None:
    assert require("json", "x", "y").dumps([1]) == "[1]"
