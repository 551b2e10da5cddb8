"""Response bodies of the catalogue endpoints (kefu.catalogue.api)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from kefu.api.schemas import ApiModel, Num


class ProductOut(ApiModel):
    """A product as the store sells it (`url` lifted out of the attributes)."""

    product: str
    title: str
    price: Num
    category: str
    status: str
    stock: int | None
    attrs: dict[str, Any]
    description: str | None
    urge_text: str | None
    url: str | None


class ProductPage(ApiModel):
    """Products sorted by id; `total` counts every match."""

    store: str
    total: int
    offset: int
    items: list[ProductOut]


class RejectedRow(ApiModel):
    """A refused row of a file: line, field, reason, and a code with the value for the UI."""

    line: int
    field: str | None
    reason: str
    code: str
    value: str


class CatalogueImport(ApiModel):
    """What an upload did: rows read, imported, unchanged, refused; columns not used."""

    store: str
    format_: str = Field(alias="format")
    encoding: str | None
    rows: int
    imported: int
    unchanged: int
    rejected: list[RejectedRow]
    ignored_columns: list[str]
