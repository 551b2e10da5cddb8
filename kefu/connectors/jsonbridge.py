"""The worked example connector: a generic JSON bridge (docs/channels.md).

Any channel that can POST a small JSON object and receive one can be joined with it, e.g. a
WhatsApp or WeCom bridge the store already runs, or a mini-program's server:

    inbound   {"user": "8613800000000", "text": "还有货吗", "ts": 1800000000000,
               "id": "wamid.123", "profile": {"province": "浙江"}}
    outbound  {"to": "8613800000000", "text": "亲，有货的", "key": "…", "channel": "whatsapp"}

kefu buyer ids are `<channel>:<user>`, so two channels never share a buyer by accident and the
bridge gets its own user id back by dropping the prefix.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from kefu.connectors import Connector, Outbound

# Actions whose text a buyer should see on the channel.
BUYER_FACING = ("bot.reply", "agent.reply", "urge.send", "transfer.result")


class JsonBridge(Connector):
    """Plain JSON in and out; `channel` names the channel (default `jsonbridge`)."""

    def __init__(self, channel: str = "jsonbridge") -> None:
        self.channel = channel

    def buyer_id(self, user: str) -> str:
        """The kefu buyer id of a channel user."""
        return f"{self.channel}:{user}"

    def inbound(self, store: str, payload: Mapping[str, Any]) -> list[dict[str, Any]]:
        """`message` (with `channel`) for a text, preceded by `buyer` when a profile comes."""
        user = str(payload.get("user") or "").strip()
        text = str(payload.get("text") or "")
        if not user:
            return []
        ts = payload.get("ts") or time.time_ns() // 1_000_000
        buyer = self.buyer_id(user)
        events: list[dict[str, Any]] = []
        profile = payload.get("profile")
        if isinstance(profile, Mapping):
            keep = {k: profile[k] for k in ("province", "gender", "age_band") if k in profile}
            events.append({"type": "buyer", "ts": ts, "store": store, "buyer": buyer,
                           "channel": self.channel, **keep})  # fmt: skip
        if text:
            msg: dict[str, Any] = {"type": "message", "ts": ts, "store": store, "buyer": buyer,
                                   "sender": "buyer", "text": text,
                                   "channel": self.channel}  # fmt: skip
            if payload.get("id"):
                msg["id"] = f"{self.channel}:{payload['id']}"  # channel retries dedup in kefu
            events.append(msg)
        return events

    def outbound(self, webhook: Mapping[str, Any]) -> Outbound | None:
        """The text of buyer-facing actions of this channel's buyers; None otherwise."""
        action = webhook.get("action") or {}
        if webhook.get("type") not in BUYER_FACING or not isinstance(action, Mapping):
            return None
        buyer = str(action.get("buyer") or "")
        text = action.get("text")
        prefix = f"{self.channel}:"
        if not text or not buyer.startswith(prefix):
            return None
        return Outbound(to=buyer.removeprefix(prefix), text=str(text),
                        key=str(webhook.get("id", "")), channel=self.channel)  # fmt: skip
