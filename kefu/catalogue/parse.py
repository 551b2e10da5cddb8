"""Read a catalogue spreadsheet (CSV or XLSX) into `product` events, keeping every good row.

A store exports its catalogue from a back office or keeps it in Excel; the headers are matched
loosely (English or Chinese, any case: `sku`/`货号`, `title`/`商品名称`, `price`/`价格` …).
A bad row never stops the import: it becomes a `Rejected` (line, field, reason) — the same
record the event readers and `kefu ingest` report — and the next row is read. Lines count
like a spreadsheet does: the header is line 1. CSV text is sniffed like event files are
(BOM, UTF-8, GB18030 from Chinese Excel, UTF-16 with a mark).
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from kefu.engine.readers import Rejected, sniff_encoding

MAX_ROWS = 50_000
MAX_BYTES = 20 * 1024 * 1024
STATUSES = ("on_sale", "off_sale", "out_of_stock")

# Column name as written (lower-case, spaces/dashes as underscores) -> product field.
COLUMNS: dict[str, str] = {
    **dict.fromkeys(("product", "product_id", "sku", "id", "item_id", "商品id", "商品编号",
                     "货号", "编号", "sku编码"), "product"),
    **dict.fromkeys(("title", "name", "标题", "商品名称", "商品标题", "名称"), "title"),
    **dict.fromkeys(("price", "价格", "售价", "单价"), "price"),
    **dict.fromkeys(("category", "类目", "分类", "品类"), "category"),
    **dict.fromkeys(("attributes", "attrs", "attribute", "属性", "规格", "商品属性"), "attrs"),
    **dict.fromkeys(("stock", "inventory", "qty", "库存", "数量"), "stock"),
    **dict.fromkeys(("status", "状态", "商品状态"), "status"),
    **dict.fromkeys(("urge_text", "urge", "催拍文案", "催拍话术", "催拍"), "urge_text"),
    **dict.fromkeys(("description", "desc", "描述", "商品描述"), "description"),
    **dict.fromkeys(("url", "link", "链接", "商品链接"), "url"),
}  # fmt: skip
STATUS_WORDS = {
    "on_sale": "on_sale", "on sale": "on_sale", "onsale": "on_sale", "在售": "on_sale",
    "上架": "on_sale", "出售中": "on_sale", "off_sale": "off_sale", "off sale": "off_sale",
    "下架": "off_sale", "已下架": "off_sale", "停售": "off_sale", "disabled": "off_sale",
    "out_of_stock": "out_of_stock", "out of stock": "out_of_stock", "缺货": "out_of_stock",
    "售罄": "out_of_stock", "无货": "out_of_stock",
}  # fmt: skip
_PRICE = re.compile(r"^[¥￥$]?\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*(?:元|rmb|cny)?$", re.IGNORECASE)
_PAIR_SEP = re.compile(r"[;；|\n]")
_KV_SEP = re.compile(r"[:：=]")
_LIST_SEP = re.compile(r"\s*[/、]\s*")


# Why a row is refused: a code the web app translates, and the English reason of the API.
REASONS = {
    "missing": "missing",
    "missing_id": "missing: every row needs a product id (sku)",
    "too_long": "longer than {value} characters",
    "not_price": "`{value}` is not a price (a number ≥ 0 like 59.9)",
    "not_whole": "`{value}` is not a whole number",
    "negative": "cannot be negative",
    "bad_status": "`{value}` is not one of on_sale, off_sale, out_of_stock (在售, 下架, 缺货)",
    "bad_json": "not valid JSON ({value})",
    "not_object": "JSON attributes must be an object",
    "bad_pair": "`{value}` is not `name: value` (pairs split by `;`)",
    "bad_url": "must start with http:// or https://",
    "duplicate": "the product id is already on line {value}",
    "extra_cells": "more cells than the header has columns ({value})",
    "too_many_rows": "more than {value} rows; the rest was not read",
}


class Problem(ValueError):
    """A refused cell: the code (REASONS) and the value it names."""

    def __init__(self, code: str, value: Any = "") -> None:
        self.code = code
        self.value = str(value)
        super().__init__(REASONS[code].format(value=self.value))


class CatalogueError(ValueError):
    """The file as a whole cannot be read (not CSV/XLSX, no header, no product column)."""


@dataclass
class Parsed:
    """Product rows that passed (line, fields) and rows refused, in file order."""

    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    # line -> (code, value) of each rejected row (REASONS), for a translated message
    codes: dict[int, tuple[str, str]] = field(default_factory=dict)
    lines: int = 0
    format: str = "csv"
    encoding: str | None = None
    ignored_columns: list[str] = field(default_factory=list)


def _key(name: Any) -> str:
    return re.sub(r"[\s\-]+", "_", str(name or "").strip().lstrip("\ufeff").lower())


def _cells_csv(data: bytes, parsed: Parsed) -> Iterator[tuple[int, list[str]]]:
    name = sniff_encoding(data[:65_536])
    parsed.encoding = "utf-8" if name == "utf-8-sig" else name
    try:
        text = data.decode(name)
    except UnicodeDecodeError as err:
        raise CatalogueError(f"the file is not {name} text ({err.reason} at byte "
                             f"{err.start}); save it as UTF-8 CSV") from None  # fmt: skip
    text = text.lstrip("\ufeff")
    sample = text[:4096]
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for cells in reader:
            yield reader.line_num, cells
    except csv.Error as err:
        raise CatalogueError(f"line {reader.line_num}: {err}") from None


def _cells_xlsx(data: bytes, parsed: Parsed) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    parsed.format = "xlsx"
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as err:
        raise CatalogueError(f"not a readable .xlsx workbook ({err})") from None
    try:
        ws = wb.worksheets[0]
        for n, row in enumerate(ws.iter_rows(values_only=True), 1):
            yield n, ["" if v is None else _cell_text(v) for v in row]
    finally:
        wb.close()


def _cell_text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _attrs(raw: str) -> dict[str, Any]:
    """`{"颜色": "红"}` (JSON) or `颜色:红/蓝; 尺码:S/M/L` (a list where `/` or `、` splits)."""
    if raw.startswith("{"):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as err:
            raise Problem("bad_json", f"{err.msg} at column {err.colno}") from None
        if not isinstance(value, dict):
            raise Problem("not_object")
        return value
    out: dict[str, Any] = {}
    for part in _PAIR_SEP.split(raw):
        if not part.strip():
            continue
        bits = _KV_SEP.split(part, maxsplit=1)
        if len(bits) != 2 or not bits[0].strip() or not bits[1].strip():
            raise Problem("bad_pair", part.strip()[:40])
        k, v = bits[0].strip(), bits[1].strip()
        items = [x for x in _LIST_SEP.split(v) if x]
        out[k] = items if len(items) > 1 else v
    return out


def row_fields(cells: dict[str, str]) -> tuple[dict[str, Any] | None, str | None, Problem | None]:
    """The product fields of one row, else (None, field, problem) of its first problem."""
    out: dict[str, Any] = {}
    pid = cells.get("product", "").strip()
    if not pid:
        return None, "product", Problem("missing_id")
    if len(pid) > 256:
        return None, "product", Problem("too_long", 256)
    out["product"] = pid
    title = cells.get("title", "").strip()
    if not title:
        return None, "title", Problem("missing")
    if len(title) > 20_000:
        return None, "title", Problem("too_long", 20_000)
    out["title"] = title
    raw_price = cells.get("price", "").strip()
    if not raw_price:
        return None, "price", Problem("missing")
    m = _PRICE.match(raw_price)
    if m is None:
        return None, "price", Problem("not_price", raw_price[:40])
    out["price"] = float(m.group(1).replace(",", ""))
    out["category"] = cells.get("category", "").strip()[:256]
    raw_stock = cells.get("stock", "").strip()
    if raw_stock:
        try:
            stock = int(float(raw_stock)) if re.fullmatch(r"-?\d+(\.0+)?", raw_stock) else None
        except ValueError:
            stock = None
        if stock is None:
            return None, "stock", Problem("not_whole", raw_stock[:40])
        if stock < 0:
            return None, "stock", Problem("negative")
        out["stock"] = stock
    raw_status = cells.get("status", "").strip()
    if raw_status:
        status = STATUS_WORDS.get(raw_status.lower())
        if status is None:
            return None, "status", Problem("bad_status", raw_status[:40])
        out["status"] = status
    raw_attrs = cells.get("attrs", "").strip()
    attrs: dict[str, Any] = {}
    if raw_attrs:
        try:
            attrs = _attrs(raw_attrs)
        except Problem as err:
            return None, "attributes", err
    url = cells.get("url", "").strip()
    if url:
        if not re.match(r"^https?://\S+$", url):
            return None, "url", Problem("bad_url")
        attrs["url"] = url
    if attrs:
        out["attrs"] = attrs
    for name in ("urge_text", "description"):
        text = cells.get(name, "").strip()
        if len(text) > 20_000:
            return None, name, Problem("too_long", 20_000)
        if text:
            out[name] = text
    return out, None, None


def _refuse(parsed: Parsed, line: int, column: str | None, problem: Problem) -> None:
    parsed.rejected.append(Rejected(line, column, str(problem)))
    parsed.codes[line] = (problem.code, problem.value)


def parse(data: bytes) -> Parsed:
    """Product rows of a CSV or XLSX file; raises `CatalogueError` when nothing can be read."""
    parsed = Parsed()
    if len(data) > MAX_BYTES:
        raise CatalogueError(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    if not data.strip():
        raise CatalogueError("the file is empty")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise CatalogueError("old .xls workbooks are not read: save as .xlsx or CSV")
    cells = _cells_xlsx(data, parsed) if data.startswith(b"PK\x03\x04") else _cells_csv(
        data, parsed)  # fmt: skip
    header: list[str | None] | None = None
    seen: dict[str, int] = {}
    for line, row in cells:
        if header is None:
            if not any(c.strip() for c in row):
                continue
            names = [_key(c) for c in row]
            header = [COLUMNS.get(n) for n in names]
            parsed.ignored_columns = [str(c).strip() for c, h in zip(row, header, strict=True)
                                      if h is None and str(c).strip()]  # fmt: skip
            missing = [f for f in ("product", "title", "price") if f not in header]
            if missing:
                raise CatalogueError(f"line {line}: the header has no {', '.join(missing)} "
                                     "column (e.g. sku, title, price)")  # fmt: skip
            continue
        if not any(c.strip() for c in row):
            continue
        parsed.lines += 1
        if parsed.lines > MAX_ROWS:
            _refuse(parsed, line, None, Problem("too_many_rows", MAX_ROWS))
            break
        if len(row) > len(header) and any(c.strip() for c in row[len(header) :]):
            _refuse(parsed, line, None, Problem("extra_cells", f"{len(row)} > {len(header)}"))
            continue
        values: dict[str, str] = {}
        for name, cell in zip(header, row, strict=False):
            if name is not None and cell.strip() and not values.get(name):
                values[name] = cell
        fields, bad, problem = row_fields(values)
        if fields is None:
            _refuse(parsed, line, bad, problem or Problem("missing"))
            continue
        first = seen.get(fields["product"])
        if first is not None:
            _refuse(parsed, line, "product", Problem("duplicate", first))
            continue
        seen[fields["product"]] = line
        parsed.rows.append((line, fields))
    if header is None:
        raise CatalogueError("the file has no header row")
    return parsed
