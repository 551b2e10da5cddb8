"""Channel connectors: plug-ins that join a chat channel kefu does not speak natively
(a marketplace IM, a mini-program, WhatsApp or WeCom through the store's own bridge).

A connector is a class registered under the entry-point group `kefu.connectors`:

    [project.entry-points."kefu.connectors"]
    mychannel = "my_package.module:MyConnector"

It translates in both directions and nothing else: `inbound` turns what the channel sent
into kefu events (`message` / `buyer` with `channel`), posted to `POST /api/v1/events`;
`outbound` turns a signed kefu webhook (an action such as `bot.reply`) into what the channel
should send, or None to ignore it. `bridge_app` wraps any connector into a small web app that
does the HTTP, signature and retry-safe parts (docs/channels.md walks through it).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from fastapi import FastAPI, HTTPException, Request

from kefu.webhooks.delivery import KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify

GROUP = "kefu.connectors"


@dataclass
class Outbound:
    """One message for the channel: to whom, what, and the idempotency key to pass on."""

    to: str
    text: str
    key: str
    channel: str
    extra: dict[str, Any] = field(default_factory=dict)


class Connector(ABC):
    """Translate between one channel's payloads and kefu events / webhook actions."""

    #: The channel name put on events and matched by webhook endpoints' `channels`.
    channel: str = ""

    @abstractmethod
    def inbound(self, store: str, payload: Mapping[str, Any]) -> list[dict[str, Any]]:
        """kefu events (dicts decodable by `kefu.engine.events.AnyEvent`) for a channel payload."""

    @abstractmethod
    def outbound(self, webhook: Mapping[str, Any]) -> Outbound | None:
        """What to send on the channel for a kefu webhook body; None: nothing to send."""


def available() -> dict[str, str]:
    """Installed connectors: entry-point name → `module:Class`."""
    return {ep.name: ep.value for ep in entry_points(group=GROUP)}


def load(name: str, **options: Any) -> Connector:
    """An instance of the connector registered as `name`; KeyError names the installed ones."""
    for ep in entry_points(group=GROUP):
        if ep.name == name:
            cls = ep.load()
            inst = cls(**options)
            if not isinstance(inst, Connector):
                raise TypeError(f"{ep.value} is not a kefu.connectors.Connector")
            return inst
    raise KeyError(f"no connector {name!r}; installed: {', '.join(sorted(available())) or '-'}")


def bridge_app(
    connector: Connector,
    *,
    store: str,
    secret: str,
    post_events: Callable[[list[dict[str, Any]]], Any],
    send: Callable[[Outbound], Any],
) -> FastAPI:
    """A small ASGI app joining the channel and kefu through `connector`.

    - `POST /inbound`: the channel's payload → `connector.inbound` → `post_events(events)`
      (e.g. an httpx POST to kefu's `/api/v1/events` with an admin token).
    - `POST /webhook`: a kefu webhook; the signature is checked with `secret` (401 if not),
      deliveries already handled (same `X-Kefu-Idempotency-Key`) answer 200 at once, others go
      through `connector.outbound` → `send(message)`. An exception in `send` answers 502, so
      kefu retries later with the same key.
    """
    app = FastAPI(title=f"kefu bridge: {connector.channel}")
    done: dict[str, None] = {}  # recent keys, oldest first (a real bridge keeps them durably)

    @app.post("/inbound")
    async def inbound(request: Request) -> dict[str, Any]:
        try:
            payload = await request.json()
        except ValueError:
            raise HTTPException(400, "body is not JSON") from None
        if not isinstance(payload, dict):
            raise HTTPException(422, "body must be a JSON object")
        events = connector.inbound(store, payload)
        if events:
            post_events(events)
        return {"events": len(events)}

    @app.post("/webhook")
    async def webhook(request: Request) -> dict[str, Any]:
        body = await request.body()
        h = request.headers
        if not verify(secret, h.get(TIMESTAMP_HEADER), h.get(SIGNATURE_HEADER), body):
            raise HTTPException(401, "bad or stale signature")
        key = h.get(KEY_HEADER, "")
        if key in done:
            return {"duplicate": True}
        msg = connector.outbound(json.loads(body))
        if msg is not None:
            try:
                send(msg)
            except Exception as e:  # kefu retries with the same key
                raise HTTPException(502, f"channel send failed: {e}") from None
        done[key] = None
        if len(done) > 100_000:
            done.pop(next(iter(done)))
        return {"sent": msg is not None}

    return app
