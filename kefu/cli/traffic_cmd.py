"""`kefu traffic` (商品卡流量, metrics.md §7) and `kefu keywords` (市场洞察, §8)."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from kefu.cli import common
from kefu.cli.common import (
    input_or_exit,
    readable_file_or_exit,
    report_read,
    settings_for_events,
)
from kefu.insight.backends import BACKENDS

err = common.err
FORMATS = ("table", "json", "csv")
VIEWS = ("metrics", "funnel", "audience", "churn", "today")
SHOWN_ERRORS = 20


def _fail(message: str, code: int = 2) -> typer.Exit:
    """Print `message` in red (never wrapped, never read as markup); the exit to raise."""
    err.print(f"[red]{escape(message)}[/red]", soft_wrap=True)
    return typer.Exit(code)


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _fail(f"{name} must be a date YYYY-MM-DD, got {value!r}") from None


def _instant(value: str) -> int:
    """RFC 3339 with an offset, or epoch milliseconds."""
    if value.isdigit():
        return int(value)
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise _fail(f"--now must be RFC 3339 or epoch ms, got {value!r}") from None
    if dt.utcoffset() is None:
        raise _fail("--now needs an offset (e.g. +08:00)")
    return int(dt.timestamp() * 1000)


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1e6 else f"{value:.2f}"
    return str(value)


def _print_json(doc: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    sys.stdout.write("\n")


def _table(title: str, cols: list[str], body: list[list[Any]]) -> None:
    """A rich table; key columns never wrap (metric ids, days and ids stay readable)."""
    t = Table(title=title)
    for n, c in enumerate(cols):
        left = n == 0 or c in ("store", "product", "source", "day", "keyword", "category")
        t.add_column(c, justify="left" if left else "right", no_wrap=left)
    for row in body:
        t.add_row(*[_fmt(v) for v in row])
    Console().print(t)


def _rows(fmt: str, title: str, header: list[str], body: list[list[Any]]) -> None:
    """Rows as CSV on standard output, or as a table titled `title`."""
    if fmt == "csv":
        from kefu.api.params import csv_text

        sys.stdout.write(csv_text(header, body))
    else:
        _table(title, header, body)


def _metrics_table(
    title: str, key_cols: tuple[str, ...], records: list[Any], ids: tuple[str, ...]
) -> None:
    if len(records) <= 6:
        one_store = len({s for s, _, _ in records}) == 1
        names = [" ".join([*([] if one_store else [s]), *k.values()]).strip() or s
                 for s, k, _ in records]  # fmt: skip
        _table(title, ["metric", *names], [[i, *[v.get(i) for _, _, v in records]] for i in ids])
    else:
        _table(title, ["store", *key_cols, *ids],
               [[s, *k.values(), *[v.get(i) for i in ids]] for s, k, v in records])  # fmt: skip


def _one_store(doc_stores: list[str], store: str | None) -> str:
    if store is not None:
        return store
    if len(doc_stores) == 1:
        return doc_stores[0]
    raise _fail(
        f"several stores in the data ({', '.join(doc_stores[:5])} …): choose one with --store"
    )


def traffic_command(
    events: Path = typer.Argument(
        ...,
        help="Events (JSON Lines, .jsonl.gz, Parquet) or a folder of traffic fact tables "
        "(--save-facts).",
        show_default=False,
    ),
    day_from: str | None = typer.Option(
        None, "--from", help="First day (YYYY-MM-DD, store-local)."
    ),
    day_to: str | None = typer.Option(None, "--to", help="Last day (YYYY-MM-DD), inclusive."),
    by: str = typer.Option(
        "overall", "--by", help="Rows: overall | source | product | product_source | day."
    ),
    fmt: str = typer.Option("table", "--format", "-f", help="table | json | csv."),
    view: str = typer.Option(
        "metrics",
        "--view",
        help="metrics (the §7 ids) | funnel (one --product across sources) | audience "
        "(province, gender, age band, new/returning; by source and bought) | churn (churned "
        "clickers and the categories they bought elsewhere) | today (by hour vs yesterday, "
        "at --now).",
    ),
    compare: bool = typer.Option(
        False, "--compare", help="With --from/--to: add the previous period and the change."
    ),
    store: str | None = typer.Option(None, "--store", "-s", help="Only this store."),
    product: str | None = typer.Option(None, "--product", help="The product of --view funnel."),
    source: str | None = typer.Option(
        None, "--source", help="--view churn: clickers of this source only."
    ),
    now: str | None = typer.Option(
        None,
        "--now",
        help="--view today: the moment (RFC 3339 or "
        "epoch ms; default: the last impression or view).",
    ),
    metrics: str | None = typer.Option(
        None, "--metrics", "-m", help="Comma-separated ids to show (table and CSV)."
    ),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="Store settings (TOML): each store's timezone."
    ),
    backend: str = typer.Option("duckdb", "--backend", help="duckdb (in-process) | pyspark."),
    save_facts: Path | None = typer.Option(
        None, "--save-facts", help="Also write the fact tables as Parquet here."
    ),
) -> None:
    """Product-card traffic of EVENTS: every card_ metric of metrics.md §7.

    Only carrier == card impressions and views count; an order's source is the source of the buyer's last card view of the product before it.
    """  # noqa: E501  # fmt: skip
    from kefu.traffic import reports
    from kefu.traffic.facts import LocalTime, facts_from_log, read_parquet, write_parquet
    from kefu.traffic.metrics import IDS, SCOPES, Session, Window
    from kefu.traffic.render import BY, compare_ids, compare_rows, csv_of, rows

    choices = (("--by", by, tuple(BY)), ("--format", fmt, FORMATS), ("--view", view, VIEWS),
               ("--backend", backend, BACKENDS))  # fmt: skip
    for name, value, allowed in choices:
        if value not in allowed:
            raise _fail(f"{name} must be one of {', '.join(allowed)}")
    first, last = _day(day_from, "--from"), _day(day_to, "--to")
    if first and last and first > last:
        raise _fail("--from is after --to")
    ids = tuple(m.strip() for m in metrics.split(",")) if metrics else IDS
    unknown = [i for i in ids if i not in IDS]
    if unknown:
        raise _fail(f"unknown metric id(s): {', '.join(unknown)}")
    readable_file_or_exit(events, folder_ok=True)
    cfg = settings_for_events(events, config)
    if events.is_dir():
        tables = read_parquet(events)
    else:
        from kefu.engine.readers import ReadStats

        stats = ReadStats()
        with err.status("reading events"):
            tables = facts_from_log(events, cfg, stats)
        code = report_read(events, stats)
        if code:
            raise typer.Exit(code)
    if save_facts is not None:
        write_parquet(tables, save_facts)
    session = Session(tables, backend)
    window = Window.days(first, last)
    if view == "metrics" and not compare:
        scopes = SCOPES if fmt == "json" else (BY[by][0],)
        doc = session.metrics(window, scopes, store)
        if fmt == "json":
            _print_json(doc)
            return
        records = [(s, k, v) for s, d in doc["stores"].items() for k, v in rows(d, by)]
        if fmt == "csv":
            sys.stdout.write(csv_of(by, records, ids))
        else:
            _metrics_table(f"product-card traffic by {by}", BY[by][1], records, ids)
        return
    stores = sorted(set(tables["views"].column("store").to_pylist())
                    | set(tables["impressions"].column("store").to_pylist()))  # fmt: skip
    if view == "metrics":  # --compare
        if first is None or last is None:
            raise _fail("--compare needs --from and --to")
        if by not in ("overall", "source", "product", "day"):
            raise _fail("--compare works with --by overall, source, product or day")
        targets = [store] if store else stores
        periods = {s: reports.period(session, s, first, last, ("total", BY[by][0]))
                   for s in targets}  # fmt: skip
        if fmt == "json":
            _print_json(periods)
            return
        cols = compare_ids(ids)
        records = [(s, k, v) for s, p in periods.items() for k, v in compare_rows(p, by)]
        if fmt == "csv":
            sys.stdout.write(csv_of(by, records, cols))
        else:
            _metrics_table(f"product-card traffic by {by}, {first} … {last} vs previous",
                           BY[by][1], records, cols)  # fmt: skip
        return
    target = _one_store(stores, store)
    if view == "funnel":
        if product is None:
            raise _fail("--view funnel needs --product")
        out = reports.funnel(session, target, product, window)
        if fmt == "json":
            _print_json(out)
            return
        body = [["all", *[s["users"] for s in out["funnel"]]]]
        body += [[src, *[s["users"] for s in v["funnel"]]] for src, v in out["sources"].items()]
        header = ["source", "impression", "click", "order", "payment"]
        _rows(fmt, f"{target} product {product}: card funnel", header, body)
        return
    if view == "audience":
        out = reports.audience(session, target, window)
        if fmt == "json":
            _print_json(out)
            return
        body = []
        for src, g in [("all", out["all"]), *out["sources"].items()]:
            for side in ("bought", "not_bought"):
                for attr, values in g[side].items():
                    body += [[src, side, attr, v, n] for v, n in values.items()]
        header = ["source", "bought", "attribute", "value", "buyers"]
        _rows(fmt, f"{target}: card audience", header, body)
        return
    if view == "churn":
        out = reports.churn(session, target, window, source)
        if fmt == "json":
            _print_json(out)
            return
        header = ["category", "buyers", "orders", "gmv", "avg_item_amount", "clicked_here"]
        body = [[c[h] for h in header] for c in out["categories"]]
        if fmt != "csv":
            err.print(f"churned card clickers: {out['card_churned_users']} of "
                      f"{out['card_click_users']}; bought elsewhere: "
                      f"{_fmt(out['bought_elsewhere_users'])}")  # fmt: skip
        _rows(fmt, f"{target}: where churned card clickers bought instead", header, body)
        return
    # today
    if now is not None:
        now_ms = _instant(now)
    else:
        stamps = [tables[n].column("ts_ms") for n in ("impressions", "views")]
        found = [max(c.to_pylist()) for c in stamps if len(c)]
        if not found:
            raise _fail("no impressions or views: give --now")
        now_ms = max(found)
    out = reports.realtime(session, target, now_ms, LocalTime(cfg))
    if fmt == "json":
        _print_json(out)
        return
    metric = ids[0] if metrics else "card_click_users"
    header = ["hour", f"today {metric}", f"yesterday {metric}"]
    body = [[h["hour"], None if h["today"] is None else h["today"][metric],
             h["yesterday"][metric]] for h in out["hours"]]  # fmt: skip
    _rows(fmt, f"{target} {out['day']} until {out['until']} vs {out['yesterday']}", header, body)


# -- keywords ---------------------------------------------------------------------------------
keywords_app = typer.Typer(
    help="Market keywords (市场洞察, metrics.md §8): rank a 7-day window by search popularity, "
    "competition and click share; `import` a CSV; `suggest` title keywords for a product.",
    invoke_without_command=True,
    no_args_is_help=False,
)
_DB = typer.Option(None, "--db", help="Database URL (default: $KEFU_DB or ./var/kefu.db).")
_STORE = typer.Option("default", "--store", "-s", help="The store the keyword data belongs to.")


def _db(url: str | None) -> Any:
    from sqlalchemy import inspect

    from kefu.storage.db import make_engine

    engine = make_engine(url)
    if not inspect(engine).has_table("market_keywords"):
        raise _fail("table market_keywords is missing: run `kefu db upgrade` (migration 0005)")
    return engine


def _parse_or_exit(path: Path) -> Any:
    from kefu.traffic.keywords import KeywordFileError, parse_file

    input_or_exit(path)
    try:
        return parse_file(path)
    except KeywordFileError as e:
        raise _fail(f"cannot read {path}: {e}") from None


def _report_errors(parsed: Any, rejected: Path | None) -> None:
    for e in parsed.errors[:SHOWN_ERRORS]:
        err.print(f"  {e}", highlight=False, markup=False, soft_wrap=True)
    if len(parsed.errors) > SHOWN_ERRORS:
        err.print(f"  … {len(parsed.errors) - SHOWN_ERRORS} more")
    if rejected is not None:
        with rejected.open("wb") as fh:
            for e in parsed.errors:
                fh.write(orjson.dumps({"line": e.line, "field": e.field, "reason": e.reason}))
                fh.write(b"\n")


def import_keywords(path: Path, store: str, db: str | None, rejected: Path | None = None) -> None:
    """Import a keyword CSV into the database: bad lines are reported, good ones kept.

    Exit 0 when rows were imported, 1 when lines were read but none was good, 2 when the
    file cannot be read. Meant for `kefu import keywords CSV` as well.
    """
    from kefu.traffic.keywords import save

    parsed = _parse_or_exit(path)
    engine = _db(db)
    try:
        n = save(engine, store, parsed.rows)
    finally:
        engine.dispose()
    typer.echo(f"{parsed.summary()}; {n} stored for store {store}")
    _report_errors(parsed, rejected)
    if parsed.lines and not parsed.rows:
        raise _fail("nothing could be imported", 1)


@keywords_app.command("import")
def keywords_import(
    path: Path = typer.Argument(
        ...,
        metavar="CSV",
        help="date, keyword, search_popularity, online_products, click_share (UTF-8 or GB18030).",
        show_default=False,
    ),
    store: str = _STORE,
    db: str | None = _DB,
    rejected: Path | None = typer.Option(
        None, "--rejected", help="Write every refused line here (JSON Lines)."
    ),
) -> None:
    """Import daily keyword data (bad lines refused, good lines kept).

    Each refused line is reported with its line number, field and reason; re-importing a (date, keyword) replaces it.
    """  # noqa: E501  # fmt: skip
    import_keywords(path, store, db, rejected)


def _ranking(csv_path: Path | None, store: str, db: str | None, window: int, to: str | None,
             sort: str, limit: int | None, backend: str) -> dict[str, Any]:  # fmt: skip
    from kefu.traffic.keywords import SORTS, load, rank, to_table

    if sort not in SORTS:
        raise _fail(f"--sort must be one of {', '.join(SORTS)}")
    if window < 1:
        raise _fail("--window must be at least 1")
    last = _day(to, "--to")
    if csv_path is not None:
        parsed = _parse_or_exit(csv_path)
        if parsed.errors:
            err.print(f"{len(parsed.errors)} line(s) rejected")
            _report_errors(parsed, None)
        table = to_table(parsed.rows, store)
    else:
        engine = _db(db)
        try:
            table = load(engine, store, last=last)
        finally:
            engine.dispose()
    return {"store": store, **rank(table, window, last, sort, limit, backend)}


KW_COLS = ["keyword", "days", "search_popularity", "online_products", "competition",
           "click_share", "rank_popularity", "rank_competition", "rank_click_share"]  # fmt: skip


def _print_keywords(out: dict[str, Any], rows: list[dict[str, Any]], cols: list[str],
                    fmt: str, title: str) -> None:  # fmt: skip
    if fmt == "json":
        _print_json(out)
    else:
        _rows(fmt, title, cols, [[_cell(r.get(c)) for c in cols] for r in rows])


def _cell(v: Any) -> Any:
    return " ".join(v) if isinstance(v, list) else v


@keywords_app.callback()
def keywords_main(
    ctx: typer.Context,
    window: int = typer.Option(7, "--window", "-w", help="Days in the window."),
    to: str | None = typer.Option(
        None, "--to", help="Last day of the window (default: the latest imported day)."
    ),
    sort: str = typer.Option(
        "popularity",
        "--sort",
        help="popularity (high first) | competition (low first) | click_share (high first).",
    ),
    limit: int | None = typer.Option(50, "--limit", "-n", help="Show at most N keywords."),
    store: str = _STORE,
    db: str | None = _DB,
    csv_path: Path | None = typer.Option(
        None, "--csv", help="Rank this CSV directly instead of the imported data."
    ),
    fmt: str = typer.Option("table", "--format", "-f", help="table | json | csv."),
    backend: str = typer.Option("duckdb", "--backend", help="duckdb | pyspark."),
) -> None:
    """Rank the keywords of a window of days (run with no sub-command)."""  # fmt: skip
    if ctx.invoked_subcommand is not None:
        ctx.obj = {"window": window, "to": to, "store": store, "db": db, "csv": csv_path,
                   "backend": backend}  # fmt: skip
        return
    if fmt not in FORMATS:
        raise _fail(f"--format must be one of {', '.join(FORMATS)}")
    out = _ranking(csv_path, store, db, window, to, sort, limit, backend)
    title = f"keywords {out['from']} … {out['to']} by {sort}"
    _print_keywords(out, out["keywords"], KW_COLS, fmt, title)


@keywords_app.command("suggest")
def keywords_suggest(
    ctx: typer.Context,
    title: str | None = typer.Argument(None, help="The product title (or use --product)."),
    product: str | None = typer.Option(
        None, "--product", help="A catalogue product id (title and category from the database)."
    ),
    category: str = typer.Option("", "--category", help="The product's category words."),
    limit: int = typer.Option(10, "--limit", "-n", help="Suggest at most N keywords."),
    fmt: str = typer.Option("table", "--format", "-f", help="table | json | csv."),
) -> None:
    """Title keywords for a product, best popularity per unit of competition first.

    Keywords sharing a word with the title or category, with the words the title lacks. Window options go before the sub-command: kefu keywords --window 7 suggest "…".
    """  # noqa: E501  # fmt: skip
    from kefu.traffic.keywords import suggest

    o = ctx.obj or {}
    store, db = o.get("store", "default"), o.get("db")
    if fmt not in FORMATS:
        raise _fail(f"--format must be one of {', '.join(FORMATS)}")
    if product is not None:
        from kefu.storage.db import make_engine
        from kefu.storage.models import Product

        engine = make_engine(db)
        try:
            with engine.connect() as conn:
                from sqlalchemy import select

                row = conn.execute(select(Product.title, Product.category).where(
                    Product.store == store, Product.product == product)).first()  # fmt: skip
        finally:
            engine.dispose()
        if row is None:
            raise _fail(f"no product {product!r} in store {store!r}")
        title, category = row[0], category or row[1]
    if not title:
        raise _fail("give a TITLE or --product")
    ranked = _ranking(o.get("csv"), store, db, o.get("window", 7), o.get("to"), "popularity",
                      None, o.get("backend", "duckdb"))  # fmt: skip
    rows = suggest(ranked, title, category, limit)
    out = {"store": store, "title": title, "from": ranked["from"], "to": ranked["to"],
           "suggestions": rows}  # fmt: skip
    cols = ["keyword", "score", "matched", "missing", "search_popularity", "competition",
            "click_share"]  # fmt: skip
    _print_keywords(out, rows, cols, fmt, f"title keywords for {title}")


def register(app: typer.Typer) -> None:
    """Add `kefu traffic` and `kefu keywords`."""
    app.command("traffic")(traffic_command)
    app.add_typer(keywords_app, name="keywords")
