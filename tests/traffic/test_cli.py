"""`kefu traffic` and `kefu keywords` end to end (table, JSON, CSV, errors)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import msgspec
import pytest
import typer
from sqlalchemy import create_engine
from typer.testing import CliRunner

from kefu.cli import traffic_cmd
from kefu.traffic.models import MarketKeyword
from tests.traffic import data
from tests.traffic.test_keywords import BAD, SAMPLE

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()
    traffic_cmd.register(app)

    @app.callback()
    def main() -> None:
        """Test app."""

    return app


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("traffic") / "events.jsonl"
    with path.open("wb") as fh:
        for e in data.events():
            fh.write(msgspec.json.encode(e) + b"\n")
        fh.write(b'{"type": "view", "store": "s1"}\n')  # rejected, reported, not fatal
    return path


def invoke(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(_app(), list(args))
    return r.exit_code, r.stdout, r.stderr


def test_metrics_by_source_as_csv(log: Path) -> None:
    code, out, err = invoke("traffic", str(log), "--by", "source", "--format", "csv")
    assert code == 0, err
    assert "1 line(s) rejected" in err
    table = list(csv.DictReader(io.StringIO(out)))
    assert [(r["store"], r["source"]) for r in table] == [
        ("s1", "recommend"), ("s1", "search"), ("s1", "shop"),
    ]  # fmt: skip
    search = table[1]
    assert (search["card_click_users"], search["card_clicks"], search["card_gmv"]) == (
        "5", "7", "90.0",
    )  # fmt: skip
    assert table[2]["card_clicks_per_user"] == "1.0" and table[2]["card_aov"] == ""  # null


def test_json_is_the_whole_document_and_facts_can_be_reused(log: Path, tmp_path: Path) -> None:
    code, out, _ = invoke("traffic", str(log), "--format", "json", "--save-facts",
                          str(tmp_path / "facts"))  # fmt: skip
    assert code == 0
    doc = json.loads(out)
    assert doc["stores"]["s1"]["totals"]["card_gmv"] == 290.0
    assert list(doc["stores"]["s1"]["days"]) == [data.D1, data.D2]
    code, again, _ = invoke("traffic", str(tmp_path / "facts"), "--format", "json")
    assert code == 0 and json.loads(again) == doc


def test_compare_with_the_previous_period(log: Path) -> None:
    code, out, err = invoke("traffic", str(log), "--from", data.D2, "--to", data.D2,
                            "--compare", "--format", "csv", "-m", "card_click_users")  # fmt: skip
    assert code == 0, err
    assert out.splitlines() == [
        "store,card_click_users,card_click_users_previous,card_click_users_change",
        "s1,2,5,-0.6",
    ]


def test_funnel_churn_audience_and_today_views(log: Path) -> None:
    code, out, _ = invoke("traffic", str(log), "--view", "funnel", "--product", "p1", "-f", "csv")
    assert code == 0
    assert out.splitlines() == ["source,impression,click,order,payment", "all,4,4,3,2",
                                "recommend,1,2,2,2", "search,3,3,1,0"]  # fmt: skip
    code, out, _ = invoke("traffic", str(log), "--view", "churn", "-f", "json")
    assert code == 0 and json.loads(out)["card_churned_users"] == 3
    code, out, _ = invoke("traffic", str(log), "--view", "audience", "-f", "json")
    assert code == 0 and json.loads(out)["all"]["buyers"] == 6
    code, out, _ = invoke("traffic", str(log), "--view", "today", "--now",
                          "2026-03-02T08:02:00+08:00", "-f", "json")  # fmt: skip
    assert code == 0 and json.loads(out)["totals"]["today"]["card_clicks"] == 2
    code, out, _ = invoke("traffic", str(log), "--view", "today")  # at the last view, 08:03
    assert code == 0 and "until 08:03" in out


def test_tables_render(log: Path) -> None:
    for by in ("overall", "source", "product", "product_source", "day"):
        code, out, err = invoke("traffic", str(log), "--by", by)
        assert code == 0, err
        assert "card_click_users" in out


def test_bad_options_exit_2(log: Path, tmp_path: Path) -> None:
    assert invoke("traffic", str(log), "--by", "week")[0] == 2
    assert invoke("traffic", str(log), "--compare")[0] == 2
    assert invoke("traffic", str(log), "--from", "2026-03-02", "--to", "2026-03-01")[0] == 2
    assert invoke("traffic", str(log), "--view", "funnel")[0] == 2
    assert invoke("traffic", str(log), "-m", "inquiry_buyers")[0] == 2
    assert invoke("traffic", str(tmp_path / "missing.jsonl"))[0] == 2


def _db(tmp_path: Path, create: bool = True) -> str:
    url = f"sqlite:///{tmp_path / 'kw.db'}"
    if create:
        engine = create_engine(url)
        MarketKeyword.__table__.create(engine)
        engine.dispose()
    return url


def test_keywords_import_reports_each_bad_line_and_keeps_the_good(tmp_path: Path) -> None:
    url = _db(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD, encoding="utf-8")
    rejected = tmp_path / "rejected.jsonl"
    code, out, err = invoke("keywords", "import", str(bad), "--store", "s1", "--db", url,
                            "--rejected", str(rejected))  # fmt: skip
    assert code == 0, err
    assert out.strip() == "read 10 lines: 2 keyword rows, 8 rejected; 2 stored for store s1"
    assert "line 3: date: not a date YYYY-MM-DD: '2026-13-02'" in err
    assert "line 11: 2 columns instead of 6" in err
    first = json.loads(rejected.read_text().splitlines()[0])
    assert first == {"line": 3, "field": "date", "reason": "not a date YYYY-MM-DD: '2026-13-02'"}
    good = tmp_path / "good.csv"
    good.write_text(SAMPLE, encoding="utf-8")
    assert invoke("keywords", "import", str(good), "-s", "s1", "--db", url)[0] == 0
    code, out, _ = invoke("keywords", "--store", "s1", "--db", url, "--sort", "competition",
                          "-f", "csv")  # fmt: skip
    assert code == 0
    # 03-02's 连衣裙 row was replaced by the second import; 大 码, 裙 came with the first
    ranked = [(r["keyword"], r["competition"]) for r in csv.DictReader(io.StringIO(out))]
    assert ranked == [("大 码, 裙", "0.0081"), ("碎花连衣裙", "2.0"),
                      ("羊毛衫 女", "10.0"), ("连衣裙", "54.545455"), ("新款", "")]  # fmt: skip


def test_keywords_import_failures(tmp_path: Path) -> None:
    url = _db(tmp_path)
    only_bad = tmp_path / "only_bad.csv"
    only_bad.write_text("date,keyword,search_popularity,online_products,click_share\n"
                        "x,a,1,1,0.1\n", encoding="utf-8")  # fmt: skip
    assert invoke("keywords", "import", str(only_bad), "--db", url)[0] == 1
    no_col = tmp_path / "no_col.csv"
    no_col.write_text("date,keyword\n2026-03-01,a\n", encoding="utf-8")
    code, _, err = invoke("keywords", "import", str(no_col), "--db", url)
    assert code == 2 and "missing column(s): search_popularity" in err
    code, _, err = invoke("keywords", "import", str(only_bad), "--db", _db(tmp_path / "x", False))
    assert code == 2 and "market_keywords is missing" in err


def test_keywords_from_a_csv_and_title_suggestions(tmp_path: Path) -> None:
    sample = tmp_path / "kw.csv"
    sample.write_text(SAMPLE, encoding="utf-8")
    code, out, _ = invoke("keywords", "--csv", str(sample), "-f", "json", "--limit", "1")
    assert code == 0
    body = json.loads(out)
    assert (body["from"], body["to"], [k["keyword"] for k in body["keywords"]]) == (
        "2026-03-02", "2026-03-08", ["连衣裙"],
    )  # fmt: skip
    code, out, _ = invoke("keywords", "--csv", str(sample), "suggest", "夏季连衣裙", "-f", "json")
    assert code == 0
    assert [(s["keyword"], s["missing"]) for s in json.loads(out)["suggestions"]] == [
        ("碎花连衣裙", ["碎花"]), ("连衣裙", []),
    ]  # fmt: skip
    code, out, _ = invoke("keywords", "--csv", str(sample), "suggest", "夏季连衣裙")
    assert code == 0 and "碎花连衣裙" in out
    assert invoke("keywords", "--csv", str(sample), "--sort", "clicks")[0] == 2
