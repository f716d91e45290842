"""REST endpoints of orders: a customer's orders with their lines (read only)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from huitouke.core.api import Int64, masker_for, require_perms
from huitouke.core.models import AuditEntry
from huitouke.core.pii import Masker
from huitouke.core.services import audit_log
from huitouke.customers.models import Customer
from huitouke.customers.selectors import customer_get
from huitouke.orders.models import Order
from huitouke.orders.schemas import OrderLineOut, OrderOut, OrderPage, OrderPageParams
from huitouke.orders.selectors import order_list_for_customer

router = Router(tags=["orders"])


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def order_out(order: Order, customer: Customer, masker: Masker) -> OrderOut:
    """An order loaded by order_list_for_customer (shop and lines loaded), as JSON."""
    return OrderOut(
        id=order.pk,
        shop=order.shop.name,
        shop_id=order.shop_id,
        currency=order.shop.currency,
        order_no=order.order_no,
        status=order.status,
        goods_amount=_money(order.goods_amount),
        shipping_fee=_money(order.shipping_fee),
        total_amount=_money(order.total_amount),
        paid_amount=_money(order.paid_amount),
        refund_amount=_money(order.refund_amount),
        ordered_at=order.ordered_at,
        paid_at=order.paid_at,
        shipped_at=order.shipped_at,
        delivered_at=order.delivered_at,
        confirmed_at=order.confirmed_at,
        closed_at=order.closed_at,
        logistics_company=order.logistics_company,
        tracking_no=order.tracking_no,
        gift=order.gift,
        buyer_remark=order.buyer_remark,
        seller_memo=order.seller_memo,
        receiver_name=order.receiver_name,
        receiver_phone=masker.phone(order.receiver_phone),
        receiver_address=masker.address(order.receiver_address, keep=f"{customer.province}{customer.city}"),
        lines=[
            OrderLineOut(
                line_no=line.line_no,
                product_id=line.product_id,
                title=line.title,
                sku=line.sku,
                quantity=line.quantity,
                unit_price=_money(line.unit_price),
                amount=_money(line.amount),
                refund_state=line.refund_state,
            )
            for line in order.lines.all()
        ],
    )


@router.get("/customers/{customer_id}/orders", response=OrderPage, summary="A customer's orders")
def customer_order_list(request: HttpRequest, customer_id: Int64, params: Query[OrderPageParams]) -> dict[str, Any]:
    """The customer's orders with their lines, newest first, one page at a time."""
    require_perms(request, "customers.view_customer", "orders.view_order")
    customer = customer_get(customer_id=customer_id)
    qs = order_list_for_customer(customer=customer)
    count = qs.count()
    start = (params.page - 1) * params.page_size
    orders = list(qs[start : start + params.page_size])
    masker = masker_for(request)
    if masker.unmasked and orders:
        audit_log(
            actor=request.user,
            action=AuditEntry.Action.UNMASK,
            target_type="customer",
            target_id=customer.pk,
            orders=[o.pk for o in orders],
        )
    return {"items": [order_out(o, customer, masker) for o in orders], "count": count}
