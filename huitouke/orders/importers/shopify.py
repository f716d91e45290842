"""Shopify "Export orders" CSV: one row per line item, order-level cells only on the first row of an order.

Status comes from Financial Status × Fulfillment Status × Cancelled at (see `_status`). The buyer handle is the
lower-cased Email; without one (POS, phone orders) the normalised Phone, else "id:<order Id>" (Shopify's export
has no customer id column, so such an order gets a buyer of its own).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import tzinfo
from decimal import Decimal

from huitouke.orders.importers import rows as r
from huitouke.orders.importers.cells import (
    CellError,
    parse_amount,
    parse_bool,
    parse_datetime,
    parse_phone,
    parse_quantity,
    text,
    unwrap,
)
from huitouke.orders.importers.common import (
    MEMBER_LEVEL,
    Fields,
    Seen,
    cell_error,
    grouped,
    join,
    order_key,
    require,
    resolve,
)
from huitouke.orders.importers.rows import LineRow, OrderRow, RowError
from huitouke.orders.importers.table import Table

LABEL = "Shopify order export"
REQUIRED = (
    ("Name",),
    ("Financial Status",),
    ("Fulfillment Status",),
    ("Created at",),
    ("Total",),
    ("Lineitem name",),
    ("Lineitem quantity",),
    ("Lineitem price",),
)

FIELDS: Fields = {
    "member_level": MEMBER_LEVEL,
    "order_no": ("Name",),
    "email": ("Email",),
    "financial": ("Financial Status",),
    "paid_at": ("Paid at",),
    "fulfillment": ("Fulfillment Status",),
    "fulfilled_at": ("Fulfilled at",),
    "marketing": ("Accepts Marketing", "Accepts Email Marketing"),
    "subtotal": ("Subtotal",),
    "shipping": ("Shipping",),
    "total": ("Total",),
    "method": ("Shipping Method",),
    "created": ("Created at",),
    "quantity": ("Lineitem quantity",),
    "title": ("Lineitem name",),
    "price": ("Lineitem price",),
    "sku": ("Lineitem sku",),
    "line_discount": ("Lineitem discount",),
    "line_fulfillment": ("Lineitem fulfillment status",),
    "billing_name": ("Billing Name",),
    "billing_phone": ("Billing Phone",),
    "ship_name": ("Shipping Name",),
    "ship_address1": ("Shipping Address1",),
    "ship_address2": ("Shipping Address2",),
    "ship_street": ("Shipping Street",),
    "ship_city": ("Shipping City",),
    "ship_zip": ("Shipping Zip",),
    "ship_province": ("Shipping Province Name", "Shipping Province"),
    "ship_country": ("Shipping Country",),
    "ship_phone": ("Shipping Phone",),
    "billing_address1": ("Billing Address1",),
    "billing_address2": ("Billing Address2",),
    "billing_city": ("Billing City",),
    "billing_zip": ("Billing Zip",),
    "billing_province": ("Billing Province Name", "Billing Province"),
    "notes": ("Notes",),
    "cancelled": ("Cancelled at",),
    "refunded": ("Refunded Amount",),
    "id": ("Id",),
    "phone": ("Phone",),
}

FINANCIAL = ("pending", "authorized", "paid", "partially_paid", "partially_refunded", "refunded", "voided", "expired")
FULFILLMENT = ("fulfilled", "unfulfilled", "partial", "restocked", "")
_PAID_LIKE = frozenset({"authorized", "paid", "partially_paid", "partially_refunded"})


def normalise_status(financial: str, fulfillment: str, cancelled: bool) -> str:
    """Our status for a Shopify (financial, fulfillment, cancelled) triple; raises CellError on unknown values."""
    fin = financial.strip().lower().replace(" ", "_")
    ful = fulfillment.strip().lower().replace(" ", "_")
    if fin not in FINANCIAL:
        raise CellError("unknown financial status")
    if ful not in FULFILLMENT:
        raise CellError("unknown fulfillment status")
    if fin == "refunded":
        return r.REFUNDED
    if cancelled or fin in ("voided", "expired") or ful == "restocked":
        return r.CLOSED
    if fin == "pending":
        return r.PENDING
    if ful == "fulfilled":
        return r.COMPLETED
    if ful == "partial":
        return r.SHIPPED
    return r.PAID


def parse(table: Table, tz: tzinfo) -> Iterator[OrderRow | RowError]:
    require(table, REQUIRED, LABEL)
    return _parse(table, tz)


def _parse(table: Table, tz: tzinfo) -> Iterator[OrderRow | RowError]:
    c = resolve(table, FIELDS)
    seen = Seen()
    for _key, group in grouped(table, c["order_no"]):
        order_no, error = order_key(table, group, c["order_no"], seen)
        if error is not None:
            yield error
            continue
        row_no, row = group[0]
        lines: list[LineRow] = []
        col = c["created"]
        try:
            ordered_at = parse_datetime(row[col], tz)
            if ordered_at is None:
                raise CellError("missing order time")
            col = c["paid_at"]
            paid_at = parse_datetime(row[col], tz)
            col = c["fulfilled_at"]
            shipped_at = parse_datetime(row[col], tz)
            col = c["cancelled"]
            closed_at = parse_datetime(row[col], tz)
            col = c["financial"]
            financial = row[col]
            col = c["fulfillment"] if financial.strip().lower().replace(" ", "_") in FINANCIAL else col
            status = normalise_status(financial, row[c["fulfillment"]], closed_at is not None)
            col = c["subtotal"]
            subtotal = parse_amount(row[col])
            col = c["shipping"]
            shipping = parse_amount(row[col])
            col = c["total"]
            total = parse_amount(row[col])
            col = c["refunded"]
            refunded = parse_amount(row[col])
            col = c["marketing"]
            marketing = parse_bool(row[col])
            for row_no, row in group:  # noqa: B007 - row_no/row name the failing row in the except clause
                col = c["quantity"]
                quantity = parse_quantity(row[col])
                col = c["price"]
                price = parse_amount(row[col])
                col = c["line_discount"]
                discount = parse_amount(row[col])
                amount = price * quantity - discount
                if amount < 0:
                    raise CellError("line discount is larger than the line amount")
                lines.append(
                    LineRow(
                        line_no=len(lines) + 1,
                        title=text(row[c["title"]]),
                        sku=unwrap(row[c["sku"]]),
                        external_id="",
                        quantity=quantity,
                        unit_price=price,
                        amount=amount,
                        attributes="",
                        refund_state=_line_refund(status, row[c["line_fulfillment"]]),
                    )
                )
        except CellError as exc:
            yield cell_error(table, row_no, row, col, exc)
            continue
        first_no, first = group[0]
        email = text(first[c["email"]]).lower()
        phone = parse_phone(first[c["phone"]]) or parse_phone(first[c["ship_phone"]])
        phone = phone or parse_phone(first[c["billing_phone"]])
        buyer = email or phone or f"id:{unwrap(first[c['id']]) or order_no}"
        shipped = bool(text(first[c["ship_address1"]]) or text(first[c["ship_street"]]) or text(first[c["ship_city"]]))
        side = "ship" if shipped else "billing"
        address = join(text(first[c[f"{side}_address1"]]), text(first[c[f"{side}_address2"]]))
        if not address and shipped:
            address = text(first[c["ship_street"]])
        paid = Decimal(0) if status in (r.PENDING,) or (status == r.CLOSED and paid_at is None) else total
        yield OrderRow(
            row_no=first_no,
            order_no=order_no,
            platform=r.SHOPIFY,
            shop_name="",
            buyer_handle=buyer,
            buyer_name=text(first[c["ship_name"]]) or text(first[c["billing_name"]]),
            phone=phone,
            email=email,
            province=text(first[c[f"{side}_province"]]),
            city=text(first[c[f"{side}_city"]]),
            district="",
            address=address,
            postcode=unwrap(first[c[f"{side}_zip"]]),
            status=status,
            goods_amount=subtotal,
            shipping_fee=shipping,
            total_amount=total,
            paid_amount=paid,
            refund_amount=refunded if refunded or status != r.REFUNDED else paid,
            ordered_at=ordered_at,
            paid_at=paid_at,
            shipped_at=shipped_at,
            confirmed_at=None,
            closed_at=closed_at,
            logistics_company=text(first[c["method"]]),
            tracking_no="",
            buyer_remark=text(first[c["notes"]]),
            seller_memo="",
            close_reason="cancelled" if closed_at is not None else "",
            accepts_marketing=marketing,
            member_level=text(first[c["member_level"]]),
            lines=tuple(lines),
        )


def _line_refund(status: str, line_fulfillment: str) -> str:
    if status == r.REFUNDED:
        return r.REFUND_REFUNDED
    return r.REFUND_REFUNDED if line_fulfillment.strip().lower() == "restocked" else r.REFUND_NONE
