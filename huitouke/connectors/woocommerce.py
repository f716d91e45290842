"""WooCommerce orders (REST API v3 JSON) as the import's rows, and the webhook signature. Pure: no ORM, no
settings, no network.

Follows the WooCommerce export importer (`orders.importers.woocommerce`) so a store imported by CSV and then
connected does not double anything: the order number is the order's `number` (its id unless a plugin renumbers),
the buyer is the lower-cased billing e-mail, else "id:<customer id>", the status comes from the same table, a
line's product is keyed by its SKU (as an export without a product id column keys it), else its product id.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from huitouke.connectors.signing import hmac_sha256_base64_valid
from huitouke.orders.importers import rows as r
from huitouke.orders.importers.cells import CellError, parse_phone
from huitouke.orders.importers.rows import LineRow, OrderRow
from huitouke.orders.importers.woocommerce import normalise_status

TOPICS = ("order.created", "order.updated")
PAGE_SIZE = 50
MAX_LINES = 250
_UNPAID = frozenset({r.PENDING, r.CLOSED})


class WooMappingError(ValueError):
    """The payload is not an order we can read; the message names the field."""


def signature_valid(body: bytes, header: str, secret: str) -> bool:
    """X-WC-Webhook-Signature: base64 of the HMAC-SHA256 of the raw body with the webhook's secret."""
    return hmac_sha256_base64_valid(body, header, secret)


def _money(value: Any, field: str) -> Decimal:
    if value in (None, ""):
        return Decimal(0)
    try:
        amount = abs(Decimal(str(value)))  # refunds are written as negatives
    except InvalidOperation as exc:
        raise WooMappingError(f"{field}: not an amount ({value!r})") from exc
    if not amount.is_finite() or amount >= Decimal(10) ** 10:
        raise WooMappingError(f"{field}: amount out of range ({value!r})")
    return amount.quantize(Decimal("0.01"))


def _time(payload: Mapping[str, Any], name: str) -> datetime | None:
    """`<name>_gmt` (UTC without an offset, as WooCommerce writes it), else `<name>` if it carries an offset."""
    gmt = payload.get(f"{name}_gmt")
    raw = gmt or payload.get(name)
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError as exc:
        raise WooMappingError(f"{name}: not a time ({raw!r})") from exc
    if moment.tzinfo is None:
        if not gmt:
            raise WooMappingError(f"{name}_gmt: missing (the local time has no offset)")
        moment = moment.replace(tzinfo=UTC)
    return moment


def _text(value: Any, limit: int) -> str:
    return str(value or "").strip()[:limit]


def order_row(payload: Mapping[str, Any], *, shop_name: str, row_no: int = 0) -> OrderRow:
    """The import's row for a WooCommerce order. Raises WooMappingError naming the field."""
    if not isinstance(payload, Mapping):
        raise WooMappingError("order: not a JSON object")
    order_no = _text(payload.get("number") or payload.get("id"), 64)
    if not order_no:
        raise WooMappingError("number: the order has no number")
    try:
        status = normalise_status(_text(payload.get("status"), 32))
    except CellError as exc:
        raise WooMappingError(f"status: {exc} ({payload.get('status')!r})") from exc
    created = _time(payload, "date_created")
    if created is None:
        raise WooMappingError("date_created_gmt: missing")
    billing = payload.get("billing") or {}
    shipping = payload.get("shipping") or {}
    ship = bool(_text(shipping.get("address_1"), 255) or _text(shipping.get("city"), 64))
    place = shipping if ship else billing
    email = _text(billing.get("email"), 254).lower()
    customer_id = _text(payload.get("customer_id"), 32)
    buyer = email or (f"id:{customer_id}" if customer_id and customer_id != "0" else "")
    if not buyer:
        raise WooMappingError("billing.email: the order has no customer e-mail or customer id")
    name = " ".join(p for p in (_text(billing.get("first_name"), 32), _text(billing.get("last_name"), 32)) if p)
    if ship:
        name = (
            " ".join(p for p in (_text(shipping.get("first_name"), 32), _text(shipping.get("last_name"), 32)) if p)
            or name
        )
    items = payload.get("line_items") or []
    if not isinstance(items, list) or len(items) > MAX_LINES:
        raise WooMappingError(f"line_items: a list of at most {MAX_LINES} lines")
    lines = []
    for n, item in enumerate(items, start=1):
        if not isinstance(item, Mapping):
            raise WooMappingError(f"line_items[{n - 1}]: not a JSON object")
        quantity = item.get("quantity")
        if not isinstance(quantity, int) or not 1 <= quantity <= 1_000_000:
            raise WooMappingError(f"line_items[{n - 1}].quantity: a whole number from 1 ({quantity!r})")
        amount = _money(item.get("total"), f"line_items[{n - 1}].total")
        price = (
            _money(item.get("price"), f"line_items[{n - 1}].price")
            if item.get("price") not in (None, "")
            else ((amount / quantity).quantize(Decimal("0.01")))
        )
        product = item.get("product_id")
        sku = _text(item.get("sku"), 128)
        lines.append(
            LineRow(
                line_no=n,
                title=_text(item.get("name"), 255) or f"line {n}",
                sku=sku,
                # keyed by SKU when there is one (as exports without a product id column key it), else the id
                external_id="" if sku or product in (None, 0, "0") else _text(product, 64),
                quantity=quantity,
                unit_price=price,
                amount=amount,
                attributes="",
                refund_state=r.REFUND_REFUNDED if status == r.REFUNDED else r.REFUND_NONE,
            )
        )
    total = _money(payload.get("total"), "total")
    paid = Decimal(0) if status in _UNPAID else total
    refunded = sum(
        (_money(x.get("total"), "refunds.total") for x in payload.get("refunds") or [] if isinstance(x, Mapping)),
        Decimal(0),
    )
    shipping_lines = payload.get("shipping_lines") or []
    goods = sum((line.amount for line in lines), Decimal(0))
    return OrderRow(
        row_no=row_no,
        order_no=order_no,
        platform=r.WOOCOMMERCE,
        shop_name=shop_name,
        buyer_handle=buyer,
        buyer_name=name[:64],
        phone=parse_phone(_text(billing.get("phone"), 32)),
        email=email,
        province=_text(place.get("state"), 32),
        city=_text(place.get("city"), 32),
        district="",
        address=" ".join(p for p in (_text(place.get("address_1"), 255), _text(place.get("address_2"), 255)) if p)[
            :255
        ],
        postcode=_text(place.get("postcode"), 16),
        status=status,
        goods_amount=goods,
        shipping_fee=_money(payload.get("shipping_total"), "shipping_total"),
        total_amount=total,
        paid_amount=paid,
        refund_amount=refunded or (paid if status == r.REFUNDED else Decimal(0)),
        ordered_at=created,
        paid_at=_time(payload, "date_paid"),
        shipped_at=None,
        confirmed_at=_time(payload, "date_completed"),
        logistics_company=_text(shipping_lines[0].get("method_title"), 64) if shipping_lines else "",
        tracking_no="",
        buyer_remark=_text(payload.get("customer_note"), 1000),
        seller_memo="",
        lines=tuple(lines),
    )


def order_ref(payload: Mapping[str, Any]) -> str:
    return str(payload.get("id") or "")
