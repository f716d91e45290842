"""REST endpoint of the live order feed: `POST /orders`, the order push of an ERP, RPA tool or script."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from huitouke.connectors.schemas import OrderPushIn, OrderPushOut
from huitouke.connectors.services import orders_push
from huitouke.core.api import errors, require_perms

router = Router(tags=["orders"])


@router.post("/orders", response=OrderPushOut, summary="Push orders", openapi_extra=errors(413))
def order_push(request: HttpRequest, body: OrderPushIn) -> dict[str, Any]:
    """Create or update up to 1,000 orders with their lines, idempotent by (shop, order_no): an order pushed
    again unchanged is counted `unchanged` and nothing is written. Each order is checked on its own; the bad
    ones come back in `rejected` (index, field, message) and the good ones are written together in one
    transaction, with the buyers' stats and member levels refreshed. Needs `orders.add_order`; a token created
    with the scope `orders_push` may call this and nothing else."""
    require_perms(request, "orders.add_order")
    return orders_push(items=body.orders).as_json()
