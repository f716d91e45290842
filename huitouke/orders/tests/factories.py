"""Minimal valid shops, products, orders and lines."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import factory

from huitouke.customers.tests.factories import CustomerFactory
from huitouke.orders.models import Order, OrderLine, Product, Shop


class ShopFactory(factory.django.DjangoModelFactory[Shop]):
    class Meta:
        model = Shop
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"shop{n}")
    platform = "taobao"


class ProductFactory(factory.django.DjangoModelFactory[Product]):
    class Meta:
        model = Product

    shop = factory.SubFactory(ShopFactory)
    external_id = factory.Sequence(lambda n: f"P{n}")
    title = factory.Sequence(lambda n: f"product {n}")


class OrderFactory(factory.django.DjangoModelFactory[Order]):
    class Meta:
        model = Order

    shop = factory.SubFactory(ShopFactory)
    order_no = factory.Sequence(lambda n: f"{1930000000000000 + n}")
    customer = factory.SubFactory(CustomerFactory)
    status = Order.Status.COMPLETED
    total_amount = Decimal("100.00")
    paid_amount = Decimal("100.00")
    ordered_at = factory.LazyFunction(lambda: datetime(2025, 6, 18, 10, 0, tzinfo=UTC))


class OrderLineFactory(factory.django.DjangoModelFactory[OrderLine]):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    line_no = factory.Sequence(lambda n: n + 1)
    title = "item"
    quantity = 1
    unit_price = Decimal("100.00")
    amount = Decimal("100.00")
