"""The bases of the JSON response models: routes return these, and the web app's TypeScript
types are generated from the OpenAPI document they make (`kefu openapi`, web/README.md).

Keys a model does not declare pass through unchanged — a route never loses a key to its
model — but they are not part of the documented contract (no `additionalProperties` in the
schema), so the generated TypeScript types stay exact.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer
from pydantic.annotated_handlers import GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema


def _closed(schema: dict[str, Any]) -> None:
    schema.pop("additionalProperties", None)


class ApiModel(BaseModel):
    """A JSON response body (or a part of one)."""

    # A default is sent like any value: the key is always there (required in the schema).
    model_config = ConfigDict(
        extra="allow", json_schema_extra=_closed, json_schema_serialization_defaults_required=True
    )


class Sparse(ApiModel):
    """A body whose optional keys are left out when the route has no value for them (rather
    than sent as null): the JSON has exactly the keys given, as before it had a model."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=False)

    @model_serializer(mode="wrap")
    def _given_keys_only(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        given = self.model_fields_set | set(self.__pydantic_extra__ or ())
        names = {f.alias or n: n for n, f in type(self).model_fields.items()}
        return {k: v for k, v in data.items() if names.get(k, k) in given}

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # Documented by its fields (the serializer above only leaves unset ones out).
        fields = {k: v for k, v in core_schema.items() if k != "serialization"}
        return handler(fields)


# A JSON number that keeps its own kind: 3 stays 3 and 0.5 stays 0.5 (a `float` field would
# turn 3 into 3.0, an `int` field would refuse 0.5).
Num = int | float
# A metrics document keyed by metric id (metrics.md): values are numbers, null or nested.
Metrics = dict[str, Any]
