"""The set-based refresh of customer stats."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError

from huitouke.core.errors import ApplicationError
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.orders.models import Order
from huitouke.orders.services import customer_stats_refresh, shop_get_or_create
from huitouke.orders.tests.factories import OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db


def t(day):
    return datetime(2025, 1, day, tzinfo=UTC)


def test_stats_count_paid_orders_minus_refunds_and_skip_closed_unpaid_refunded():
    c = CustomerFactory.create()
    OrderFactory.create(customer=c, status=Order.Status.COMPLETED, paid_amount=Decimal("100.00"), ordered_at=t(5))
    OrderFactory.create(
        customer=c,
        status=Order.Status.SHIPPED,
        paid_amount=Decimal("50.00"),
        refund_amount=Decimal("20.00"),
        ordered_at=t(9),
    )
    OrderFactory.create(customer=c, status=Order.Status.CLOSED, paid_amount=Decimal("0"), ordered_at=t(1))
    OrderFactory.create(customer=c, status=Order.Status.PENDING, paid_amount=Decimal("0"), ordered_at=t(20))
    OrderFactory.create(customer=c, status=Order.Status.REFUNDED, paid_amount=Decimal("80.00"), ordered_at=t(25))

    assert customer_stats_refresh(customer_ids=[c.pk]) == 1

    c.refresh_from_db()
    assert (c.order_count, c.total_spent, c.first_order_at, c.last_order_at) == (2, Decimal("130.00"), t(5), t(9))


def test_stats_refresh_touches_only_the_given_customers():
    a, b = CustomerFactory.create(), CustomerFactory.create()
    OrderFactory.create(customer=a, paid_amount=Decimal("10"))
    OrderFactory.create(customer=b, paid_amount=Decimal("20"))

    customer_stats_refresh(customer_ids=[a.pk])

    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.order_count, b.order_count) == (1, 0)


def test_stats_refresh_all_and_back_to_zero():
    a = CustomerFactory.create()
    order = OrderFactory.create(customer=a, paid_amount=Decimal("10"))
    customer_stats_refresh()
    Order.objects.filter(pk=order.pk).update(status=Order.Status.CLOSED)

    customer_stats_refresh()

    a.refresh_from_db()
    assert (a.order_count, a.total_spent, a.last_order_at) == (0, Decimal("0"), None)


def test_stats_refresh_in_batches():
    customers = CustomerFactory.create_batch(5)
    for c in customers:
        OrderFactory.create(customer=c, paid_amount=Decimal("1"))
    assert customer_stats_refresh(customer_ids=[c.pk for c in customers] * 1000) == 5


def test_order_number_is_unique_per_shop_and_amounts_non_negative():
    order = OrderFactory.create(order_no="1930679858170647")
    with pytest.raises(IntegrityError):
        OrderFactory.create(shop=order.shop, order_no="1930679858170647")


def test_line_quantity_must_be_positive():
    with pytest.raises(IntegrityError):
        OrderLineFactory.create(quantity=0)


def test_shop_get_or_create_validates():
    shop = shop_get_or_create(name=" 山岚茶食 ", platform="taobao")
    assert shop_get_or_create(name="山岚茶食").pk == shop.pk
    with pytest.raises(ApplicationError):
        shop_get_or_create(name="x", platform="amazon")


def test_stats_refresh_takes_more_ids_than_one_statement_has_parameters():
    # SQLite allows 32,766 parameters per statement; the id set goes in as one parameter
    c = CustomerFactory.create()
    OrderFactory.create(customer=c, paid_amount=Decimal("3"))

    assert customer_stats_refresh(customer_ids=[c.pk, *range(c.pk + 1, c.pk + 40_000)]) == 1

    c.refresh_from_db()
    assert (c.order_count, c.total_spent) == (1, Decimal("3"))


def test_the_portable_stats_update_agrees_with_the_joined_one():
    # given: buyers with counted, uncounted, refunded and no orders (the portable update serves SQLite < 3.33)
    from huitouke.core.bulk import values_in
    from huitouke.customers.models import Customer
    from huitouke.orders.services import _stats_update, _stats_update_joined

    buyers = CustomerFactory.create_batch(4)
    for i, status in enumerate((Order.Status.COMPLETED, Order.Status.PAID, Order.Status.CLOSED)):
        OrderFactory.create(customer=buyers[i], status=status, paid_amount=Decimal("12.34"), ordered_at=t(i + 1))
    OrderFactory.create(customer=buyers[0], paid_amount=Decimal("5.00"), refund_amount=Decimal("1.50"), ordered_at=t(9))
    ids = [b.pk for b in buyers]
    fields = ("order_count", "total_spent", "first_order_at", "last_order_at")

    def stats():
        return list(Customer.objects.filter(pk__in=ids).order_by("pk").values_list(*fields))

    # when
    _stats_update(values_in(ids, "bigint"))
    portable = stats()
    Customer.objects.filter(pk__in=ids).update(order_count=99, total_spent=Decimal(99), last_order_at=None)
    _stats_update_joined(ids)

    # then
    assert stats() == portable
    assert portable[0][:2] == (2, Decimal("15.84"))
    assert portable[3] == (0, Decimal("0"), None, None)


def test_stats_refresh_rewrites_only_the_customers_whose_numbers_changed():
    # given: two buyers refreshed once; then one of them loses an order and one stale number is planted on a third
    from huitouke.customers.models import Customer

    a, b, c = CustomerFactory.create_batch(3)
    order = OrderFactory.create(customer=a, paid_amount=Decimal("10"), ordered_at=t(3))
    OrderFactory.create(customer=b, paid_amount=Decimal("20"), ordered_at=t(4))
    assert customer_stats_refresh(customer_ids=[a.pk, b.pk, c.pk]) == 2  # c has no orders: already right
    Order.objects.filter(pk=order.pk).update(status=Order.Status.CLOSED)
    Customer.objects.filter(pk=c.pk).update(order_count=7)

    # when: refreshed again, and once more
    again = customer_stats_refresh(customer_ids=[a.pk, b.pk, c.pk])
    third = customer_stats_refresh(customer_ids=[a.pk, b.pk, c.pk])

    # then: a and c were rewritten, b was right already; the third refresh had nothing to do
    assert (again, third) == (2, 0)
    rows = Customer.objects.filter(pk__in=[a.pk, b.pk, c.pk]).order_by("pk")
    assert [(x.order_count, x.total_spent, x.last_order_at) for x in rows] == [
        (0, Decimal("0"), None),
        (1, Decimal("20"), t(4)),
        (0, Decimal("0"), None),
    ]
