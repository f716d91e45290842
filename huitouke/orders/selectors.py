"""Order reads: a customer's orders with their lines."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from huitouke.customers.models import Customer
from huitouke.orders.models import Order, OrderLine, Shop


def order_list_for_customer(*, customer: Customer) -> QuerySet[Order]:
    """The customer's orders, newest first, with shop and lines loaded."""
    return (
        Order.objects.filter(customer=customer)
        .select_related("shop")
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.order_by("line_no")))
        .order_by("-ordered_at", "-id")
    )


def shop_list() -> QuerySet[Shop]:
    return Shop.objects.order_by("name")
