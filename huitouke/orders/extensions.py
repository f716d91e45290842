"""What `orders` adds to the customer archive: the shop filter, the orders panel and timeline, the merge hook."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext_lazy as _

from huitouke.customers.models import Customer
from huitouke.customers.registry import (
    DetailPanel,
    ListFilter,
    TimelineEvent,
    register_filter,
    register_merge_hook,
    register_panel,
    register_timeline_source,
)

ORDERS_ON_PAGE = 20


def _shop_choices() -> list[tuple[str, str]]:
    from huitouke.orders.selectors import shop_list

    return [(str(s.pk), s.name) for s in shop_list()]


def _shop_filter(qs: QuerySet[Customer], value: str) -> QuerySet[Customer]:
    from huitouke.orders.models import Order

    if not value.isdigit():
        return qs.none()
    return qs.filter(Exists(Order.objects.filter(customer=OuterRef("pk"), shop_id=int(value))))


def _orders_context(customer: Customer, request: Any) -> dict[str, Any]:
    from huitouke.orders.selectors import order_list_for_customer

    orders = order_list_for_customer(customer=customer)
    return {"orders": list(orders[:ORDERS_ON_PAGE]), "orders_total": customer.order_count}


def _order_events(customer: Customer, limit: int) -> list[TimelineEvent]:
    from huitouke.orders.models import Order

    rows = (
        Order.objects.filter(customer=customer)
        .order_by("-ordered_at")
        .values_list("ordered_at", "order_no", "status", "paid_amount")[:limit]
    )
    labels = dict(Order.Status.choices)
    return [
        TimelineEvent(at=at, kind="order", title=f"{_('Order')} {no}", body=f"{labels.get(status, status)} · ¥{paid}")
        for at, no, status, paid in rows
    ]


def _merge_orders(source: Customer, target: Customer) -> None:
    from huitouke.orders.models import Order
    from huitouke.orders.services import customer_stats_refresh

    Order.objects.filter(customer=source).update(customer=target)
    customer_stats_refresh(customer_ids=[source.pk, target.pk])


def register() -> None:
    register_filter(ListFilter(key="shop", label=_("Shop"), choices=_shop_choices, apply=_shop_filter))
    register_panel(
        DetailPanel(
            key="orders",
            title=_("Order history"),
            template="orders/_customer_orders.html",
            context=_orders_context,
            order=10,
        )
    )
    register_timeline_source("orders", _order_events)
    register_merge_hook("orders", _merge_orders)
