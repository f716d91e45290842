"""The archive the golden review files refer to: shop 店A, orders 9001000000000001…5 of five buyers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from huitouke.customers.tests.factories import CustomerFactory
from huitouke.orders.models import Order, Shop
from huitouke.orders.tests.factories import OrderFactory, OrderLineFactory, ProductFactory, ShopFactory

GOLDEN = Path(__file__).parent / "golden"
NICKS = ("tb_alice", "tb_bob", "tb_carol", "tb_dan", "tb_fay")


def golden_archive() -> tuple[Shop, list[Order]]:  # factories return model instances
    shop = ShopFactory(name="店A")
    scarf = ProductFactory(shop=shop, external_id="6001", title="羊毛围巾")
    socks = ProductFactory(shop=shop, external_id="6002", title="棉袜")
    orders = []
    for i, nick in enumerate(NICKS, start=1):
        order = OrderFactory(
            shop=shop,
            order_no=f"900100000000000{i}",
            customer=CustomerFactory(name=nick),
            status=Order.Status.COMPLETED,
            ordered_at=datetime(2025, 6, 10 + i, 2, 0, tzinfo=UTC),
            paid_at=datetime(2025, 6, 10 + i, 2, 5, tzinfo=UTC),
            confirmed_at=datetime(2025, 6, 15 + i, 2, 0, tzinfo=UTC),
        )
        OrderLineFactory(order=order, line_no=1, product=scarf if i <= 2 else socks, title="x")
        orders.append(order)
    return shop, orders  # type: ignore[return-value]
