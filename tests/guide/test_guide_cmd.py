"""`kefu eval recommend`, `kefu train intent`, `kefu eval intent` through typer."""

from __future__ import annotations

import orjson
import pytest
import typer
from typer.testing import CliRunner

from kefu.cli import guide_cmd
from kefu.testing import REPO, shared_data

UCI = REPO / "tests" / "data" / "uci_online_retail_head.csv"


def make_app(existing_eval: bool = False) -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test app."""

    if existing_eval:
        other = typer.Typer()

        @other.command("faq")
        def faq() -> None:
            """Another helper's evaluation."""
            typer.echo("faq ok")

        app.add_typer(other, name="eval")
    guide_cmd.register(app)
    return app


def test_eval_recommend_prints_every_method(tmp_path):
    path = tmp_path / "slice.csv"
    path.write_text("".join(UCI.read_text(encoding="latin-1").splitlines(True)[:3001]))
    r = CliRunner().invoke(make_app(), ["eval", "recommend", "--data", "uci-retail",
                                        "--path", str(path), "--protocol", "lastitem",
                                        "--json"])  # fmt: skip
    assert r.exit_code == 0, r.output
    doc = orjson.loads(r.stdout)
    assert list(doc["methods"]) == ["builtin", "popularity", "implicit-cosine", "implicit-bm25"]


def test_eval_recommend_timesplit_is_the_default(tmp_path):
    path = tmp_path / "slice.csv"
    path.write_text("".join(UCI.read_text(encoding="latin-1").splitlines(True)[:3001]))
    args = ["eval", "recommend", "--data", "uci-retail", "--path", str(path)]
    r = CliRunner().invoke(make_app(), [*args, "--json", "--one-category"])
    assert r.exit_code == 0, r.output
    doc = orjson.loads(r.stdout)
    assert doc["protocol"] == "timesplit" and doc["one_category"] is True
    assert list(doc["kefu_vs"]) == [m for m in doc["methods"] if m != "kefu"]
    assert {"popularity", "co-occurrence", "item-knn"} <= set(doc["methods"])
    r = CliRunner().invoke(make_app(), args)
    assert r.exit_code == 0, r.output
    assert "kefu − popularity: HR@3" in r.output


def test_unknown_protocol_is_refused():
    args = ["eval", "recommend", "--data", "uci-retail", "--protocol", "leave-one-out"]
    assert CliRunner().invoke(make_app(), args).exit_code == 2


def test_unknown_data_set_is_refused():
    r = CliRunner().invoke(make_app(), ["eval", "recommend", "--data", "movies"])
    assert r.exit_code == 2


def test_commands_join_an_existing_eval_group():
    app = make_app(existing_eval=True)
    assert CliRunner().invoke(app, ["eval", "faq"]).output == "faq ok\n"
    r = CliRunner().invoke(app, ["eval", "intent", "--help"])
    assert r.exit_code == 0 and "held-out" in r.output


def test_train_then_eval_intent(tmp_path):
    pytest.importorskip("lightgbm")
    taobao = shared_data("behaviour/taobao_userbehavior_sample.csv")
    out = tmp_path / "m.txt"
    app = make_app()
    args = ["--sim-buyers", "50", "--sim-days", "2", "--rounds", "10"]
    r = CliRunner().invoke(
        app, ["train", "intent", "--out", str(out), "--taobao", str(taobao), *args]
    )
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["eval", "intent", "--model", str(out), "--taobao", str(taobao)])
    assert r.exit_code == 0, r.output
    assert orjson.loads(r.stdout)["scorer"] == "lightgbm"
