"""The optional OpenAI-compatible provider: it only picks among the store's entries, and any
failure (time-out, refused, malformed, an id not offered) falls back to the built-in matcher.
Tested against a local fake chat-completions server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from kefu.faq import FaqIndex, FaqItem
from kefu.faq.provider import Provider, answer_with

SHOP = [
    FaqItem("ship", "什么时候发货", "亲，现货48小时内发货哦"),
    FaqItem("courier", "发什么快递", "默认中通，顺丰补差价"),
    FaqItem("invoice", "能开发票吗", "可以开电子发票"),
]


class Fake(BaseHTTPRequestHandler):
    reply = "1"
    delay = 0.0
    seen: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Fake.seen.append({"path": self.path, "body": body})
        time.sleep(Fake.delay)
        if Fake.reply == "<garbage>":
            out = b"not json"
        else:
            out = json.dumps({"choices": [{"message": {"content": Fake.reply}}]}).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(out)
        except OSError:  # the client timed out and hung up
            pass

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture()
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Fake)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Fake.reply, Fake.delay = "1", 0.0
    Fake.seen.clear()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def index() -> FaqIndex:
    return FaqIndex.build(SHOP)


def test_the_provider_picks_among_the_offered_entries(server, index):
    hits = index.search("发货用的什么快递", k=5)
    want = next(n for n, h in enumerate(hits, 1) if h.item.faq == "courier")
    Fake.reply = str(want)
    ans, source = answer_with(index, "发货用的什么快递", Provider(server, "m", timeout_s=2))
    assert (ans.faq, ans.text, ans.confident, source) == ("courier", "默认中通，顺丰补差价", True,
                                                          "provider")  # fmt: skip
    sent = Fake.seen[0]
    assert sent["path"] == "/v1/chat/completions" and sent["body"]["model"] == "m"
    assert "买家：发货用的什么快递" in sent["body"]["messages"][1]["content"]


def test_none_makes_the_bot_unsure(server, index):
    Fake.reply = "none"
    ans, source = answer_with(index, "什么时候发货", Provider(server, "m"))
    assert source == "provider" and ans is not None and not ans.confident


@pytest.mark.parametrize("reply", ["99", "发票条目", "<garbage>"])
def test_an_answer_that_is_not_an_offered_id_falls_back(server, index, reply):
    Fake.reply = reply
    ans, source = answer_with(index, "什么时候发货", Provider(server, "m"))
    assert source == "builtin" and ans == index.answer("什么时候发货")


def test_a_slow_provider_times_out_and_the_builtin_answer_is_sent(server, index):
    Fake.delay = 1.0
    t = time.perf_counter()
    ans, source = answer_with(index, "什么时候发货", Provider(server, "m", timeout_s=0.2))
    assert time.perf_counter() - t < 0.9
    assert source == "builtin" and ans is not None and ans.faq == "ship" and ans.confident


def test_no_server_falls_back(index):
    ans, source = answer_with(index, "能开发票吗", Provider("http://127.0.0.1:9/v1", "m", 0.5))
    assert source == "builtin" and ans.faq == "invoice"


def test_off_by_default(index):
    assert answer_with(index, "能开发票吗", None) == (index.answer("能开发票吗"), "builtin")
