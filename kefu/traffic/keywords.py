"""Market keywords (市场洞察, metrics.md §8, seed 001): import, 7-day ranking, title suggestions.

Input is the daily keyword export of a market tool: `date, keyword, search_popularity,
online_products, click_share` (the Chinese headers 日期, 关键词/搜索词, 搜索人气, 在线商品数,
点击占比/商城点击占比 are read too). Seed 001's method, made exact:

- look at a window of days (7 by default: one day is noisy, thirty too long), ending on the
  latest imported day unless told;
- per keyword, average each figure over the days it appears in the window (a keyword absent
  from a day's export is unknown that day, not 0);
- `competition` = online products per unit of search popularity (lower is better: a word
  whose online products far exceed its popularity buries a new store's item);
- rank by popularity (high first), competition (low first) and click share (high first);
  ties share a rank.

Title suggestions for a product: keywords sharing at least one word (jieba, shop synonyms
folded; a single character or a bare number is not enough) with the product's title or
category, best `search_popularity / competition` first (= popularity² / online products, online
products counted as at least 1), with the words the title still lacks.
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

COLUMNS = ("date", "keyword", "search_popularity", "online_products", "click_share")
ALIASES = {
    "日期": "date",
    "统计日期": "date",
    "关键词": "keyword",
    "搜索词": "keyword",
    "搜索人气": "search_popularity",
    "在线商品数": "online_products",
    "点击占比": "click_share",
    "商城点击占比": "click_share",
}
SORTS = ("popularity", "competition", "click_share")
MAX_KEYWORD = 256
SCHEMA = pa.schema(
    [
        ("store", pa.string()),
        ("day", pa.int64()),  # days since 1970-01-01
        ("keyword", pa.string()),
        ("search_popularity", pa.float64()),
        ("online_products", pa.int64()),
        ("click_share", pa.float64()),
    ]
)
EPOCH = date(1970, 1, 1)


class KeywordFileError(ValueError):
    """The file as a whole cannot be read (not CSV, a required column missing)."""


@dataclass(frozen=True)
class KeywordRow:
    """One keyword on one day."""

    day: date
    keyword: str
    search_popularity: float
    online_products: int
    click_share: float


@dataclass(frozen=True)
class LineError:
    """A refused line: physical line number (header = 1), field, reason."""

    line: int
    field: str | None  # None: the line as a whole (column count, CSV syntax)
    reason: str

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return f"line {self.line}: {where}{self.reason}"


@dataclass
class Parsed:
    """What a keyword file gave: the good rows and one error per refused line."""

    rows: list[KeywordRow] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    lines: int = 0

    def summary(self) -> str:
        """One line: data lines read, rows kept, lines rejected."""
        return (
            f"read {self.lines} lines: {len(self.rows)} keyword rows, {len(self.errors)} rejected"
        )


# -- reading ----------------------------------------------------------------------------------
def read_text(path: Path) -> str:
    """The file's text: UTF-8 (with or without BOM), else GB18030 (Chinese Excel exports)."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return raw.decode("gb18030")
        except UnicodeDecodeError:
            raise KeywordFileError("not UTF-8 or GB18030 text") from None


def _number(text: str) -> float:
    value = float(text.replace(",", "").replace("，", "").strip())
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def _parse_row(cells: dict[str, str]) -> KeywordRow:
    """One row, or ValueError('<field>\\x00<reason>') naming the first bad field."""

    def bad(name: str, reason: str) -> ValueError:
        return ValueError(f"{name}\x00{reason}")

    raw_day = cells["date"].strip()
    try:
        day = date.fromisoformat(raw_day.replace("/", "-"))
    except ValueError:
        raise bad("date", f"not a date YYYY-MM-DD: {raw_day[:30]!r}") from None
    keyword = " ".join(cells["keyword"].split())
    if not keyword:
        raise bad("keyword", "empty")
    if len(keyword) > MAX_KEYWORD:
        raise bad("keyword", f"longer than {MAX_KEYWORD} characters")
    text = cells["search_popularity"]
    try:
        popularity = _number(text)
    except ValueError:
        raise bad("search_popularity", f"not a number: {text.strip()[:30]!r}") from None
    if popularity < 0:
        raise bad("search_popularity", "negative")
    text = cells["online_products"]
    try:
        products_f = _number(text)
    except ValueError:
        raise bad("online_products", f"not a number: {text.strip()[:30]!r}") from None
    if products_f < 0 or products_f != int(products_f):
        raise bad("online_products", f"not a whole number ≥ 0: {text.strip()[:30]!r}")
    text = cells["click_share"].strip()
    try:
        share = _number(text[:-1]) / 100 if text.endswith("%") else _number(text)
    except ValueError:
        raise bad("click_share", f"not a number: {text[:30]!r}") from None
    if not 0 <= share <= 1:
        raise bad("click_share", f"{text[:30]!r} is not a fraction in [0, 1] or a percentage")
    return KeywordRow(day, keyword, popularity, int(products_f), share)


def parse_csv(text: str) -> Parsed:
    """Every line of a keyword CSV: bad lines become errors, good ones are kept.

    Columns are found by name in the header (any order, extra columns ignored). A second row
    for the same (date, keyword) is refused and names the first one's line.
    """
    out = Parsed()
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise KeywordFileError("empty file") from None
    except csv.Error as e:
        raise KeywordFileError(f"not CSV: {e}") from None
    names = [ALIASES.get(h.strip(), h.strip().lower()) for h in header]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise KeywordFileError(f"missing column(s): {', '.join(missing)} (header: {header})")
    index = {c: names.index(c) for c in COLUMNS}
    seen: dict[tuple[date, str], int] = {}
    line = 1  # physical line of the row just read (quoted cells may span lines)
    while True:
        start = reader.line_num + 1
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            out.lines += 1
            out.errors.append(LineError(start, None, f"malformed CSV: {e}"))
            continue
        line = start
        if not any(c.strip() for c in rec):
            continue  # blank lines are not data
        out.lines += 1
        if len(rec) < len(header):
            out.errors.append(LineError(line, "", f"{len(rec)} columns instead of {len(header)}"))
            continue
        try:
            row = _parse_row({c: rec[i] for c, i in index.items()})
        except ValueError as e:
            name, reason = str(e).split("\x00", 1)
            out.errors.append(LineError(line, name, reason))
            continue
        first = seen.get((row.day, row.keyword))
        if first is not None:
            out.errors.append(LineError(line, "keyword", f"same date and keyword as line {first}"))
            continue
        seen[(row.day, row.keyword)] = line
        out.rows.append(row)
    return out


def parse_file(path: Path) -> Parsed:
    """`parse_csv` of a file (UTF-8 or GB18030)."""
    return parse_csv(read_text(path))


def to_table(rows: Iterable[KeywordRow], store: str) -> pa.Table:
    """Keyword rows as the Arrow table the ranking reads."""
    rs = list(rows)
    return pa.table(
        {
            "store": pa.array([store] * len(rs), pa.string()),
            "day": pa.array([(r.day - EPOCH).days for r in rs], pa.int64()),
            "keyword": pa.array([r.keyword for r in rs], pa.string()),
            "search_popularity": pa.array([r.search_popularity for r in rs], pa.float64()),
            "online_products": pa.array([r.online_products for r in rs], pa.int64()),
            "click_share": pa.array([r.click_share for r in rs], pa.float64()),
        },
        schema=SCHEMA,
    )


# -- database ---------------------------------------------------------------------------------
def save(db: Any, store: str, rows: list[KeywordRow], now_ms: int | None = None) -> int:
    """Insert or replace (store, day, keyword) rows in `market_keywords`; returns the count."""
    from sqlalchemy import delete, insert
    from sqlalchemy.orm import Session

    from kefu.traffic.models import MarketKeyword as MK

    stamp = int(time.time() * 1000) if now_ms is None else now_ms
    by_day: dict[date, list[KeywordRow]] = {}
    for r in rows:
        by_day.setdefault(r.day, []).append(r)
    with Session(db) as s, s.begin():
        for day, day_rows in sorted(by_day.items()):
            words = [r.keyword for r in day_rows]
            for i in range(0, len(words), 500):
                s.execute(delete(MK).where(MK.store == store, MK.day == day,
                                           MK.keyword.in_(words[i : i + 500])))  # fmt: skip
        if rows:
            s.execute(
                insert(MK),
                [
                    {"store": store, "day": r.day, "keyword": r.keyword,
                     "search_popularity": r.search_popularity,
                     "online_products": r.online_products, "click_share": r.click_share,
                     "imported_ms": stamp}
                    for r in rows
                ],
            )  # fmt: skip
    return len(rows)


def load(db: Any, store: str, first: date | None = None, last: date | None = None) -> pa.Table:
    """The store's keyword rows (days `first` … `last`, inclusive) as the ranking's table."""
    from sqlalchemy import select

    from kefu.traffic.models import MarketKeyword as MK

    q = select(MK.day, MK.keyword, MK.search_popularity, MK.online_products, MK.click_share)
    q = q.where(MK.store == store)
    if first is not None:
        q = q.where(MK.day >= first)
    if last is not None:
        q = q.where(MK.day <= last)
    with db.connect() as conn:
        rows = [KeywordRow(*r) for r in conn.execute(q.order_by(MK.day, MK.keyword))]
    return to_table(rows, store)


def latest_day(table: pa.Table) -> date | None:
    """The last day present in a keyword table."""
    days = table.column("day").to_pylist()
    return date.fromordinal(EPOCH.toordinal() + max(days)) if days else None


# -- ranking ----------------------------------------------------------------------------------
def window_expr(t: Any, first_day: int, last_day: int) -> Any:
    """Per (store, keyword) over days `first_day` … `last_day`: days present and the mean
    popularity, online products and click share; competition = products / popularity."""
    w = t.filter((t.day >= first_day) & (t.day <= last_day))
    g = w.group_by(["store", "keyword"]).aggregate(
        days=w.count(),
        search_popularity=w.search_popularity.mean(),
        online_products=w.online_products.cast("float64").mean(),
        click_share=w.click_share.mean(),
    )
    return g.mutate(competition=g.online_products / g.search_popularity.nullif(0.0))


def _ranks(values: list[float | None], descending: bool) -> list[int | None]:
    """Competition ranks (1, 2, 2, 4); None values are unranked."""
    present = sorted((v for v in values if v is not None), reverse=descending)
    first: dict[float, int] = {}
    for i, v in enumerate(present, 1):
        first.setdefault(v, i)
    return [first[v] if v is not None else None for v in values]


def rank(
    table: pa.Table,
    window: int = 7,
    last: date | None = None,
    sort: str = "popularity",
    limit: int | None = None,
    backend: str = "duckdb",
    con: Any = None,
) -> dict[str, Any]:
    """The keywords of the `window` days ending `last` (default: the latest day), ranked.

    Every keyword carries its three ranks; the list is ordered by `sort`'s rank, then by
    keyword. Rounded to 6 places.
    """
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}")
    if window < 1:
        raise ValueError("window must be at least 1 day")
    end = last or latest_day(table)
    if end is None:
        return {"from": None, "to": None, "window": window, "sort": sort, "keywords": []}
    end_n = (end - EPOCH).days
    if con is None:
        from kefu.insight.backends import connect

        con = connect(backend)
    from kefu.insight.backends import register

    t = register(con, {"keywords": table}, prefix="kefu_kw")["keywords"]
    rows: list[dict[str, Any]] = con.to_pyarrow(
        window_expr(t, end_n - window + 1, end_n)
    ).to_pylist()
    rows.sort(key=lambda r: (r["store"], r["keyword"]))
    for name, col, desc in (("rank_popularity", "search_popularity", True),
                            ("rank_competition", "competition", False),
                            ("rank_click_share", "click_share", True)):  # fmt: skip
        for r, k in zip(rows, _ranks([_round(r[col]) for r in rows], desc), strict=True):
            r[name] = k
    key = {"popularity": "rank_popularity", "competition": "rank_competition",
           "click_share": "rank_click_share"}[sort]  # fmt: skip
    rows.sort(key=lambda r: (r[key] is None, r[key] or 0, r["keyword"]))
    out = [
        {
            "keyword": r["keyword"],
            "days": int(r["days"]),
            "search_popularity": _round(r["search_popularity"]),
            "online_products": _round(r["online_products"]),
            "competition": _round(r["competition"]),
            "click_share": _round(r["click_share"]),
            "rank_popularity": r["rank_popularity"],
            "rank_competition": r["rank_competition"],
            "rank_click_share": r["rank_click_share"],
        }
        for r in rows
    ]
    first = date.fromordinal(end.toordinal() - window + 1)
    return {
        "from": first.isoformat(),
        "to": end.isoformat(),
        "window": window,
        "sort": sort,
        "keywords": out[:limit] if limit is not None else out,
    }


def _round(v: float | None) -> float | None:
    if v is None or v != v:
        return None
    return round(float(v), 6) + 0.0


# -- title suggestions ------------------------------------------------------------------------
def words(text: str) -> list[str]:
    """Shop words of `text` (jieba, synonyms folded, fillers dropped), order kept, no repeats."""
    from kefu.faq.text import tokens

    return list(dict.fromkeys(tokens(text))) if text else []


def _meaningful(word: str) -> bool:
    """A word that can carry a match: two characters or more, not a bare number."""
    return len(word) >= 2 and not word.replace(".", "").isdigit()


def suggest(
    ranked: dict[str, Any], title: str, category: str = "", limit: int = 10
) -> list[dict[str, Any]]:
    """Keywords of a ranking that share a word with the product, best popularity per unit of
    competition first: `[{keyword, matched, missing, score, …}]`."""
    mine = set(words(title)) | set(words(category))
    out: list[dict[str, Any]] = []
    for k in ranked["keywords"]:
        kw = words(k["keyword"])
        matched = [w for w in kw if w in mine]
        if not any(_meaningful(w) for w in matched):
            continue
        popularity = k["search_popularity"] or 0.0
        score = popularity * popularity / max(k["online_products"] or 0.0, 1.0)
        out.append({**k, "matched": matched, "missing": [w for w in kw if w not in mine],
                    "score": _round(score)})  # fmt: skip
    out.sort(key=lambda r: (-r["score"], r["keyword"]))
    return out[:limit]
