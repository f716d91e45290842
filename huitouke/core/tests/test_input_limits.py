"""Counts, amounts and dates given through the API and the forms are checked against what the columns hold and
what is plausible (#14 item 4): a clear error naming the field, never a 500. The import's checks are in
orders/tests/test_limits.py and orders/importers/tests."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from huitouke.customers.tests.factories import CustomerFactory
from huitouke.loyalty import rules
from huitouke.loyalty.forms import error_text
from huitouke.loyalty.models import Level
from huitouke.loyalty.services import LevelSpec
from huitouke.orders.tests.factories import ShopFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("level", "field", "message"),
    [
        ({"min_orders": 10**30}, "levels[0].min_orders", "A: the minimum orders must be at most 1000000"),
        ({"min_orders": 1_000_001}, "levels[0].min_orders", "A: the minimum orders must be at most 1000000"),
        ({"discount": 10**30}, "levels[0].discount", "A: the discount must be 1-100 (95 = 9.5折)"),
    ],
)
def test_level_thresholds_beyond_the_columns_are_refused_naming_the_field(api_client_as, level, field, message):
    shop = ShopFactory.create()
    body = [{"name": "A", "min_amount": "0.00", "min_orders": 1, "discount": 100, **level}]
    response = api_client_as("owner").put(
        f"/api/v1/levels?shop={shop.pk}", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"code": "invalid", "message": message, "field": field}
    assert not Level.objects.exists()


def test_the_level_form_words_the_same_rule_in_the_readers_language():
    specs = [LevelSpec("A", Decimal("0"), 2_000_000, 100)]
    (error,) = rules.validate_levels(specs)
    with translation.override("en"):
        assert error_text(error) == "At most 1,000,000."


@pytest.mark.parametrize("birthday", ["2099-01-01", "1899-12-31", "9999-12-31"])
def test_an_implausible_birthday_is_refused_by_the_api_and_the_form(api_client_as, client_as, birthday):
    response = api_client_as("owner").post(
        "/api/v1/customers", json.dumps({"name": "张三", "birthday": birthday}), content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "message": "生日须在 1900-01-01 与今天之间。",  # the API speaks the site's default language
        "field": "birthday",
    }
    customer = CustomerFactory.create(name="李四")
    with translation.override("en"):
        page = client_as("owner").post(
            reverse("customers:update", args=[customer.pk]),
            {"name": "李四", "birthday": birthday, "birthday_calendar": "solar"},
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert page.status_code == 200
    customer.refresh_from_db()
    assert customer.birthday is None
