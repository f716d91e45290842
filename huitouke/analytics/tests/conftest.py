"""The hand-computed shop shared by the selector and view tests (see test_selectors.py for the table)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from huitouke.analytics.rollups import rollups_rebuild
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.orders.models import Order, OrderLine
from huitouke.orders.services import customer_stats_refresh
from huitouke.orders.tests.factories import OrderFactory, OrderLineFactory, ProductFactory, ShopFactory

TODAY = date(2025, 6, 18)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(y, m, d, hour=10, minute=0):
    """A Shanghai wall-clock time (the business time zone)."""
    return datetime(y, m, d, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def shop():
    s = ShopFactory.create(name="山岚茶食")
    p1 = ProductFactory.create(shop=s, title="龙井", category="茶叶")
    p2 = ProductFactory.create(shop=s, title="桂花糕", category="零食")
    p3 = ProductFactory.create(shop=s, title="茶盘", category="茶具")
    a = CustomerFactory.create(name="A", province="上海市")
    b = CustomerFactory.create(name="B", province="上海市")
    c = CustomerFactory.create(name="C", province="浙江省")
    g = CustomerFactory.create(name="G", province="江苏省")
    d = CustomerFactory.create(name="D")
    e = CustomerFactory.create(name="E")
    f = CustomerFactory.create(name="F", merged_into=a)

    def order(customer, when, amount, *lines, refund="0", status=Order.Status.COMPLETED):
        o = OrderFactory.create(
            shop=s, customer=customer, ordered_at=when, paid_amount=Decimal(amount), total_amount=Decimal(amount),
            refund_amount=Decimal(refund), status=status,
        )  # fmt: skip
        for n, (product, qty, line_amount, refunded) in enumerate(lines, start=1):
            OrderLineFactory.create(
                order=o, line_no=n, product=product, title=product.title, quantity=qty,
                amount=Decimal(line_amount), refund_state=OrderLine.RefundState.REFUNDED if refunded else "",
            )  # fmt: skip
        return o

    order(a, local(2025, 4, 10), "200", (p1, 1, "100", False), (p2, 1, "100", False))
    order(a, local(2025, 6, 2), "100", (p1, 2, "100", False))
    order(b, local(2025, 6, 5), "50", (p2, 1, "50", False))
    order(c, local(2024, 12, 20), "300", (p1, 3, "300", False))
    order(c, local(2025, 1, 15), "100", (p1, 1, "100", True), refund="40")
    order(g, datetime(2025, 5, 31, 16, 30, tzinfo=UTC), "10", (p2, 1, "10", False))
    order(d, local(2025, 6, 10), "80", status=Order.Status.CLOSED)
    customer_stats_refresh()
    rollups_rebuild()
    return {"p1": p1, "p2": p2, "p3": p3, "a": a, "b": b, "c": c, "g": g, "d": d, "e": e, "f": f}
