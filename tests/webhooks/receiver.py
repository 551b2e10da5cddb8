"""A real HTTP receiver for webhook tests: a threaded server on 127.0.0.1 that answers each
request as its plan says (200, 500, or a sleep longer than the sender's time-out), records
every request and checks the signature with its own HMAC code (not kefu's)."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Got:
    """One request as received."""

    key: str
    headers: dict[str, str]
    body: bytes
    nth: int  # how many times this key arrived, this one included
    answer: str = ""
    signed_ok: bool = False


# A plan maps (key, nth arrival) to "ok", "500" or "sleep".
Plan = Callable[[str, int], str]


@dataclass
class Receiver:
    """Requests in arrival order, and the keys it answered 200 ("accepted")."""

    secret: str
    plan: Plan = field(default=lambda key, nth: "ok")
    sleep_s: float = 1.5
    delay_s: float = 0.0
    got: list[Got] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def accepted(self) -> Counter[str]:
        """Key → how many requests with it were answered 200 (the receiver processed)."""
        with self.lock:
            return Counter(g.key for g in self.got if g.answer == "ok")

    def processed(self) -> set[str]:
        """Keys the receiver acted on once, deduplicated by the idempotency key."""
        return set(self.accepted())

    def arrivals(self) -> Counter[str]:
        """Key → how many requests carried it (any answer)."""
        with self.lock:
            return Counter(g.key for g in self.got)


def signature_ok(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The documented check: v1= HMAC-SHA256(secret, timestamp + "." + body), fresh time."""
    ts = headers.get("x-kefu-timestamp", "")
    sig = headers.get("x-kefu-signature", "")
    if not ts.isdigit() or abs(time.time() - int(ts)) > 300:
        return False
    want = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest("v1=" + want, sig)


@contextmanager
def running(rx: Receiver) -> Iterator[Receiver]:
    """Serve `rx` on a free port until the block ends."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            n = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(n)
            headers = {k.lower(): v for k, v in self.headers.items()}
            key = headers.get("x-kefu-idempotency-key", "")
            with rx.lock:
                nth = 1 + sum(1 for g in rx.got if g.key == key)
                g = Got(key, headers, body, nth, signed_ok=signature_ok(rx.secret, headers, body))
                rx.got.append(g)
            mode = rx.plan(key, nth)
            if mode == "sleep":  # longer than the sender's time-out: it sees a failure
                time.sleep(rx.sleep_s)
            elif rx.delay_s:
                time.sleep(rx.delay_s)
            code = 500 if mode == "500" else 200
            with rx.lock:  # what the receiver did: a 200 after a sleep is still processed
                g.answer = "ok" if code == 200 else "500"
            with suppress(OSError):  # the sender may have hung up (time-out)
                self.send_response(code)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok":true}' if code == 200 else b'{"error":"boom"}')

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # many concurrent deliveries: no refused connections

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    rx.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rx
    finally:
        server.shutdown()
        server.server_close()
