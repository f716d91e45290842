"""The parsers' string constants stay equal to the model choices they feed (no DB needed)."""

from __future__ import annotations

from huitouke.customers.models import Platform
from huitouke.orders.importers import rows
from huitouke.orders.models import Order, OrderLine


def test_statuses_equal_order_status_choices():
    assert set(rows.STATUSES) == set(Order.Status.values)


def test_refund_states_equal_orderline_choices():
    assert set(rows.REFUND_STATES) == set(OrderLine.RefundState.values)


def test_platforms_equal_customer_platform_choices():
    assert set(rows.PLATFORMS) == set(Platform.values)
