"""Catalogue upload and the product API on a live app (SQLite and PostgreSQL).

An upload goes through the engine as `product` events: the bot answers from an uploaded
product's attributes at once, and the `products` table is projected from it.
"""

from __future__ import annotations

import io

from openpyxl import Workbook
from sqlalchemy import select

from kefu.storage import models
from tests.accounts.support import Live, live

__all__ = ["live"]
S = "shop1"
BASE = f"/api/v1/stores/{S}/catalogue"

CSV = (
    "sku,title,price,category,attributes,stock,status,urge text\n"
    "p1,纯棉T恤,59.9,服饰,材质:纯棉; 尺码:S/M/L,100,在售,亲，T恤今天包邮哦\n"
    "p2,,39,服饰,,,,\n"  # line 3: no title
    "p3,帆布鞋,abc,鞋,,5,,\n"  # line 4: bad price
    "p4,保温杯,129,杯具,容量:500ml,-1,,\n"  # line 5: negative stock
    "p5,茶叶,88,茶,,3,sold,\n"  # line 6: unknown status
    "p6,雨伞,25,,颜色 红,,,\n"  # line 7: attribute without a value
    'p7,马克杯,19.5,杯具,"{""颜色"": ""白""}",0,缺货,\n'
    "p1,纯棉T恤 again,59,服饰,,,,\n"  # line 9: duplicate id
)


def _upload(lv: Live, body: bytes, h: dict[str, str], ctype: str = "text/csv") -> dict:
    r = lv.client.post(f"{BASE}/import", content=body, headers={**h, "Content-Type": ctype})
    assert r.status_code == 200, r.text
    return r.json()


def test_csv_upload_keeps_good_rows_and_reports_bad_ones_with_line_field_reason(
    live: Live,
) -> None:
    sup = live.staff(S, "sup", "supervisor")
    doc = _upload(live, CSV.encode("utf-8"), sup)
    assert (doc["rows"], doc["imported"], doc["unchanged"]) == (8, 2, 0)
    got = [(r["line"], r["field"]) for r in doc["rejected"]]
    assert got == [(3, "title"), (4, "price"), (5, "stock"), (6, "status"), (7, "attributes"),
                   (9, "product")]  # fmt: skip
    assert "abc" in doc["rejected"][1]["reason"]
    codes = [(r["code"], r["value"]) for r in doc["rejected"]]
    assert codes == [
        ("missing", ""), ("not_price", "abc"), ("negative", ""), ("bad_status", "sold"),
        ("bad_pair", "颜色 红"), ("duplicate", "2"),
    ]  # fmt: skip
    assert "line 2" in doc["rejected"][5]["reason"]
    # The good rows are products in the engine, the API and the projected table.
    p1 = live.client.get(f"{BASE}/products/p1", headers=sup).json()
    assert p1["attrs"] == {"材质": "纯棉", "尺码": ["S", "M", "L"]}
    assert (p1["stock"], p1["status"], p1["urge_text"]) == (100, "on_sale", "亲，T恤今天包邮哦")
    p7 = live.client.get(f"{BASE}/products/p7", headers=sup).json()
    assert (p7["status"], p7["attrs"], p7["price"]) == ("out_of_stock", {"颜色": "白"}, 19.5)
    assert live.client.get(f"{BASE}/products/p2", headers=sup).status_code == 404
    with live.service.sessions() as s:
        rows = s.scalars(select(models.Product.product).where(models.Product.store == S))
        assert sorted(rows) == ["p1", "p7"]
    # The same file again logs nothing new.
    again = _upload(live, CSV.encode("utf-8"), sup)
    assert (again["imported"], again["unchanged"]) == (0, 2)


def test_the_bot_answers_from_an_uploaded_product_at_once(live: Live) -> None:
    sup = live.staff(S, "sup", "supervisor")
    _upload(live, CSV.encode("utf-8"), sup)
    b = live.buyer(S, "b1")
    r = live.client.post("/api/v1/buyer/messages", headers=b,
                         json={"text": "这个是什么材质的", "product": "p1"})  # fmt: skip
    assert r.status_code == 200, r.text
    replies = [a["text"] for a in r.json()["actions"] if a["type"] == "bot.reply"]
    assert any("纯棉" in t for t in replies), replies


def test_gb18030_and_utf16_csv_and_xlsx_are_read(live: Live) -> None:
    sup = live.staff(S, "sup", "supervisor")
    text = "货号,商品名称,价格,库存\ng1,国标编码茶杯,12,3\n"
    doc = _upload(live, text.encode("gb18030"), sup)
    assert (doc["encoding"], doc["imported"]) == ("gb18030", 1)
    doc = _upload(live, text.replace("g1", "u1").encode("utf-16"), sup)
    assert (doc["imported"], doc["rejected"]) == (1, [])
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["product", "title", "price", "stock", "status"])
    ws.append(["x1", "表格导入的碗", 15.5, 7, "on_sale"])
    ws.append(["x2", "没有价格", None, 1, ""])
    buf = io.BytesIO()
    wb.save(buf)
    doc = _upload(live, buf.getvalue(), sup, "application/octet-stream")
    assert doc["format"] == "xlsx"
    assert doc["imported"] == 1
    assert doc["rejected"] == [
        {"line": 3, "field": "price", "reason": "missing", "code": "missing", "value": ""}
    ]
    names = {p["product"]: p["title"] for p in
             live.client.get(f"{BASE}/products", headers=sup).json()["items"]}  # fmt: skip
    assert names == {"g1": "国标编码茶杯", "u1": "国标编码茶杯", "x1": "表格导入的碗"}


def test_a_file_that_cannot_be_read_is_a_422_with_the_reason(live: Live) -> None:
    sup = live.staff(S, "sup", "supervisor")
    bad = [(b"", "empty"), (b"title,price\nA,1\n", "product"), (b"PK\x03\x04garbage", "xlsx"),
           (b"\xd0\xcf\x11\xe0xx", ".xls")]  # fmt: skip
    for body, words in bad:
        r = live.client.post(f"{BASE}/import", content=body, headers=sup)
        assert r.status_code == 422, (body, r.text)
        assert words in r.json()["detail"], r.json()
    agent = live.staff(S, "a1", "agent")
    assert live.client.post(f"{BASE}/import", content=b"x", headers=agent).status_code == 403


def test_product_api_list_search_pages_create_update_disable(live: Live) -> None:
    sup = live.staff(S, "sup", "supervisor")
    agent = live.staff(S, "a1", "agent")
    c = live.client
    for i in range(7):
        r = c.put(f"{BASE}/products/k{i}", headers=sup,
                  json={"title": f"杯子{i}" if i % 2 else f"碗{i}", "price": 10 + i,
                        "category": "杯具" if i % 2 else "碗", "stock": i})  # fmt: skip
        assert r.status_code == 200, r.text
    assert c.put(f"{BASE}/products/k9", headers=agent,
                 json={"title": "x", "price": 1}).status_code == 403  # fmt: skip
    page = c.get(f"{BASE}/products", headers=agent, params={"limit": 3}).json()
    assert page["total"] == 7 and [p["product"] for p in page["items"]] == ["k0", "k1", "k2"]
    page2 = c.get(f"{BASE}/products", headers=agent, params={"limit": 3, "offset": 6}).json()
    assert [p["product"] for p in page2["items"]] == ["k6"]
    found = c.get(f"{BASE}/products", headers=agent, params={"q": "杯子"}).json()
    assert [p["product"] for p in found["items"]] == ["k1", "k3", "k5"]
    r = c.put(f"{BASE}/products/k1", headers=sup,
              json={"title": "大杯子", "price": 30, "url": "https://shop.example/k1",
                    "attrs": {"容量": "600ml"}, "urge_text": "库存不多啦"})  # fmt: skip
    assert r.json()["url"] == "https://shop.example/k1"
    assert r.json()["attrs"] == {"容量": "600ml", "url": "https://shop.example/k1"}
    r = c.post(f"{BASE}/products/k1/disable", headers=sup)
    assert (r.json()["status"], r.json()["title"], r.json()["urge_text"]) == (
        "off_sale",
        "大杯子",
        "库存不多啦",
    )
    off = c.get(f"{BASE}/products", headers=agent, params={"status": "off_sale"}).json()
    assert [p["product"] for p in off["items"]] == ["k1"]
    bad = c.put(f"{BASE}/products/k1", headers=sup, json={"title": " ", "price": -1})
    assert bad.status_code == 422
    assert {e["loc"][-1] for e in bad.json()["detail"]} == {"title", "price"}
    assert c.post(f"{BASE}/products/nope/disable", headers=sup).status_code == 404
