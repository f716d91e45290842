"""JSON shapes of the order API."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from ninja import Field, Schema

API_PAGE_SIZE_MAX = 200


class OrderLineOut(Schema):
    line_no: int
    product_id: int | None
    title: str
    sku: str
    quantity: int
    unit_price: str
    amount: str
    refund_state: str


class OrderOut(Schema):
    """An order with its lines. Amounts are decimal strings in the shop's currency; receiver phone and
    address are masked unless the caller holds core.unmask_pii."""

    id: int
    shop: str
    shop_id: int
    currency: str
    order_no: str
    status: str
    goods_amount: str
    shipping_fee: str
    total_amount: str
    paid_amount: str
    refund_amount: str
    ordered_at: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    confirmed_at: datetime | None
    closed_at: datetime | None
    logistics_company: str
    tracking_no: str
    gift: str
    buyer_remark: str
    seller_memo: str
    receiver_name: str
    receiver_phone: str
    receiver_address: str
    lines: list[OrderLineOut]


class OrderPage(Schema):
    items: list[OrderOut]
    count: int


class OrderPageParams(Schema):
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(settings.HUITOUKE_PAGE_SIZE, ge=1, le=API_PAGE_SIZE_MAX)
