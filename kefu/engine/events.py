"""Typed input events: the contract of `spec/events.md`, decoded fast with msgspec.

Every event carries `ts`, `store` and an optional `id`. `ts` arrives as RFC 3339 with an
offset or as epoch milliseconds; after decoding it is always epoch milliseconds (int), so
rules compare integers and never parse dates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

NonEmpty = Annotated[str, Meta(min_length=1, max_length=256)]
Money = Annotated[float, Meta(ge=0)]
Text = Annotated[str, Meta(max_length=20_000)]
# The channel a buyer writes from (widget, a marketplace IM, whatsapp, ...): webhooks route
# replies back by it (docs/channels.md). Project addition, optional.
ChannelName = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]

SOURCES = ("search", "shop", "recommend", "cart", "orders", "chat", "other")
CARRIERS = ("card", "live", "video")
Source = Literal["search", "shop", "recommend", "cart", "orders", "chat", "other"]
Carrier = Literal["card", "live", "video"]


class EventError(ValueError):
    """An event that parsed as JSON but breaks the contract; names the field."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{reason} - at `$.{field}`")
        self.field = field
        self.reason = reason


_TS_CACHE: dict[str, int] = {}


def parse_ts(value: int | str) -> int:
    """RFC 3339 with an offset, or epoch milliseconds, to epoch milliseconds.

    Logs repeat timestamps (a list of impressions shares one second), so parsed strings are
    remembered in a bounded cache: decoding is the floor of replay speed.
    """
    if isinstance(value, int):
        if value < 0 or value > 32_503_680_000_000:  # year 3000
            raise EventError("ts", "epoch milliseconds out of range")
        return value
    hit = _TS_CACHE.get(value)
    if hit is not None:
        return hit
    ms = _parse_rfc3339(value)
    if ms < 0 or ms > 32_503_680_000_000:  # the same range as epoch milliseconds
        raise EventError("ts", "timestamp out of range (1970 to 3000)")
    if len(_TS_CACHE) >= 200_000:
        _TS_CACHE.clear()
    _TS_CACHE[value] = ms
    return ms


def _parse_rfc3339(value: str) -> int:
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise EventError("ts", f"not RFC 3339: {value[:40]!r}") from None
    if dt.utcoffset() is None:
        raise EventError("ts", "RFC 3339 timestamp needs an offset (e.g. +08:00)")
    return int(dt.timestamp() * 1000)


class Event(msgspec.Struct, tag_field="type", kw_only=True, omit_defaults=True):
    """Base of every input event."""

    ts: int | str
    store: NonEmpty
    id: NonEmpty | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.ts, int):
            self.ts = parse_ts(self.ts)
        elif self.ts < 0 or self.ts > 32_503_680_000_000:
            raise EventError("ts", "epoch milliseconds out of range")

    @property
    def at(self) -> int:
        """The event time in epoch milliseconds."""
        return self.ts  # type: ignore[return-value]


class Product(Event, tag="product", kw_only=True):
    """Catalogue upsert. `status`: on_sale (default), off_sale or out_of_stock."""

    product: NonEmpty
    title: Text
    price: Money
    category: str = ""
    attrs: dict[str, Any] | None = None
    description: Text | None = None
    status: Literal["on_sale", "off_sale", "out_of_stock"] = "on_sale"
    stock: int | None = None
    urge_text: Text | None = None


class Agent(Event, tag="agent", kw_only=True):
    """A customer-service sub-account (子账号)."""

    agent: NonEmpty
    name: str = ""
    role: Literal["agent", "supervisor", "assistant"] = "agent"
    groups: list[str] | None = None
    capacity: Annotated[int, Meta(ge=0, le=1000)] | None = None


class AgentStatus(Event, tag="agent.status", kw_only=True):
    """An agent goes online, busy or offline."""

    agent: NonEmpty
    status: Literal["online", "busy", "offline"]


class Attachment(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A file sent in a message (an image): `id` names it in the store's attachment storage
    (`GET …/attachments/{id}`); `type` is its media type, found from its bytes."""

    id: NonEmpty
    type: Annotated[str, Meta(min_length=1, max_length=128)]
    size: Annotated[int, Meta(ge=0)] | None = None
    width: Annotated[int, Meta(ge=0)] | None = None
    height: Annotated[int, Meta(ge=0)] | None = None
    name: Annotated[str, Meta(max_length=256)] | None = None


class Message(Event, tag="message", kw_only=True):
    """A chat message between a buyer and the store (text, product cards, attachments)."""

    buyer: NonEmpty
    sender: Literal["buyer", "bot", "agent", "system"]
    agent: NonEmpty | None = None
    text: Text = ""
    product: NonEmpty | None = None
    products: list[NonEmpty] | None = None
    conversation: NonEmpty | None = None
    attachments: Annotated[list[Attachment], Meta(max_length=10)] | None = None
    channel: ChannelName | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.sender == "agent" and self.agent is None:
            raise EventError("agent", "a message with sender `agent` needs `agent`")


class TransferClick(Event, tag="transfer.click", kw_only=True):
    """The buyer pressed 转人工 / talk to a person."""

    buyer: NonEmpty
    conversation: NonEmpty | None = None


class ConversationClose(Event, tag="conversation.close", kw_only=True):
    """The conversation ended; frees the agent's capacity."""

    buyer: NonEmpty
    agent: NonEmpty | None = None
    conversation: NonEmpty | None = None


class GuideView(Event, tag="guide.view", kw_only=True):
    """The agent looked at the shopping-guide panel."""

    agent: NonEmpty
    buyer: NonEmpty


class Rating(Event, tag="rating", kw_only=True):
    """Satisfaction rating of a conversation, 1–5."""

    buyer: NonEmpty
    agent: NonEmpty | None = None
    score: Annotated[int, Meta(ge=1, le=5)]
    conversation: NonEmpty | None = None


class OrderItem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One line of an order."""

    product: NonEmpty
    qty: Annotated[int, Meta(ge=1)] = 1
    price: Money = 0.0


class Order(Event, tag="order", kw_only=True):
    """Order created (下单)."""

    order: NonEmpty
    buyer: NonEmpty
    items: list[OrderItem] = []
    amount: Money


class Payment(Event, tag="payment", kw_only=True):
    """Order paid (付款)."""

    order: NonEmpty
    amount: Money
    buyer: NonEmpty | None = None


class OrderCancel(Event, tag="order.cancel", kw_only=True):
    """Order cancelled."""

    order: NonEmpty


class AftersaleOpen(Event, tag="aftersale.open", kw_only=True):
    """Refund / return case opened (售后)."""

    buyer: NonEmpty
    order: NonEmpty


class AftersaleClose(Event, tag="aftersale.close", kw_only=True):
    """Refund / return case finished."""

    buyer: NonEmpty
    order: NonEmpty


class Impression(Event, tag="impression", kw_only=True):
    """A product card shown in a list."""

    buyer: NonEmpty
    product: NonEmpty
    source: Source = "other"
    carrier: Carrier = "card"


class View(Event, tag="view", kw_only=True):
    """A product detail page visited (a click)."""

    buyer: NonEmpty
    product: NonEmpty
    source: Source = "other"
    carrier: Carrier = "card"
    dwell_s: Annotated[float, Meta(ge=0)] | None = None


class Search(Event, tag="search", kw_only=True):
    """A search inside the platform."""

    buyer: NonEmpty
    keyword: Text


class CartAdd(Event, tag="cart.add", kw_only=True):
    """Added to cart: a purchase-intent signal."""

    buyer: NonEmpty
    product: NonEmpty


class Favorite(Event, tag="favorite", kw_only=True):
    """Favourited: a purchase-intent signal."""

    buyer: NonEmpty
    product: NonEmpty


class Buyer(Event, tag="buyer", kw_only=True):
    """Buyer profile upsert, for audience analysis."""

    buyer: NonEmpty
    province: str | None = None
    gender: Literal["f", "m", "u"] | None = None
    age_band: str | None = None
    member_since: str | None = None
    channel: ChannelName | None = None


class Faq(Event, tag="faq", kw_only=True):
    """Store FAQ entry upsert (project addition): the bot answers `question` with `answer`."""

    faq: NonEmpty
    question: Text
    answer: Text
    keywords: list[str] | None = None
    variants: list[str] | None = None
    related: list[str] | None = None
    enabled: bool = True


class StoreSettings(Event, tag="settings", kw_only=True):
    """A change of the store's settings (project addition), effective from `ts` on.

    `values` is `{section: {key: value}}` as in config.md, merged over the settings file and
    earlier changes; `agent` is who made it. Kept in the log, so a replay applies it at the
    same point as the live server did, and the log is the audit trail of settings.
    """

    values: dict[str, dict[str, Any]]
    agent: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        from kefu.engine.settings import SettingsError, check_values

        try:
            check_values(self.values)
        except SettingsError as e:
            raise EventError("values", str(e)) from None


class Review(Event, tag="review", kw_only=True):
    """A buyer's review of a product (project addition): feeds the generated urge copy."""

    product: NonEmpty
    text: Text
    score: Annotated[int, Meta(ge=1, le=5)]
    buyer: NonEmpty | None = None


class Transfer(Event, tag="transfer", kw_only=True):
    """An agent hands a conversation to a colleague or a skill group (project addition)."""

    buyer: NonEmpty
    agent: NonEmpty | None = None
    to_agent: NonEmpty | None = None
    to_group: NonEmpty | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if (self.to_agent is None) == (self.to_group is None):
            raise EventError("to_agent", "give exactly one of `to_agent` and `to_group`")


AnyEvent = (
    Product
    | Agent
    | AgentStatus
    | Message
    | TransferClick
    | ConversationClose
    | GuideView
    | StoreSettings
    | Rating
    | Order
    | Payment
    | OrderCancel
    | AftersaleOpen
    | AftersaleClose
    | Impression
    | View
    | Search
    | CartAdd
    | Favorite
    | Buyer
    | Faq
    | Review
    | Transfer
)

EVENT_TYPES: dict[str, type[Event]] = {cls.__struct_config__.tag: cls for cls in AnyEvent.__args__}


def event_schema() -> dict[str, Any]:
    """JSON Schema of one event (for the OpenAPI document and the README)."""
    schema: dict[str, Any] = msgspec.json.schema(AnyEvent)
    return schema
