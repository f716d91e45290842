"""Shopify orders as the import's rows, the webhook signature, and the backfill's query and throttle maths.
Pure: no ORM, no settings, no network.

The mapping follows the Shopify export importer (`orders.importers.shopify`) so that a store imported by CSV
and then connected does not double anything: the order number is the order's `name` ("#1001"), the buyer is
the lower-cased e-mail, else the normalised phone, else "id:<order id>"; the status comes from the same
(financial, fulfillment, cancelled) rule; a line's title is its `name` (title and variant, as the export's
"Lineitem name"), keyed by SKU like the export's (no item id: the export has none). Webhooks carry the REST
order JSON; the GraphQL backfill's nodes are turned into that shape first (`rest_from_graphql`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from huitouke.connectors.signing import hmac_sha256_base64_valid
from huitouke.orders.importers import rows as r
from huitouke.orders.importers.cells import CellError, parse_phone
from huitouke.orders.importers.rows import LineRow, OrderRow
from huitouke.orders.importers.shopify import normalise_status

#: the webhook topics the connector subscribes to
TOPICS = ("orders/create", "orders/updated", "orders/paid", "orders/fulfilled", "orders/cancelled", "refunds/create")
API_VERSION = "2025-01"
PAGE_SIZE = 50
MAX_LINES = 250

_PAID_LIKE = frozenset({"authorized", "paid", "partially_paid", "partially_refunded", "refunded"})


class ShopifyMappingError(ValueError):
    """The payload is not an order we can read; the message names the field."""


def signature_valid(body: bytes, header: str, secret: str) -> bool:
    """X-Shopify-Hmac-Sha256: base64 of the HMAC-SHA256 of the raw body with the webhook secret."""
    return hmac_sha256_base64_valid(body, header, secret)


def _money(value: Any, field: str) -> Decimal:
    if value in (None, ""):
        return Decimal(0)
    if isinstance(value, Mapping):  # a GraphQL MoneyBag already flattened, or {"amount": …}
        value = value.get("amount")
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise ShopifyMappingError(f"{field}: not an amount ({value!r})") from exc
    if not amount.is_finite() or amount < 0 or amount >= Decimal(10) ** 10:
        raise ShopifyMappingError(f"{field}: amount out of range ({value!r})")
    return amount.quantize(Decimal("0.01"))


def _time(value: Any, field: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ShopifyMappingError(f"{field}: not a time ({value!r})") from exc
    if moment.tzinfo is None:
        raise ShopifyMappingError(f"{field}: the time has no offset ({value!r})")
    return moment


def _text(value: Any, limit: int) -> str:
    return str(value or "").strip()[:limit]


def _fulfillment(value: Any) -> str:
    """REST fulfillment_status (null, "fulfilled", "partial", "restocked") or GraphQL's display status."""
    status = str(value or "").strip().lower()
    return {
        "partially_fulfilled": "partial",
        "unfulfilled": "",
        "in_progress": "",
        "on_hold": "",
        "open": "",
        "pending_fulfillment": "",
        "scheduled": "",
        "null": "",
    }.get(status, status)


def order_ref(payload: Mapping[str, Any]) -> str:
    """The order's Shopify id (numeric), for ordering webhooks of one order."""
    return str(payload.get("id") or payload.get("order_id") or "")


def order_row(payload: Mapping[str, Any], *, shop_name: str, row_no: int = 0) -> OrderRow:
    """The import's row for a Shopify order (REST JSON). Raises ShopifyMappingError naming the field."""
    if not isinstance(payload, Mapping):
        raise ShopifyMappingError("order: not a JSON object")
    order_no = _text(payload.get("name"), 64)
    if not order_no:
        raise ShopifyMappingError("name: the order has no name (order number)")
    created = _time(payload.get("created_at"), "created_at")
    if created is None:
        raise ShopifyMappingError("created_at: missing")
    cancelled = _time(payload.get("cancelled_at"), "cancelled_at")
    financial = _text(payload.get("financial_status"), 32).lower() or "pending"
    try:
        status = normalise_status(financial, _fulfillment(payload.get("fulfillment_status")), cancelled is not None)
    except CellError as exc:
        raise ShopifyMappingError(f"financial_status/fulfillment_status: {exc}") from exc
    customer = payload.get("customer") or {}
    shipping = payload.get("shipping_address") or {}
    billing = payload.get("billing_address") or {}
    address = shipping or billing
    email = _text(payload.get("email") or payload.get("contact_email") or customer.get("email"), 254).lower()
    phone = parse_phone(_text(payload.get("phone") or customer.get("phone") or address.get("phone"), 32))
    buyer = email or phone or f"id:{order_ref(payload) or order_no}"
    total = _money(payload.get("total_price"), "total_price")
    paid_at = _time(payload.get("processed_at"), "processed_at") if financial in _PAID_LIKE else None
    paid = Decimal(0) if status == r.PENDING or (status == r.CLOSED and paid_at is None) else total
    refunded = _refunded(payload)
    fulfillments = [f for f in payload.get("fulfillments") or [] if isinstance(f, Mapping)]
    shipped_at = _time(fulfillments[0].get("created_at"), "fulfillments[0].created_at") if fulfillments else None
    carrier, tracking = "", ""
    if fulfillments:
        carrier = _text(fulfillments[-1].get("tracking_company"), 64)
        tracking = _text(fulfillments[-1].get("tracking_number"), 64)
    if not carrier:
        shipping_lines = payload.get("shipping_lines") or []
        carrier = _text(shipping_lines[0].get("title"), 64) if shipping_lines else ""
    shipping_fee = _shipping(payload)
    items = payload.get("line_items") or []
    if not isinstance(items, list) or len(items) > MAX_LINES:
        raise ShopifyMappingError(f"line_items: a list of at most {MAX_LINES} lines")
    lines = []
    for n, item in enumerate(items, start=1):
        if not isinstance(item, Mapping):
            raise ShopifyMappingError(f"line_items[{n - 1}]: not a JSON object")
        quantity = item.get("quantity")
        if not isinstance(quantity, int) or not 1 <= quantity <= 1_000_000:
            raise ShopifyMappingError(f"line_items[{n - 1}].quantity: a whole number from 1 ({quantity!r})")
        price = _money(item.get("price"), f"line_items[{n - 1}].price")
        discount = _money(item.get("total_discount"), f"line_items[{n - 1}].total_discount")
        amount = max(price * quantity - discount, Decimal(0))
        refund = r.REFUND_REFUNDED if status == r.REFUNDED else r.REFUND_NONE
        if str(item.get("fulfillment_status") or "").lower() == "restocked":
            refund = r.REFUND_REFUNDED
        lines.append(
            LineRow(
                line_no=n,
                title=_text(item.get("name") or item.get("title"), 255) or f"line {n}",
                sku=_text(item.get("sku"), 128),
                external_id="",
                quantity=quantity,
                unit_price=price,
                amount=amount,
                attributes="",
                refund_state=refund,
            )
        )
    marketing = payload.get("buyer_accepts_marketing")
    return OrderRow(
        row_no=row_no,
        order_no=order_no,
        platform=r.SHOPIFY,
        shop_name=shop_name,
        buyer_handle=buyer,
        buyer_name=_text(address.get("name") or customer.get("display_name"), 64),
        phone=phone,
        email=email,
        province=_text(address.get("province"), 32),
        city=_text(address.get("city"), 32),
        district="",
        address=" ".join(p for p in (_text(address.get("address1"), 255), _text(address.get("address2"), 255)) if p)[
            :255
        ],
        postcode=_text(address.get("zip"), 16),
        status=status,
        goods_amount=_money(payload.get("subtotal_price"), "subtotal_price"),
        shipping_fee=shipping_fee,
        total_amount=total,
        paid_amount=paid,
        refund_amount=refunded if refunded or status != r.REFUNDED else paid,
        ordered_at=created,
        paid_at=paid_at,
        shipped_at=shipped_at,
        confirmed_at=None,
        closed_at=cancelled,
        logistics_company=carrier,
        tracking_no=tracking,
        buyer_remark=_text(payload.get("note"), 1000),
        seller_memo="",
        close_reason="cancelled" if cancelled is not None else "",
        accepts_marketing=marketing if isinstance(marketing, bool) else None,
        lines=tuple(lines),
    )


def _refunded(payload: Mapping[str, Any]) -> Decimal:
    if "total_refunded" in payload:  # set by rest_from_graphql
        return _money(payload.get("total_refunded"), "total_refunded")
    total = Decimal(0)
    for refund in payload.get("refunds") or []:
        for tx in (refund or {}).get("transactions") or []:
            if (tx or {}).get("kind") == "refund" and (tx or {}).get("status", "success") == "success":
                total += _money(tx.get("amount"), "refunds.transactions.amount")
    return total


def _shipping(payload: Mapping[str, Any]) -> Decimal:
    shipping_set = payload.get("total_shipping_price_set")
    if isinstance(shipping_set, Mapping):
        return _money((shipping_set.get("shop_money") or {}).get("amount"), "total_shipping_price_set")
    return sum(
        (_money(line.get("price"), "shipping_lines.price") for line in payload.get("shipping_lines") or []),
        Decimal(0),
    )


# --- GraphQL backfill ----------------------------------------------------------------------------------------

ORDERS_QUERY = """
query Orders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: ID) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id name email phone createdAt processedAt cancelledAt updatedAt note
      displayFinancialStatus displayFulfillmentStatus
      subtotalPriceSet { shopMoney { amount } }
      totalShippingPriceSet { shopMoney { amount } }
      totalPriceSet { shopMoney { amount } }
      totalRefundedSet { shopMoney { amount } }
      customer { id email phone displayName }
      shippingAddress { name address1 address2 city province zip phone }
      billingAddress { name address1 address2 city province zip phone }
      fulfillments(first: 5) { createdAt trackingInfo(first: 1) { company number } }
      lineItems(first: 100) {
        nodes { name title sku quantity originalUnitPriceSet { shopMoney { amount } }
                totalDiscountSet { shopMoney { amount } } }
      }
    }
  }
}
"""

ORDER_QUERY = """
query Order($id: ID!) {
  order(id: $id) {
    id name email phone createdAt processedAt cancelledAt updatedAt note
    displayFinancialStatus displayFulfillmentStatus
    subtotalPriceSet { shopMoney { amount } }
    totalShippingPriceSet { shopMoney { amount } }
    totalPriceSet { shopMoney { amount } }
    totalRefundedSet { shopMoney { amount } }
    customer { id email phone displayName }
    shippingAddress { name address1 address2 city province zip phone }
    billingAddress { name address1 address2 city province zip phone }
    fulfillments(first: 5) { createdAt trackingInfo(first: 1) { company number } }
    lineItems(first: 100) {
      nodes { name title sku quantity originalUnitPriceSet { shopMoney { amount } }
              totalDiscountSet { shopMoney { amount } } }
    }
  }
}
"""


def _shop_money(node: Mapping[str, Any], key: str) -> Any:
    return ((node.get(key) or {}).get("shopMoney") or {}).get("amount")


def _gid_number(gid: Any) -> str:
    return str(gid or "").rsplit("/", 1)[-1]


def _address(node: Any) -> dict[str, Any]:
    return dict(node) if isinstance(node, Mapping) else {}


def rest_from_graphql(node: Mapping[str, Any]) -> dict[str, Any]:
    """A GraphQL order node in the REST order's shape that `order_row` reads."""
    customer = node.get("customer") or {}
    fulfillments = []
    for f in node.get("fulfillments") or []:
        info = (f.get("trackingInfo") or [{}])[0] if f.get("trackingInfo") else {}
        fulfillments.append(
            {
                "created_at": f.get("createdAt"),
                "tracking_company": info.get("company"),
                "tracking_number": info.get("number"),
            }
        )
    return {
        "id": _gid_number(node.get("id")),
        "name": node.get("name"),
        "email": node.get("email"),
        "phone": node.get("phone"),
        "created_at": node.get("createdAt"),
        "processed_at": node.get("processedAt"),
        "cancelled_at": node.get("cancelledAt"),
        "updated_at": node.get("updatedAt"),
        "note": node.get("note"),
        "financial_status": str(node.get("displayFinancialStatus") or "").lower(),
        "fulfillment_status": _fulfillment(node.get("displayFulfillmentStatus")),
        "subtotal_price": _shop_money(node, "subtotalPriceSet"),
        "total_shipping_price_set": {"shop_money": {"amount": _shop_money(node, "totalShippingPriceSet")}},
        "total_price": _shop_money(node, "totalPriceSet"),
        "total_refunded": _shop_money(node, "totalRefundedSet"),
        "customer": {"email": customer.get("email"), "phone": customer.get("phone"),
                     "display_name": customer.get("displayName")},
        "shipping_address": _address(node.get("shippingAddress")),
        "billing_address": _address(node.get("billingAddress")),
        "fulfillments": fulfillments,
        "line_items": [
            {
                "name": item.get("name"),
                "title": item.get("title"),
                "sku": item.get("sku"),
                "quantity": item.get("quantity"),
                "price": _shop_money(item, "originalUnitPriceSet"),
                "total_discount": _shop_money(item, "totalDiscountSet"),
            }
            for item in ((node.get("lineItems") or {}).get("nodes") or [])
        ],
    }  # fmt: skip


def throttle_wait(cost: Mapping[str, Any] | None, *, next_cost: float) -> float:
    """Seconds to wait before a query of `next_cost` points, from a response's `extensions.cost`: none while the
    bucket holds enough, else the time its restore rate needs to refill the difference."""
    if not cost:
        return 0.0
    status = cost.get("throttleStatus") or {}
    try:
        available = float(status.get("currentlyAvailable", 0))
        rate = float(status.get("restoreRate", 0)) or 1.0
    except (TypeError, ValueError):
        return 1.0
    if available >= next_cost:
        return 0.0
    return min((next_cost - available) / rate, 60.0)


def is_throttled(answer: Mapping[str, Any]) -> bool:
    """A GraphQL answer refused for the rate limit (errors "Throttled" or code THROTTLED)."""
    for error in answer.get("errors") or []:
        if not isinstance(error, Mapping):
            continue
        code = (error.get("extensions") or {}).get("code")
        if error.get("message") == "Throttled" or code == "THROTTLED":
            return True
    return False


def search_since(since: datetime | None) -> str | None:
    """The orders search of a backfill from `since` (orders changed since then), or None for all orders."""
    if since is None:
        return None
    return f"updated_at:>='{since.isoformat()}'"
