"""The typed rows the parsers produce, and the normalised values they map into.

The string constants mirror `orders.models.Order.Status`, `OrderLine.RefundState` and `customers.models.Platform`
(copied, not imported, so the parsers never load Django); `tests/test_rows.py` checks they stay equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

PENDING = "pending"
PAID = "paid"
SHIPPED = "shipped"
DELIVERED = "delivered"
COMPLETED = "completed"
CLOSED = "closed"
REFUNDED = "refunded"
STATUSES = (PENDING, PAID, SHIPPED, DELIVERED, COMPLETED, CLOSED, REFUNDED)

REFUND_NONE = ""
REFUND_REQUESTED = "requested"
REFUND_REFUNDED = "refunded"
REFUND_STATES = (REFUND_NONE, REFUND_REQUESTED, REFUND_REFUNDED)

TAOBAO = "taobao"
JD = "jd"
PDD = "pdd"
SHOPIFY = "shopify"
WOOCOMMERCE = "woocommerce"
OTHER = "other"
PLATFORMS = (TAOBAO, JD, PDD, SHOPIFY, WOOCOMMERCE, OTHER)


class ImportFileError(Exception):
    """The whole file cannot be read (empty, binary, undecodable, unknown format, items file mismatch)."""


@dataclass(frozen=True, slots=True)
class LineRow:
    """One product line of an order."""

    line_no: int
    title: str
    sku: str
    external_id: str
    quantity: int
    unit_price: Decimal
    amount: Decimal
    attributes: str
    refund_state: str


@dataclass(frozen=True, slots=True)
class OrderRow:
    """One order with its lines, as read from an export; all datetimes are timezone-aware."""

    row_no: int
    order_no: str
    platform: str
    shop_name: str
    buyer_handle: str
    buyer_name: str
    phone: str
    email: str
    province: str
    city: str
    district: str
    address: str
    postcode: str
    status: str
    goods_amount: Decimal
    shipping_fee: Decimal
    total_amount: Decimal
    paid_amount: Decimal
    refund_amount: Decimal
    ordered_at: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    confirmed_at: datetime | None
    logistics_company: str
    tracking_no: str
    buyer_remark: str
    seller_memo: str
    lines: tuple[LineRow, ...]
    # What only some exports carry; the formats that lack them leave the defaults.
    delivered_at: datetime | None = None
    closed_at: datetime | None = None
    gift: str = ""
    close_reason: str = ""
    accepts_marketing: bool | None = None
    member_level: str = ""
    #: the buyer's answer to "new products and promotions?" (the 新品通知 consent group); None: not asked
    new_products: bool | None = None
    #: the lines are only a summary of the order (a Taobao order report read without its item report): they never
    #: replace the lines an order already has, which may have come from the item report
    summary_lines: bool = False


@dataclass(frozen=True, slots=True)
class RowError:
    """A rejected row: spreadsheet row number (header = row 1), the column header as in the file, value, reason."""

    row_no: int
    column: str
    value: str
    reason: str
