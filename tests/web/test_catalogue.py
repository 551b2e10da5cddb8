"""The catalogue page in a real browser: a CSV with bad rows imports with every error shown
(line, field, reason) and the good rows listed; a product card opens the product."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.web.conftest import Kefu, shot
from tests.web.test_i18n import SCAN, _problems

S = "catshop"
CSV = (
    "sku,title,price,category,attributes,stock,status,urge text,url\n"
    "c1,纯棉宽松短袖T恤,79,T恤,材质:纯棉; 尺码:S/M/L,100,在售,T恤今天下单包邮哦,"
    "https://shop.example/c1\n"
    "c2,高腰牛仔裤,一百,牛仔裤,,20,,,\n"  # line 3: price is not a number
    "c3,,39,帽子,,5,,,\n"  # line 4: no title
    "c4,帆布小白鞋,99,鞋,,,缺货,,\n"
    "c5,运动棉袜,29.9,袜子,,-3,,,\n"  # line 6: negative stock
)


def test_a_catalogue_csv_with_bad_rows_imports_with_errors_shown(
    kefu: Kefu, new_page: Any, tmp_path: Any
) -> None:
    boss = kefu.staff(S, "boss", "supervisor")
    page = new_page()
    page.goto(f"{kefu.url}/app/products?token={boss}")
    expect(page.get_by_test_id("products-empty")).to_be_visible()
    f = tmp_path / "商品.csv"
    f.write_text(CSV, encoding="gb18030")  # as Chinese Excel saves it
    page.get_by_test_id("catalogue-file").set_input_files(str(f))
    rows = page.get_by_test_id("catalogue-error-row")
    expect(rows).to_have_count(3)
    assert [rows.nth(i).get_attribute("data-line") for i in range(3)] == ["3", "4", "6"]
    expect(rows.nth(0)).to_contain_text("价格")
    expect(rows.nth(0)).to_contain_text("一百")
    expect(rows.nth(1)).to_contain_text("标题")
    expect(rows.nth(2)).to_contain_text("库存")
    expect(page.get_by_test_id("catalogue-summary")).to_contain_text("导入 2 行")
    listed = page.get_by_test_id("product-row")
    expect(listed).to_have_count(2)
    assert [listed.nth(i).get_attribute("data-product") for i in range(2)] == ["c1", "c4"]
    expect(page.locator('[data-testid="product-row"][data-product="c4"]')).to_contain_text("缺货")
    shot(page, "60-catalogue-upload-errors")
    # Every string of the page in Chinese: reasons are translated from their codes.
    assert not _problems(page.evaluate(SCAN), "zh-CN", {S, "boss"})
    # The API agrees: the good rows are products with their attributes and urge text.
    c1 = kefu.api("GET", f"/api/v1/stores/{S}/catalogue/products/c1", boss).json()
    assert c1["attrs"]["尺码"] == ["S", "M", "L"] and c1["urge_text"] == "T恤今天下单包邮哦"
    # A product card opens the product: its details and a link to its page.
    page.locator('[data-testid="product-row"][data-product="c1"] .pcard').click()
    detail = page.get_by_test_id("product-detail")
    expect(detail).to_be_visible()
    expect(detail).to_contain_text("纯棉")
    expect(detail).to_contain_text("T恤今天下单包邮哦")
    link = page.get_by_test_id("product-page")
    expect(link).to_have_attribute("href", "https://shop.example/c1")
    shot(page, "61-product-detail")
    page.get_by_test_id("product-detail-close").click()
    # Search narrows the list; taking a product off sale shows at once.
    page.get_by_test_id("products-search").fill("小白鞋")
    page.get_by_test_id("products-search").press("Enter")
    expect(listed).to_have_count(1)
    page.locator('[data-product="c4"] [data-testid="product-disable"]').click()
    expect(page.locator('[data-testid="product-row"][data-product="c4"]')).to_contain_text("已下架")


def test_a_product_card_in_chat_opens_the_product(kefu: Kefu, new_page: Any) -> None:
    boss = kefu.staff(S + "2", "boss", "supervisor")
    r = kefu.api("PUT", f"/api/v1/stores/{S}2/catalogue/products/k1", boss,
                 {"title": "保温杯 500ml", "price": 129, "attrs": {"容量": "500ml"}})  # fmt: skip
    assert r.status_code == 200, r.text
    agent = kefu.online(S + "2", "a1")
    b = kefu.buyer(S + "2", "b1")
    r = kefu.api("POST", "/api/v1/buyer/messages", b, {"text": "在吗，想问问这个", "product": "k1"})
    assert r.status_code == 200, r.text
    assert kefu.api("POST", "/api/v1/buyer/transfer", b, {}).status_code == 200
    page = new_page()
    page.goto(f"{kefu.url}/app/workbench?token={agent}")
    page.locator('[data-conv-item="b1~1"]').click()
    card = page.get_by_test_id("chat").locator('.pcard[data-product="k1"]').first
    expect(card).to_be_visible()
    card.click()
    detail = page.get_by_test_id("product-detail")
    expect(detail).to_contain_text("保温杯 500ml")
    expect(detail).to_contain_text("500ml")
    expect(page.get_by_test_id("product-page")).to_have_count(0)  # no page url: the detail only
