"""WooCommerce order export CSV (one row per item, rows of one order consecutive).

Accepts the common header spellings of WooCommerce exporters ("Order ID"/"Order Number"/"order_id",
"Billing First Name"/"First Name (Billing)"/"billing_first_name", "Order Total"/"Order Total Amount"/"Total", …);
headers are compared without spaces, underscores or case. Order-level cells come from the first row of each order.
The buyer handle is the lower-cased billing/customer email, else "id:<Customer ID>".
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import tzinfo

from huitouke.orders.importers import rows as r
from huitouke.orders.importers.cells import (
    ZERO,
    CellError,
    parse_amount,
    parse_datetime,
    parse_phone,
    parse_quantity,
    text,
    unit_price,
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

LABEL = "WooCommerce order export"
REQUIRED = (
    ("Order Number", "Order ID", "Order #", "Order No"),
    ("Order Date", "Date Created", "Order Created", "Date"),
    ("Order Status", "Status"),
    ("Order Total", "Order Total Amount", "Total", "Order Total Amount with Tax"),
    ("Customer Email", "Billing Email", "Email (Billing)", "Billing Email Address", "Customer ID", "Customer User"),
)

FIELDS: Fields = {
    "member_level": MEMBER_LEVEL,
    "order_no": ("Order Number", "Order ID", "Order #", "Order No"),
    "created": ("Order Date", "Date Created", "Order Created", "Date"),
    "status": ("Order Status", "Status"),
    "email": ("Billing Email", "Customer Email", "Email (Billing)", "Billing Email Address", "Email"),
    "customer_id": ("Customer ID", "Customer User", "Customer Username"),
    "first": ("Billing First Name", "First Name (Billing)"),
    "last": ("Billing Last Name", "Last Name (Billing)"),
    "full": ("Billing Full Name", "Full Name (Billing)", "Customer Name"),
    "phone": ("Billing Phone", "Phone (Billing)", "Phone"),
    "ship_first": ("Shipping First Name", "First Name (Shipping)"),
    "ship_last": ("Shipping Last Name", "Last Name (Shipping)"),
    "ship_address1": ("Shipping Address 1", "Address 1 (Shipping)", "Address 1&2 (Shipping)", "Shipping Address"),
    "ship_address2": ("Shipping Address 2", "Address 2 (Shipping)"),
    "ship_city": ("Shipping City", "City (Shipping)"),
    "ship_state": ("Shipping State", "State (Shipping)", "State Code (Shipping)", "State Name (Shipping)"),
    "ship_postcode": ("Shipping Postcode", "Postcode (Shipping)", "Shipping Zip"),
    "address1": ("Billing Address 1", "Address 1 (Billing)", "Address 1&2 (Billing)", "Billing Address"),
    "address2": ("Billing Address 2", "Address 2 (Billing)"),
    "city": ("Billing City", "City (Billing)"),
    "state": ("Billing State", "State (Billing)", "State Code (Billing)", "State Name (Billing)"),
    "postcode": ("Billing Postcode", "Postcode (Billing)", "Billing Zip"),
    "subtotal": ("Order Subtotal", "Order Subtotal Amount", "Subtotal", "Cart Subtotal"),
    "shipping": ("Order Shipping", "Shipping Total", "Order Shipping Amount", "Shipping Cost"),
    "total": ("Order Total", "Order Total Amount", "Total", "Order Total Amount with Tax"),
    "refund": ("Order Refund", "Refunded total", "Order Refund Amount", "Refunded Total Amount", "Refund Total"),
    "note": ("Customer Note", "Customer Provided Note", "Customer Notes"),
    "paid_at": ("Paid Date", "Date Paid", "Order Paid Date", "Paid at"),
    "completed_at": ("Completed Date", "Date Completed", "Order Completed Date"),
    "method": ("Shipping Method Title", "Shipping Method", "Shipping Method Name"),
    "title": ("Item Name", "Product Name", "Item", "Line Item Name"),
    "sku": ("Item SKU", "SKU", "Product SKU"),
    "product_id": ("Product ID", "Item Product ID", "Product Id"),
    "quantity": ("Item Quantity", "Quantity", "Qty", "Quantity (- Refund)"),
    "price": ("Item Cost", "Item Price", "Cost", "Product Price", "Item Cost Before Discount"),
    "line_total": ("Item Total", "Line Total", "Order Line Total", "Item Total Amount"),
    "variation": ("Item Variation", "Variation", "Product Variation", "Item Meta"),
}

_STATUS = {
    "pending": r.PENDING,
    "pending-payment": r.PENDING,
    "on-hold": r.PENDING,
    "checkout-draft": r.PENDING,
    "draft": r.PENDING,
    "processing": r.PAID,
    "shipped": r.SHIPPED,
    "partial-shipped": r.SHIPPED,
    "delivered": r.DELIVERED,
    "completed": r.COMPLETED,
    "cancelled": r.CLOSED,
    "canceled": r.CLOSED,
    "failed": r.CLOSED,
    "trash": r.CLOSED,
    "refunded": r.REFUNDED,
}
_UNPAID = frozenset({r.PENDING, r.CLOSED})


def normalise_status(s: str) -> str:
    """`wc-completed`, `completed`, `Completed`, `On hold`, `Pending payment` … → our status."""
    key = s.strip().lower().removeprefix("wc-").replace(" ", "-").replace("_", "-")
    try:
        return _STATUS[key]
    except KeyError:
        raise CellError("missing order status" if not key else "unknown order status") from None


def parse(table: Table, tz: tzinfo) -> Iterator[OrderRow | RowError]:
    require(table, REQUIRED, LABEL)
    return _parse(table, tz)


def _parse(table: Table, tz: tzinfo) -> Iterator[OrderRow | RowError]:
    c = resolve(table, FIELDS)
    has_items = table.has(*FIELDS["title"])
    seen = Seen()
    for _key, group in grouped(table, c["order_no"]):
        order_no, error = order_key(table, group, c["order_no"], seen)
        if error is not None:
            yield error
            continue
        row_no, row = group[0]
        lines: list[LineRow] = []
        col = c["status"]
        try:
            status = normalise_status(row[col])
            col = c["created"]
            ordered_at = parse_datetime(row[col], tz)
            if ordered_at is None:
                raise CellError("missing order time")
            col = c["paid_at"]
            paid_at = parse_datetime(row[col], tz)
            col = c["completed_at"]
            completed_at = parse_datetime(row[col], tz)
            col = c["subtotal"]
            subtotal = parse_amount(row[col])
            col = c["shipping"]
            shipping = parse_amount(row[col])
            col = c["total"]
            total = parse_amount(row[col])
            col = c["refund"]
            refund = parse_amount(row[col].strip().lstrip("-"))  # some exporters write refunds as negatives
            email = text(row[c["email"]]).lower()
            customer_id = unwrap(row[c["customer_id"]])
            buyer = email or (f"id:{customer_id}" if customer_id and customer_id != "0" else "")
            if not buyer:
                col = c["email"]
                raise CellError("missing customer email")
            for row_no, row in group if has_items else ():  # noqa: B007 - row_no/row name the failing row
                col = c["quantity"]
                quantity = parse_quantity(row[col]) if row[col].strip() else 1
                col = c["line_total"]
                amount = parse_amount(row[col]) if row[col].strip() else None
                col = c["price"]
                price = parse_amount(row[col]) if row[col].strip() else None
                if amount is None:
                    amount = (price or ZERO) * quantity
                lines.append(
                    LineRow(
                        line_no=len(lines) + 1,
                        title=text(row[c["title"]]),
                        sku=unwrap(row[c["sku"]]),
                        external_id=unwrap(row[c["product_id"]]),
                        quantity=quantity,
                        unit_price=price if price is not None else unit_price(amount, quantity),
                        amount=amount,
                        attributes=text(row[c["variation"]]),
                        refund_state=r.REFUND_REFUNDED if status == r.REFUNDED else r.REFUND_NONE,
                    )
                )
        except CellError as exc:
            yield cell_error(table, row_no, row, col, exc)
            continue
        first_no, first = group[0]
        ship = bool(text(first[c["ship_address1"]]) or text(first[c["ship_city"]]))
        pre = "ship_" if ship else ""
        name = join(text(first[c["first"]]), text(first[c["last"]])) or text(first[c["full"]])
        if ship:
            name = join(text(first[c["ship_first"]]), text(first[c["ship_last"]])) or name
        goods = subtotal or sum((line.amount for line in lines), start=ZERO)
        paid = ZERO if status in _UNPAID else total
        yield OrderRow(
            row_no=first_no,
            order_no=order_no,
            platform=r.WOOCOMMERCE,
            shop_name="",
            buyer_handle=buyer,
            buyer_name=name,
            phone=parse_phone(first[c["phone"]]),
            email=email,
            province=text(first[c[f"{pre}state"]]),
            city=text(first[c[f"{pre}city"]]),
            district="",
            address=join(text(first[c[f"{pre}address1"]]), text(first[c[f"{pre}address2"]])),
            postcode=unwrap(first[c[f"{pre}postcode"]]),
            status=status,
            goods_amount=goods,
            shipping_fee=shipping,
            total_amount=total,
            paid_amount=paid,
            refund_amount=refund or (paid if status == r.REFUNDED else ZERO),
            ordered_at=ordered_at,
            paid_at=paid_at,
            shipped_at=None,
            confirmed_at=completed_at,
            logistics_company=text(first[c["method"]]),
            tracking_no="",
            buyer_remark=text(first[c["note"]]),
            seller_memo="",
            member_level=text(first[c["member_level"]]),
            lines=tuple(lines),
        )
