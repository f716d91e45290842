"""The push API's request and answer (the order shape itself is `push.PushedOrder`)."""

from __future__ import annotations

from typing import Annotated, Any

from ninja import Schema
from pydantic import Field, WithJsonSchema

from huitouke.connectors.push import MAX_BATCH, PushedOrder


def _order_schema() -> dict[str, Any]:
    """PushedOrder's JSON schema with its line schema written in place (the body documents each order fully,
    though the orders are validated one by one so that a bad one never refuses the batch)."""
    schema = PushedOrder.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    return inline(schema)


class OrderPushIn(Schema):
    """A batch of orders with their lines. Each order is checked on its own: a bad one is listed in `rejected`
    and the others are written."""

    orders: Annotated[
        list[Any],
        WithJsonSchema({"type": "array", "maxItems": MAX_BATCH, "items": _order_schema()}),
    ] = Field(..., description=f"up to {MAX_BATCH} orders")


class RejectedOut(Schema):
    index: int = Field(..., description="the order's position in `orders`, from 0")
    field: str = Field(..., description="the field at fault, e.g. status or lines[0].quantity")
    message: str


class OrderPushOut(Schema):
    created: int = Field(..., description="orders new to the archive")
    updated: int = Field(..., description="orders already archived of which something changed")
    unchanged: int = Field(..., description="orders already archived exactly so")
    rejected: list[RejectedOut]
