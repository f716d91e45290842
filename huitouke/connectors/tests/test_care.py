"""Care reacts to pushed orders at once (the worker task the write queues on commit), still exactly once."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from freezegun import freeze_time

import huitouke.urls  # noqa: F401  (the API's schemas are built before the clock is frozen)
from huitouke.care.tests.factories import make_rule
from huitouke.care.ticks import care_run
from huitouke.customers.models import Customer
from huitouke.messaging.models import Message
from huitouke.orders.tests.factories import ShopFactory

pytestmark = pytest.mark.django_db

NOW = "2026-05-17T10:00:00+08:00"


def push(client: Client, **over: Any) -> Any:
    order = {
        "shop": "Tea House",
        "order_no": "P1",
        "buyer_handle": "tea_lover",
        "buyer_name": "Li Lei",
        "phone": "13800001111",
        "status": "paid",
        "total_amount": "88.00",
        "created_at": "2026-05-17T09:50:00+08:00",
        "paid_at": "2026-05-17T09:55:00+08:00",
        "lines": [{"product_id": "T1", "title": "Longjing", "price": "88"}],
        **over,
    }
    return client.post("/api/v1/orders", json.dumps({"orders": [order]}), content_type="application/json")


@freeze_time(NOW)
def test_a_paid_push_gets_its_care_message_at_once_and_never_twice(
    api_client_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ShopFactory(name="Tea House", platform="taobao")
    paid_rule = make_rule("paid_today")
    make_rule("shipped")
    client = api_client_as("manager")
    with django_capture_on_commit_callbacks(execute=True):
        assert push(client).json()["created"] == 1

    def care() -> list[str]:
        return list(Message.objects.filter(source_kind="care").order_by("pk").values_list("idempotency_key", flat=True))

    buyer = Customer.objects.get(identities__handle="tea_lover")
    assert care() == [f"care:{paid_rule.pk}:{buyer.pk}:2026-05-17"]  # the paid-today thanks, before any tick
    with django_capture_on_commit_callbacks(execute=True):
        assert push(client).json()["unchanged"] == 1  # nothing changed: no write, no reaction
    report = care_run()  # the next tick finds the occasion cared for
    assert sum(r.enqueued for r in report.rules) == 0
    assert len(care()) == 1
    with django_capture_on_commit_callbacks(execute=True):
        shipped = push(client, status="shipped", shipped_at="2026-05-17T09:58:00+08:00", tracking_no="SF1")
        assert shipped.json()["updated"] == 1
    assert len(care()) == 2  # the shipping notice followed the state change


@freeze_time(NOW)
def test_the_reaction_touches_only_the_pushed_buyers(
    api_client_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from huitouke.orders.tests.factories import OrderFactory

    shop = ShopFactory(name="Tea House", platform="taobao")
    OrderFactory(shop=shop, status="paid", paid_at="2026-05-17T09:00:00+08:00")  # imported earlier, not cared yet
    make_rule("paid_today")
    with django_capture_on_commit_callbacks(execute=True):
        push(api_client_as("manager"))
    assert Message.objects.filter(source_kind="care").count() == 1
    assert sum(r.enqueued for r in care_run().rules) == 1  # the tick still looks after everyone else
