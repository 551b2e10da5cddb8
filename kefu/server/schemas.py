"""Response bodies of the server's own endpoints: health, events in and actions out,
settings, and the read routes of the web app's pages (kefu.server.webapp)."""

from __future__ import annotations

from typing import Any

from kefu.api.schemas import ApiModel, Num


class Health(ApiModel):
    """The process is up and its database answers (503 `{status: error, database}` if not)."""

    status: str
    version: str
    database: str
    stores: int


class RejectedItem(ApiModel):
    """A refused item of a batch: its 1-based position, the field and the reason."""

    line: int
    field: str | None
    reason: str


class ActionOut(ApiModel):
    """A committed action: its `type`, store, time and the fields of its type (events.md)."""

    type: str
    store: str
    ts: str


class Ingested(ApiModel):
    """What a batch did: events accepted, duplicates, refused items, the actions it caused
    (a 422 when nothing was accepted adds `detail`)."""

    accepted: int
    duplicates: int
    rejected: list[RejectedItem]
    actions: list[ActionOut]


class LoggedAction(ActionOut):
    """An action of the outbox with its sequence number."""

    seq: int


class ActionPage(ApiModel):
    """Actions in commit order; `next_after` is the `after` of the next page."""

    items: list[LoggedAction]
    next_after: int


class SettingsDocument(ApiModel):
    """The store's settings: `effective` (what the rules use now, every section of
    config.md), `file` (the settings file's values) and the live `changes` over it."""

    store: str
    effective: dict[str, dict[str, Any]]
    file: dict[str, dict[str, Any]]
    changes: dict[str, Any]


class SettingsChange(ApiModel):
    """A change of settings: who (null: not through the API), when and which values."""

    seq: int
    ts: str
    agent: str | None
    values: dict[str, Any]


class SettingsHistory(ApiModel):
    """Settings changes, newest first; `next` is the `before` of the next page."""

    store: str
    items: list[SettingsChange]
    next: int | None


class ProductCard(ApiModel):
    """A product as a card shows it."""

    product: str
    title: str
    price: Num
    category: str
    status: str
    stock: int | None
    url: str | None


class ProductCards(ApiModel):
    """Product cards."""

    items: list[ProductCard]


class ShopCards(ProductCards):
    """The shop's product cards, with the store's id and display name."""

    store: str
    name: str


class AgentRow(ApiModel):
    """A staff member with status, groups, capacity and open conversations."""

    agent: str
    name: str
    role: str
    status: str
    groups: list[str]
    capacity: int
    open: int


class AgentRows(ApiModel):
    """The store's staff (not the assistant bot), by id."""

    items: list[AgentRow]


class OrderLine(ApiModel):
    """An item of an order with its product's title ('' when unknown)."""

    product: str
    qty: Num
    price: Num | None
    title: str


class OrderOut(ApiModel):
    """A buyer's order: amount, status, when created and paid, its items."""

    order: str
    amount: Num
    status: str
    created: str
    paid: str | None
    items: list[OrderLine]


class OrderList(ApiModel):
    """A buyer's recent orders, newest first."""

    items: list[OrderOut]


class WidgetInfo(ApiModel):
    """What the chat widget needs: the store's name, the 转人工 button's lifetime, the
    greeting."""

    store: str
    name: str
    button_ttl_s: Num
    greeting: str
