"""Images in chat in a real browser (#21): a buyer sends an image from the widget, the agent
sees its thumbnail in the workbench and opens it full size, answers with an image, and the
buyer sees that one and opens it; a file that is not an image is refused with a clear line."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw
from playwright.sync_api import expect

from tests.web.conftest import Kefu, shot

STORE = "imgshop"


def _picture(path: Path, size: tuple[int, int], bg: str, fg: str) -> Path:
    im = Image.new("RGB", size, bg)
    ImageDraw.Draw(im).rectangle((size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2), fill=fg)
    out = io.BytesIO()
    im.save(out, "PNG" if path.suffix == ".png" else "JPEG")
    path.write_bytes(out.getvalue())
    return path


def _natural(img: Any) -> tuple[int, int]:
    w, h = img.evaluate("(el) => [el.naturalWidth, el.naturalHeight]")
    return int(w), int(h)


def test_an_image_goes_buyer_to_agent_and_back(kefu: Kefu, new_page: Any, tmp_path: Path) -> None:
    agent = kefu.online(STORE, "img-a1", capacity=3, name="图图店:小图")
    buyer = kefu.buyer(STORE, "img-b1")
    r = kefu.api("POST", "/api/v1/buyer/messages", buyer, {"text": "你好，我想问问尺码"})
    conv = r.json()["conversation"]
    r = kefu.api("POST", "/api/v1/buyer/transfer", buyer, {})
    assert r.json()["actions"][-1]["type"] == "assign", r.text
    shoe = _picture(tmp_path / "shoe.png", (640, 480), "#f4efe6", "#c0392b")
    reply = _picture(tmp_path / "chart.jpg", (900, 600), "#eaf2fb", "#1f6feb")

    # The buyer sends an image from the widget: shown as a thumbnail in the widget.
    bp = new_page(width=1200, height=860)
    bp.goto(f"{kefu.url}/app/shop.html?token={buyer}")
    bp.get_by_test_id("kefu-launcher").click()
    bp.get_by_test_id("kefu-image-input").set_input_files(str(shoe))
    mine = bp.get_by_test_id("kefu-msg").filter(has=bp.get_by_test_id("chat-image-thumb"))
    expect(mine).to_have_count(1)
    expect(mine.get_by_test_id("chat-image-thumb")).to_be_visible()
    assert mine.get_attribute("class") and "mine" in str(mine.get_attribute("class"))
    assert _natural(mine.get_by_test_id("chat-image-thumb")) == (320, 240)  # the thumbnail

    # The agent sees it in the workbench and opens it at full size.
    ap = new_page()
    ap.goto(f"{kefu.url}/app/workbench?token={agent}")
    ap.locator(f'[data-conv-item="{conv}"]').click()
    thumb = ap.get_by_test_id("msg").get_by_test_id("chat-image-thumb")
    expect(thumb).to_have_count(1)
    expect(thumb).to_be_visible()
    ap.wait_for_function("() => document.querySelector('[data-testid=chat-image-thumb]')"
                         ".naturalWidth > 0")  # fmt: skip
    shot(ap, "images-workbench-thumb")
    ap.get_by_test_id("chat-image").click()
    full = ap.get_by_test_id("chat-image-full-img")
    expect(full).to_be_visible()
    ap.wait_for_function("() => document.querySelector('[data-testid=chat-image-full-img]')"
                         ".naturalWidth > 0")  # fmt: skip
    assert _natural(full) == (640, 480)  # the original, not the thumbnail
    shot(ap, "images-workbench-full")
    ap.keyboard.press("Escape")
    expect(ap.get_by_test_id("chat-image-full")).to_have_count(0)

    # The agent answers with an image; the buyer's widget shows it and opens it.
    ap.get_by_test_id("image-input").set_input_files(str(reply))
    expect(ap.get_by_test_id("msg").get_by_test_id("chat-image")).to_have_count(2)
    theirs = bp.locator(".kf-row.theirs").filter(has=bp.get_by_test_id("chat-image-thumb"))
    expect(theirs).to_have_count(1)
    bp.wait_for_function(
        "() => [...document.querySelector('#kefu-widget').shadowRoot"
        ".querySelectorAll('.theirs [data-testid=chat-image-thumb]')].some(i => i.naturalWidth)"
    )
    shot(bp, "images-widget-thumbs")
    theirs.get_by_test_id("chat-image").click()
    big = bp.get_by_test_id("chat-image-full-img")
    expect(big).to_be_visible()
    bp.wait_for_function(
        "() => document.querySelector('#kefu-widget').shadowRoot"
        ".querySelector('[data-testid=chat-image-full-img]').naturalWidth > 0"
    )
    assert _natural(big) == (900, 600)
    shot(bp, "images-widget-full")
    bp.get_by_test_id("chat-image-full").click()
    expect(bp.get_by_test_id("chat-image-full")).to_have_count(0)

    # A text file named .png: the server finds it is no image and the widget says so.
    fake = tmp_path / "notes.png"
    fake.write_text("just some text, not a picture", encoding="utf-8")
    bp.get_by_test_id("kefu-image-input").set_input_files(str(fake))
    refused = bp.get_by_test_id("kefu-image-pending")
    expect(refused).to_have_text("只能发送 JPEG、PNG、WEBP 或 GIF 图片，点击关闭")
    refused.click()
    expect(refused).to_have_count(0)
    assert not bp.errors and not ap.errors, (bp.errors, ap.errors)
