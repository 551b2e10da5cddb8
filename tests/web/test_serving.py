"""Serving the web app (`kefu.server.webapp`) and its read routes, without a browser: the SPA
fallback and cache headers, the page shown when the app is not built, and the product,
agent, order and widget routes with their tenancy (another store's token gets 404)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kefu.accounts.tokens import buyer_token, create_token
from kefu.server.app import create_app
from kefu.server.webapp import mount_webapp
from kefu.runtime.service import EngineService
from kefu.engine.settings import parse_config
from kefu.storage.db import make_engine
from kefu.testing import REPO

S = "shop1"
T = 1_800_000_000_000


def _client(
    db_url: str, dist: Path, config: dict[str, Any] | None = None, mp: Any = None
) -> Iterator[Any]:
    if mp is not None:
        mp.setenv("KEFU_WEB_DIST", str(dist))  # create_app mounts the web app it finds
    engine = make_engine(db_url)
    svc = EngineService(engine, parse_config(config or {}))
    app = create_app(svc, tick_seconds=3600)
    mount_webapp(app, dist)
    mount_webapp(app, dist)  # a second call (create_app may mount it already) changes nothing
    try:
        with TestClient(app) as c:
            yield c, svc
    finally:
        engine.dispose()


@pytest.fixture
def built(tmp_path: Path) -> Path:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><div id=app>spa</div>", encoding="utf-8")
    (dist / "widget.js").write_text("/* widget */", encoding="utf-8")
    (dist / "assets" / "index-abc123.js").write_text("/* app */", encoding="utf-8")
    (dist / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    return dist


@pytest.fixture
def client(db_url: str, built: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("KEFU_SECRET", "serve-secret")
    yield from _client(db_url, built, {"handoff": {"button_ttl": "90s"}}, monkeypatch)


def test_spa_fallback_and_cache_headers(client: Any) -> None:
    c, _ = client
    assert c.get("/app", follow_redirects=False).headers["location"] == "/app/"
    for path in ("/app/", "/app/workbench", "/app/supervisor/urge", "/app/settings"):
        r = c.get(path)
        assert (r.status_code, r.text) == (200, "<!doctype html><div id=app>spa</div>"), path
        assert r.headers["cache-control"] == "no-cache"
    js = c.get("/app/assets/index-abc123.js")
    assert js.status_code == 200 and js.headers["cache-control"].endswith("immutable")
    widget = c.get("/app/widget.js")
    assert widget.status_code == 200 and widget.headers["cache-control"] == "no-cache"
    assert "javascript" in widget.headers["content-type"]
    assert c.get("/app/assets/missing-1.js").status_code == 404  # files are never faked
    assert c.get("/api/v1/health").status_code == 200  # the API is untouched


def test_not_built_page(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for c, _ in _client(db_url, tmp_path / "nowhere", None, monkeypatch):
        r = c.get("/app/workbench")
        assert r.status_code == 503
        assert "make setup" in r.text and "npm ci" in r.text
        assert c.get("/app/widget.js").status_code == 503


def test_read_routes_are_scoped_to_the_store(client: Any) -> None:
    c, svc = client
    products = [
        {
            "type": "product",
            "store": S,
            "ts": T,
            "product": "p1",
            "title": "短袖T恤",
            "price": 79.0,
            "category": "T恤",
            "stock": 5,
            "attrs": {"url": "https://shop.example/p1"},
        },
        {
            "type": "product",
            "store": S,
            "ts": T,
            "product": "p2",
            "title": "牛仔裤",
            "price": 139.0,
            "category": "裤子",
            "status": "off_sale",
        },
        {
            "type": "agent",
            "store": S,
            "ts": T,
            "agent": "a1",
            "name": "小李",
            "role": "agent",
            "groups": ["售前"],
            "capacity": 4,
        },
        {"type": "agent", "store": S, "ts": T, "agent": "bot", "name": "助手", "role": "assistant"},
        {"type": "agent.status", "store": S, "ts": T, "agent": "a1", "status": "online"},
        {
            "type": "order",
            "store": S,
            "ts": T + 1000,
            "order": "o1",
            "buyer": "b1",
            "items": [{"product": "p1", "qty": 2, "price": 79.0}],
            "amount": 158.0,
        },
        {"type": "payment", "store": S, "ts": T + 2000, "order": "o1", "amount": 158.0},
        {
            "type": "product",
            "store": "other",
            "ts": T,
            "product": "x1",
            "title": "别家",
            "price": 1.0,
            "category": "c",
        },
    ]
    assert svc.ingest([__import__("msgspec").json.encode(e) for e in products]).accepted == 8
    with svc.sessions.begin() as s:
        staff = {"Authorization": f"Bearer {create_token(s, S, 'a1', 'agent')}"}
        stranger = {"Authorization": f"Bearer {create_token(s, 'other', 'z', 'admin')}"}
    buyer = {"Authorization": f"Bearer {buyer_token(S, 'b1')}"}

    r = c.get(f"/api/v1/stores/{S}/products?ids=p2,p1,nope", headers=staff)
    assert [(p["product"], p["title"], p["status"]) for p in r.json()["items"]] == [
        ("p2", "牛仔裤", "off_sale"),
        ("p1", "短袖T恤", "on_sale"),
    ]
    assert c.get(f"/api/v1/stores/{S}/products?ids=p1", headers=stranger).status_code == 404
    assert c.get(f"/api/v1/stores/{S}/products?ids=p1").status_code == 401
    assert (
        c.get(
            f"/api/v1/stores/{S}/products?ids=" + ",".join(["p"] * 201), headers=staff
        ).status_code
        == 200
    )  # duplicates collapse

    agents = c.get(f"/api/v1/stores/{S}/agents", headers=staff).json()["items"]
    assert agents == [
        {
            "agent": "a1",
            "name": "小李",
            "role": "agent",
            "status": "online",
            "groups": ["售前"],
            "capacity": 4,
            "open": 0,
        }
    ]
    assert c.get(f"/api/v1/stores/{S}/agents", headers=stranger).status_code == 404

    orders = c.get(f"/api/v1/stores/{S}/buyers/b1/orders", headers=staff).json()["items"]
    assert len(orders) == 1
    o = orders[0]
    assert (o["order"], o["amount"], o["status"]) == ("o1", 158.0, "paid")
    assert o["paid"] is not None and o["items"] == [
        {"product": "p1", "qty": 2, "price": 79.0, "title": "短袖T恤"}
    ]
    assert c.get(f"/api/v1/stores/{S}/buyers/b1/orders", headers=stranger).status_code == 404

    # Buyers: their own store's cards (on sale only when listing), and the widget settings.
    listing = c.get("/api/v1/buyer/products", headers=buyer).json()
    assert [p["product"] for p in listing["items"]] == ["p1"] and listing["store"] == S
    assert listing["items"][0]["url"] == "https://shop.example/p1"  # the widget's card opens it
    assert [
        p["product"]
        for p in c.get("/api/v1/buyer/products?ids=p2,x1", headers=buyer).json()["items"]
    ] == ["p2"]
    widget = c.get("/api/v1/buyer/widget", headers=buyer).json()
    assert widget["button_ttl_s"] == 90 and widget["store"] == S and widget["greeting"]
    assert c.get("/api/v1/buyer/widget", headers=staff).status_code == 403


def test_demo_prints_signed_in_links(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import date, timedelta

    from kefu.accounts.tokens import resolve
    from kefu.cli.demo_cmd import _demo_links
    from kefu.sim import generate

    monkeypatch.setenv("KEFU_SECRET", "demo-secret")
    engine = make_engine(db_url)
    svc = EngineService(engine, parse_config({"bot": {"enabled": False}}))
    try:
        start = date.today() - timedelta(days=1)
        svc.ingest(list(generate(stores=1, buyers=100, days=1, seed=2, start=start)))
        links = dict(_demo_links(svc, "0.0.0.0", 8123))
        urls = list(links.values())
        assert [u.split("?")[0] for u in urls] == [
            "http://127.0.0.1:8123/app/workbench",
            "http://127.0.0.1:8123/app/supervisor",
            "http://127.0.0.1:8123/app/shop.html",
        ]
        with svc.sessions() as s:
            who = [resolve(s, u.split("token=")[1]) for u in urls]
        assert [(p.store, p.role) for p in who if p] == [
            ("s001", "agent"),
            ("s001", "admin"),
            ("s001", "buyer"),
        ]
        assert who[0] is not None and who[0].agent is not None and who[0].agent.startswith("s001-a")
    finally:
        svc.close()
        engine.dispose()


def test_the_icon_answers_at_favicon_ico_and_in_the_app(client: Any) -> None:
    """Browsers ask every site for /favicon.ico: no 404 on any page."""
    c, _ = client
    for path in ("/favicon.ico", "/app/favicon.svg"):
        r = c.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert 'href="/app/favicon.svg"' in c.get("/").text  # the landing page links it too


def test_the_real_build_links_icon_and_manifest() -> None:
    dist = REPO / "web" / "dist"
    if not (dist / "index.html").is_file():
        pytest.skip("web app not built")
    html = (dist / "index.html").read_text(encoding="utf-8")
    assert 'rel="icon"' in html and 'rel="manifest"' in html
    assert (dist / "favicon.svg").is_file() and (dist / "manifest.webmanifest").is_file()
    assert 'rel="icon"' in (dist / "shop.html").read_text(encoding="utf-8")
