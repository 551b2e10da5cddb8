"""Images in chat over the API: both ways through the events path, the type and size limits,
thumbnails, and downloads authorised per store and per buyer."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

from PIL import Image

from kefu.attachments.storage import namespace
from tests.accounts.support import Live, receive_until
from tests.attachments.conftest import image

S, OTHER = "s1", "s2"
BUYER_UP = "/api/v1/buyer/attachments"


def _up(live: Live, h: dict[str, str], data: bytes, ctype: str = "image/png",
        url: str = BUYER_UP, **params: Any) -> Any:  # fmt: skip
    return live.client.post(url, content=data, params=params,
                            headers={**h, "Content-Type": ctype})  # fmt: skip


def _assigned(live: Live) -> tuple[dict[str, str], dict[str, str], str]:
    """Agent a1 online, buyer b1 transferred to it: (agent headers, buyer headers, conv)."""
    agent = live.online(S, "a1")
    buyer = live.buyer(S, "b1")
    r = live.client.post("/api/v1/buyer/messages", headers=buyer, json={"text": "在吗"})
    conv = r.json()["conversation"]
    r = live.client.post("/api/v1/buyer/transfer", headers=buyer)
    assert [a["type"] for a in r.json()["actions"]][-1] == "assign", r.text
    return agent, buyer, conv


def test_buyer_image_reaches_the_agent_and_the_agent_replies_with_one(live: Live) -> None:
    agent, buyer, conv = _assigned(live)
    png = image("PNG", (800, 600))
    with live.client.websocket_connect(
        f"/api/v1/ws/agent?token={agent['Authorization'][7:]}"
    ) as ws:
        r = _up(live, buyer, png, text="这个颜色有货吗", name="shoe.png")
        assert r.status_code == 201, r.text
        got = receive_until(ws, "message")
    ref = r.json()["attachment"]
    assert ref == {"id": hashlib.sha256(png).hexdigest(), "type": "image/png", "size": len(png),
                   "width": 800, "height": 600, "name": "shoe.png"}  # fmt: skip
    assert r.json()["conversation"] == conv
    # the agent's socket carries the message with its attachment, like any message
    assert (got["sender"], got["text"], got["attachments"]) == ("buyer", "这个颜色有货吗", [ref])
    items = live.client.get(f"/api/v1/stores/{S}/conversations/{conv}/transcript",
                            headers=agent).json()["items"]  # fmt: skip
    msg = [i for i in items if i["type"] == "message"][-1]
    assert (msg["sender"], msg["attachments"]) == ("buyer", [ref])
    # the agent downloads the original and the thumbnail
    full = live.client.get(f"/api/v1/stores/{S}/attachments/{ref['id']}", headers=agent)
    assert (full.status_code, full.content) == (200, png)
    assert full.headers["content-type"] == "image/png"
    assert full.headers["x-content-type-options"] == "nosniff"
    assert "private" in full.headers["cache-control"]
    thumb = live.client.get(f"/api/v1/stores/{S}/attachments/{ref['id']}",
                            params={"size": "thumb"}, headers=agent)  # fmt: skip
    assert thumb.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(thumb.content)) as im:
        assert (im.format, im.size) == ("JPEG", (320, 240))

    # the agent answers with an image; the buyer's socket and transcript show it
    jpg = image("JPEG", (200, 100), "blue")
    url = f"/api/v1/stores/{S}/conversations/{conv}/attachments"
    with live.client.websocket_connect(
        f"/api/v1/ws/buyer?token={buyer['Authorization'][7:]}"
    ) as ws:
        r = _up(live, agent, jpg, "image/jpeg", url=url)
        assert r.status_code == 201, r.text
        got = receive_until(ws, "message")
    back = r.json()["attachment"]
    assert (back["type"], back["width"], back["height"]) == ("image/jpeg", 200, 100)
    assert (got["sender"], got["agent"], got["attachments"]) == ("agent", "a1", [back])
    items = live.client.get("/api/v1/buyer/transcript", headers=buyer).json()["items"]
    assert [i.get("attachments") for i in items if i["type"] == "message"][-2:] == [[ref], [back]]
    for size, kind in (("full", "image/jpeg"), ("thumb", "image/jpeg")):
        r = live.client.get(f"/api/v1/buyer/attachments/{back['id']}", params={"size": size},
                            headers=buyer)  # fmt: skip
        assert (r.status_code, r.headers["content-type"]) == (200, kind)
    assert live.client.get(f"/api/v1/buyer/attachments/{back['id']}",
                           headers=buyer).content == jpg  # fmt: skip


def test_stored_once_per_store_content_addressed(live: Live, tmp_path: Path) -> None:
    png = image("PNG", (10, 10))
    for b in ("b1", "b2"):
        assert _up(live, live.buyer(S, b), png).status_code == 201
    digest = hashlib.sha256(png).hexdigest()
    files = sorted(p.relative_to(tmp_path / "att").as_posix()
                   for p in (tmp_path / "att").rglob("*") if p.is_file())  # fmt: skip
    where = f"{namespace(S)}/{digest[:2]}/{digest}"
    assert files == [where, f"{where}.thumb"]


def test_every_allowed_type_and_the_ones_refused(live: Live) -> None:
    buyer = live.buyer(S, "b1")
    for fmt, kind in (("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp"),
                      ("GIF", "image/gif")):  # fmt: skip
        # the type comes from the bytes: a browser's octet-stream is fine
        r = _up(live, buyer, image(fmt, (40, 30)), "application/octet-stream")
        assert (r.status_code, r.json()["attachment"]["type"]) == (201, kind), r.text
    html = b"<html><script>alert(1)</script></html>"
    r = _up(live, buyer, html, "image/png")  # declared png, really HTML
    assert r.status_code == 415
    assert r.json()["detail"].startswith("file: not an allowed image type (image/jpeg")
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"/>'
    assert _up(live, buyer, svg, "image/svg+xml").status_code == 415
    r = _up(live, buyer, image("PNG"), "text/plain")
    assert (r.status_code, r.json()["detail"][:33]) == (415, "file: Content-Type text/plain is ")
    truncated = image("PNG", (300, 300))[:60]  # right magic bytes, not a whole image
    r = _up(live, buyer, truncated)
    assert r.status_code == 415 and r.json()["detail"].startswith("file: not a valid png image")
    r = _up(live, buyer, b"")
    assert (r.status_code, r.json()) == (422, {"detail": "file: the request body is empty"})
    # nothing refused became a message
    items = live.client.get("/api/v1/buyer/transcript", headers=buyer).json()["items"]
    assert len([i for i in items if i["type"] == "message"]) == 4


def test_size_limit_is_configurable_and_a_413_says_so(
    live: Live, monkeypatch: Any, db_url: str, tmp_path: Path
) -> None:
    buyer = live.buyer(S, "b1")
    big = image("PNG", (600, 600), "white") + b"\0" * 10_500_000  # over the default 10 MB
    r = _up(live, buyer, big)
    assert (r.status_code, r.json()["detail"]) == (
        413, f"file: {len(big)} bytes is over the limit of 10485760 bytes (10 MiB)")  # fmt: skip
    live.client.app.state.attachments.max_bytes = 1000
    r = _up(live, buyer, image("PNG", (300, 300), "white") + b"\0" * 1000)
    assert r.status_code == 413
    assert r.json()["detail"].endswith("over the limit of 1000 bytes (0.0009537 MiB)")
    small = image("PNG", (8, 8))
    assert len(small) < 1000
    assert _up(live, buyer, small).status_code == 201
    # the environment sets it for a new app
    from tests.accounts.support import live_app

    monkeypatch.setenv("KEFU_ATTACHMENT_MAX_BYTES", "50")
    with live_app(db_url) as other:
        r = _up(other, other.buyer(S, "b9"), small)
        limit = "the limit of 50 bytes (4.768e-05 MiB)"
        assert (r.status_code, r.json()["detail"]) == (
            413,
            f"file: {len(small)} bytes is over {limit}",
        )


def test_a_pixel_bomb_is_refused_before_decoding(live: Live) -> None:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))  # fmt: skip

    # a 30000×30000 PNG header (900 M pixels) with almost no data
    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0"))
    r = _up(live, live.buyer(S, "b1"), bomb + chunk(b"IEND", b""))
    assert r.status_code == 413, r.text
    assert r.json()["detail"].startswith("file: image too large")


def test_downloads_are_scoped_to_the_store_and_the_buyer(live: Live) -> None:
    agent, buyer, _conv = _assigned(live)
    png = image("PNG", (20, 20), "green")
    ref = _up(live, buyer, png).json()["attachment"]
    aid = ref["id"]
    ok = live.client.get(f"/api/v1/buyer/attachments/{aid}", headers=buyer)
    assert ok.status_code == 200
    # another buyer of the same store, and the same buyer id in another store: 404
    for h in (live.buyer(S, "b2"), live.buyer(OTHER, "b1")):
        r = live.client.get(f"/api/v1/buyer/attachments/{aid}", headers=h)
        assert (r.status_code, r.json()) == (404, {"detail": "not found"})
    # another store's admin: on its own store's URL the id is unknown, on ours 404 too
    foreign = live.staff(OTHER, "x", "admin")
    for store in (OTHER, S):
        r = live.client.get(f"/api/v1/stores/{store}/attachments/{aid}", headers=foreign)
        assert (r.status_code, r.json()) == (404, {"detail": "not found"})
    # every staff role of the store reads it; a supervisor, an admin of the store too
    for role in ("agent", "supervisor", "admin"):
        h = live.staff(S, f"u-{role}", role)
        assert live.client.get(f"/api/v1/stores/{S}/attachments/{aid}", headers=h).content == png
    # a staff token on the buyer route, a buyer token on the staff route
    assert live.client.get(f"/api/v1/buyer/attachments/{aid}", headers=agent).status_code == 403
    assert live.client.get(f"/api/v1/stores/{S}/attachments/{aid}",
                           headers=buyer).status_code == 404  # fmt: skip
    # no token: 401; a guessed id: 404; not an id: 422
    assert live.client.get(f"/api/v1/stores/{S}/attachments/{aid}").status_code == 401
    r = live.client.get(f"/api/v1/stores/{S}/attachments/{'0' * 64}", headers=agent)
    assert r.status_code == 404
    r = live.client.get(f"/api/v1/stores/{S}/attachments/..%2F..%2Fetc", headers=agent)
    assert r.status_code in (404, 422)


def test_only_the_serving_agent_sends_images_in_a_conversation(live: Live) -> None:
    _agent, _buyer, conv = _assigned(live)
    url = f"/api/v1/stores/{S}/conversations/{conv}/attachments"
    other = live.staff(S, "a2", "agent")
    r = _up(live, other, image(), url=url)
    assert (r.status_code, r.json()) == (409, {"detail": "conversation is not assigned to you"})
    sup = live.staff(S, "boss", "supervisor")
    assert _up(live, sup, image(), url=url).status_code == 201
    foreign = live.staff(OTHER, "a1", "admin")
    r = _up(live, foreign, image(), url=f"/api/v1/stores/{OTHER}/conversations/{conv}/attachments")
    assert r.status_code == 404


def test_attachments_through_the_events_api_and_refused_shapes(live: Live) -> None:
    admin = live.staff(S, "root", "admin")
    ok = {"ts": "2027-01-15T16:00:01+08:00", "type": "message", "store": S, "buyer": "b7",
          "sender": "buyer", "attachments": [{"id": "wx-123", "type": "image/jpeg"}]}  # fmt: skip
    bad = {**ok, "attachments": [{"id": "wx-124"}]}
    r = live.client.post("/api/v1/events", headers=admin, json=[ok, bad])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted"] == 1
    assert "type" in str(body["rejected"][0])


def test_an_image_alone_to_the_bot_gets_the_miss_reply_with_the_button(live: Live) -> None:
    r = _up(live, live.buyer(S, "b5"), image("PNG", (30, 30)))
    assert r.status_code == 201, r.text
    replies = [a for a in r.json()["actions"] if a["type"] == "bot.reply"]
    assert len(replies) == 1
    assert (replies[0]["faq"], replies[0]["transfer_button"]) == (None, True)
    assert "转人工" in replies[0]["text"]
