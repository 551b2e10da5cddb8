"""Market keywords (§8): CSV import errors, the 7-day ranking, title suggestions, storage."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from kefu.traffic import keywords as kw
from kefu.traffic.models import MarketKeyword

SAMPLE = """date,keyword,search_popularity,online_products,click_share
2026-03-01,连衣裙,9999,1,50%
2026-03-02,连衣裙,1000,50000,40%
2026-03-08,连衣裙,1200,70000,30%
2026-03-02,碎花连衣裙,300,600,0.2
2026-03-05,碎花连衣裙,500,1000,0.3
2026-03-08,羊毛衫 女,800,8000,10%
2026-03-08,新款,0,100,0
"""


def test_ranking_over_the_last_seven_days() -> None:
    table = kw.to_table(kw.parse_csv(SAMPLE).rows, "s1")
    out = kw.rank(table, window=7, sort="competition")
    # the window ends on the latest day (03-08) and starts 03-02: 03-01's 连衣裙 row is out
    assert (out["from"], out["to"]) == ("2026-03-02", "2026-03-08")
    assert out["keywords"] == [
        {"keyword": "碎花连衣裙", "days": 2, "search_popularity": 400.0, "online_products": 800.0,
         "competition": 2.0, "click_share": 0.25, "rank_popularity": 3, "rank_competition": 1,
         "rank_click_share": 2},
        {"keyword": "羊毛衫 女", "days": 1, "search_popularity": 800.0,
         "online_products": 8000.0, "competition": 10.0, "click_share": 0.1,
         "rank_popularity": 2, "rank_competition": 2, "rank_click_share": 3},
        {"keyword": "连衣裙", "days": 2, "search_popularity": 1100.0,
         "online_products": 60000.0, "competition": 54.545455, "click_share": 0.35,
         "rank_popularity": 1, "rank_competition": 3, "rank_click_share": 1},
        # no popularity: competition undefined, unranked on it and listed last
        {"keyword": "新款", "days": 1, "search_popularity": 0.0, "online_products": 100.0,
         "competition": None, "click_share": 0.0, "rank_popularity": 4,
         "rank_competition": None, "rank_click_share": 4},
    ]  # fmt: skip
    by_pop = kw.rank(table, sort="popularity", limit=2)["keywords"]
    assert [k["keyword"] for k in by_pop] == ["连衣裙", "羊毛衫 女"]
    one_day = kw.rank(table, window=1, last=date(2026, 3, 1))["keywords"]
    assert [(k["keyword"], k["search_popularity"]) for k in one_day] == [("连衣裙", 9999.0)]


def test_ties_share_a_rank() -> None:
    text = "date,keyword,search_popularity,online_products,click_share\n" + "".join(
        f"2026-03-01,{w},100,10,0.1\n" for w in ("a", "b")
    )
    out = kw.rank(kw.to_table(kw.parse_csv(text).rows, "s"))["keywords"]
    assert [(k["keyword"], k["rank_popularity"]) for k in out] == [("a", 1), ("b", 1)]


def test_title_suggestions_share_a_real_word_and_show_what_is_missing() -> None:
    ranked = kw.rank(kw.to_table(kw.parse_csv(SAMPLE).rows, "s1"))
    out = kw.suggest(ranked, "夏季连衣裙")
    # score = popularity² / online products: 碎花连衣裙 400²/800 = 200, 连衣裙 1100²/60000
    assert [(s["keyword"], s["score"], s["matched"], s["missing"]) for s in out] == [
        ("碎花连衣裙", 200.0, ["连衣裙"], ["碎花"]),
        ("连衣裙", 20.166667, ["连衣裙"], []),
    ]
    # 羊毛衫 女 shares only 女 with this title: one character is not a match
    assert [s["keyword"] for s in kw.suggest(ranked, "女士连衣裙", limit=5)] == [
        "碎花连衣裙", "连衣裙",
    ]  # fmt: skip
    assert [s["keyword"] for s in kw.suggest(ranked, "毛衣", category="羊毛衫")] == ["羊毛衫 女"]


BAD = """keyword,date,search_popularity,online_products,click_share,extra
连衣裙,2026-03-02,1000,50000,40%,x
连衣裙,2026-13-02,1000,50000,40%,x
,2026-03-02,1,1,0.1,x
裙,2026-03-02,abc,1,0.1,x
裙,2026-03-02,10,1.5,0.1,x
裙,2026-03-02,10,-1,0.1,x
裙,2026-03-02,10,5,1.5,x
连衣裙,2026-03-02,1,1,0.1,x

裙,2026-03-03
"大 码, 裙",2026/03/03,"12,345",100,12.5%,x
"""


def test_bad_lines_are_refused_with_line_field_and_reason_and_good_ones_kept() -> None:
    parsed = kw.parse_csv(BAD)
    assert [str(e) for e in parsed.errors] == [
        "line 3: date: not a date YYYY-MM-DD: '2026-13-02'",
        "line 4: keyword: empty",
        "line 5: search_popularity: not a number: 'abc'",
        "line 6: online_products: not a whole number ≥ 0: '1.5'",
        "line 7: online_products: not a whole number ≥ 0: '-1'",
        "line 8: click_share: '1.5' is not a fraction in [0, 1] or a percentage",
        "line 9: keyword: same date and keyword as line 2",
        "line 11: 2 columns instead of 6",
    ]
    assert parsed.rows == [
        kw.KeywordRow(date(2026, 3, 2), "连衣裙", 1000.0, 50000, 0.4),
        kw.KeywordRow(date(2026, 3, 3), "大 码, 裙", 12345.0, 100, 0.125),
    ]
    assert parsed.lines == 10  # data lines; the blank line 10 is not one
    assert parsed.summary() == "read 10 lines: 2 keyword rows, 8 rejected"


def test_a_file_without_a_required_column_is_refused_whole() -> None:
    with pytest.raises(kw.KeywordFileError, match="missing column\\(s\\): online_products"):
        kw.parse_csv("date,keyword,search_popularity,click_share\n2026-03-01,a,1,0.1\n")
    with pytest.raises(kw.KeywordFileError, match="empty file"):
        kw.parse_csv("")


def test_chinese_headers_and_gb18030_files(tmp_path: Path) -> None:
    text = "日期,关键词,搜索人气,在线商品数,商城点击占比\n2026-03-01,连衣裙,10,20,5%\n"
    path = tmp_path / "kw.csv"
    path.write_bytes(text.encode("gb18030"))
    parsed = kw.parse_file(path)
    assert parsed.errors == []
    assert parsed.rows == [kw.KeywordRow(date(2026, 3, 1), "连衣裙", 10.0, 20, 0.05)]


def test_import_replaces_a_day_and_keyword_and_is_scoped_by_store(tmp_path: Path) -> None:
    db = create_engine(f"sqlite:///{tmp_path / 'kw.db'}")
    MarketKeyword.__table__.create(db)
    rows = kw.parse_csv(SAMPLE).rows
    assert kw.save(db, "s1", rows, now_ms=1) == 7
    again = kw.parse_csv(
        "date,keyword,search_popularity,online_products,click_share\n"
        "2026-03-08,连衣裙,1400,70000,30%\n"
    ).rows
    assert kw.save(db, "s1", again, now_ms=2) == 1
    kw.save(db, "s2", again)
    table = kw.load(db, "s1")
    assert table.num_rows == 7
    out = kw.rank(table)["keywords"]
    assert out[0]["keyword"] == "连衣裙" and out[0]["search_popularity"] == 1200.0  # (1000+1400)/2
    assert kw.load(db, "s2").num_rows == 1
    assert kw.load(db, "s1", first=date(2026, 3, 8)).num_rows == 3
    db.dispose()
