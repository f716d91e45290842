"""Fixtures of the service tests: a shop on the default calendar (Asia/Shanghai, 09:00-12:00 and 13:30-18:00,
Monday to Friday, Chinese holidays), a customer with an order, staff of every role, and shop-time helpers."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

SH = ZoneInfo("Asia/Shanghai")


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Shanghai wall-clock instant: sh(2026, 3, 2, 10, 0)."""
    return datetime(year, month, day, hour, minute, tzinfo=SH)


@pytest.fixture(autouse=True, scope="session")
def _urls_loaded() -> None:
    """Load the URLconf (and the API schemas) before any test freezes time (pydantic and freezegun's dates)."""
    import huitouke.urls  # noqa: F401


@pytest.fixture(autouse=True)
def _shipped_policies(request: Any) -> None:
    """The shipped SLA policies come from a data migration, which a transactional test's flush removes."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        return
    request.getfixturevalue("transactional_db" if marker.kwargs.get("transaction") else "db")
    from huitouke.service.services import sla_policies_defaults_load

    sla_policies_defaults_load()


@pytest.fixture
def no_wake() -> Any:
    """Enqueueing does not start the dispatcher by itself."""
    from huitouke.messaging import services

    saved = list(services._ENQUEUE_LISTENERS)
    services._ENQUEUE_LISTENERS.clear()
    yield
    services._ENQUEUE_LISTENERS[:] = saved


@pytest.fixture
def shop(db: Any) -> Any:
    from huitouke.orders.tests.factories import ShopFactory

    return ShopFactory.create(name="茶小铺", timezone="Asia/Shanghai")


@pytest.fixture
def customer(db: Any) -> Any:
    from huitouke.customers.tests.factories import CustomerFactory

    return CustomerFactory.create(name="王小二", phone="13800000001", email="wang@example.com")


@pytest.fixture
def order(shop: Any, customer: Any) -> Any:
    from huitouke.orders.tests.factories import OrderFactory, OrderLineFactory

    o = OrderFactory.create(shop=shop, customer=customer, order_no="T100")
    OrderLineFactory.create(order=o, line_no=1, title="龙井")
    OrderLineFactory.create(order=o, line_no=2, title="茶杯")
    return o


@pytest.fixture
def agent2(make_user: Any) -> Any:
    return make_user("agent", username="agent2")
