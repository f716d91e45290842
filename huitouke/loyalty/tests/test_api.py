"""Wiring of GET/PUT /api/v1/levels: shop resolution, permissions, the error contract and the regrade on PUT."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from huitouke.core.services import token_create
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.loyalty.models import Level, Membership
from huitouke.loyalty.services import LevelSpec, levels_set
from huitouke.orders.tests.factories import OrderFactory, ShopFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/levels"
BODY = [
    {"name": "普通会员", "min_amount": "0.00", "min_orders": 1, "discount": 100},
    {"name": "银卡", "min_amount": "200.00", "min_orders": 3, "discount": 95, "benefits": "包邮"},
    {"name": "VIP", "min_amount": "1000.00", "min_orders": 10, "discount": 90},
]


def put(client: Client, url: str, body: object) -> Any:
    return client.put(url, json.dumps(body), content_type="application/json")


def test_get_lists_the_only_shops_levels_with_their_members(api_client_as):
    shop = ShopFactory.create(name="茶铺")
    levels_set(shop=shop, specs=[LevelSpec("普通会员", Decimal("0"), 1, 100), LevelSpec("银卡", Decimal("200"), 3, 95)])
    customer = CustomerFactory.create()
    Membership.objects.create(customer=customer, shop=shop, level=Level.objects.get(shop=shop, rank=2))

    response = api_client_as("agent").get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["shop"] == {"id": shop.pk, "name": "茶铺"}
    assert [(lv["name"], lv["min_amount"], lv["min_orders"], lv["discount"]) for lv in body["levels"]] == [
        ("普通会员", "0.00", 1, 100),
        ("银卡", "200.00", 3, 95),
    ]
    assert body["distribution"] == [{"name": "普通会员", "members": 0}, {"name": "银卡", "members": 1}]


def test_get_query_count_does_not_grow_with_levels(api_client_as, django_assert_num_queries):
    shop = ShopFactory.create()
    levels_set(shop=shop, specs=[LevelSpec(f"L{i}", Decimal(i * 100), i + 1, 100 - i) for i in range(6)])
    client = api_client_as("manager")

    # token lookup, token touch, permissions (user + group), shop, levels, distribution
    with django_assert_num_queries(7):
        response = client.get(URL, {"shop": shop.pk})

    assert response.status_code == 200
    assert len(response.json()["levels"]) == 6


@pytest.mark.parametrize(("shops", "query", "status"), [(2, {}, 400), (0, {}, 400), (1, {"shop": 999999}, 404)])
def test_missing_or_unknown_shop_is_an_error_naming_shop(api_client_as, shops, query, status):
    ShopFactory.create_batch(shops)

    response = api_client_as("manager").get(URL, query)

    assert response.status_code == status
    assert response.json()["field"] == "shop"


def test_put_replaces_the_levels_and_regrades_the_shop(api_client_as):
    shop, other = ShopFactory.create(name="茶铺"), ShopFactory.create(name="别家")
    by_amount, by_count, nobody = CustomerFactory.create_batch(3)
    OrderFactory.create(shop=shop, customer=by_amount, paid_amount=Decimal("1000"))
    for _ in range(3):
        OrderFactory.create(shop=shop, customer=by_count, paid_amount=Decimal("1"))
    OrderFactory.create(shop=other, customer=nobody, paid_amount=Decimal("5000"))

    response = put(api_client_as("manager"), f"{URL}?shop={shop.pk}", BODY)

    assert response.status_code == 200, response.content
    body = response.json()
    assert [lv["name"] for lv in body["levels"]] == ["普通会员", "银卡", "VIP"]
    assert body["levels"][1]["benefits"] == "包邮"
    assert body["distribution"] == [
        {"name": "普通会员", "members": 0},
        {"name": "银卡", "members": 1},
        {"name": "VIP", "members": 1},
    ]
    assert not Level.objects.filter(shop=other).exists()
    assert not Membership.objects.filter(customer=nobody).exists()


def test_put_owner_may_change_levels(api_client_as):
    ShopFactory.create()

    response = put(api_client_as("owner"), URL, BODY)

    assert response.status_code == 200


@pytest.mark.parametrize("role", ["agent", "marketer"])
def test_put_without_change_level_is_403_and_changes_nothing(api_client_as, role):
    shop = ShopFactory.create()

    response = put(api_client_as(role), URL, BODY)

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert not Level.objects.filter(shop=shop).exists()


def test_get_without_view_level_is_403():
    ShopFactory.create()
    user = User.objects.create_user("nobody")
    _token, key = token_create(user=user, name="tests")

    response = Client(headers={"Authorization": f"Bearer {key}"}).get(URL)

    assert response.status_code == 403
    assert "loyalty.view_level" in response.json()["message"]


@pytest.mark.parametrize(
    ("index", "change", "field"),
    [
        (1, {"min_amount": "0.00"}, "levels[1].min_amount"),
        (2, {"min_orders": 3}, "levels[2].min_orders"),
        (0, {"discount": 0}, "levels[0].discount"),
        (1, {"name": "普通会员"}, "levels[1].name"),
    ],
)
def test_put_rule_errors_name_the_level_and_field_and_change_nothing(api_client_as, index, change, field):
    shop = ShopFactory.create()
    levels_set(shop=shop, specs=[LevelSpec("老等级", Decimal("0"), 1, 100)])
    body = [dict(lv) for lv in BODY]
    body[index].update(change)

    response = put(api_client_as("manager"), URL, body)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert response.json()["field"] == field
    assert list(Level.objects.filter(shop=shop).values_list("name", flat=True)) == ["老等级"]


def test_put_malformed_value_is_422_naming_the_field(api_client_as):
    ShopFactory.create()
    body = [dict(lv) for lv in BODY]
    body[1]["min_amount"] = "lots"

    response = put(api_client_as("manager"), URL, body)

    assert response.status_code == 422
    # the shared ninja ValidationError handler (huitouke/api.py) joins loc parts with dots
    assert response.json()["field"] == "levels[1].min_amount"


def test_unauthenticated_is_401():
    assert Client().get(URL).status_code == 401


# --- removing every level; the audit of every replacement (issue 14, item 9) ----------------------------------


@pytest.fixture
def graded_shop():
    """A shop with 普通会员 / VIP and two members (one at each level)."""
    shop = ShopFactory.create(name="茶铺")
    levels_set(shop=shop, specs=[LevelSpec("普通会员", Decimal("0"), 1, 100), LevelSpec("VIP", Decimal("500"), 4, 95)])
    for amount in ("100", "600"):
        OrderFactory.create(shop=shop, customer=CustomerFactory.create(), paid_amount=Decimal(amount))
    from huitouke.loyalty.services import levels_regrade

    levels_regrade()
    assert Membership.objects.filter(shop=shop).count() == 2
    return shop


def test_put_empty_list_is_refused_without_confirmation(api_client_as, graded_shop):
    from huitouke.core.models import AuditEntry

    before = AuditEntry.objects.filter(action="levels").count()
    response = put(api_client_as("manager"), f"{URL}?shop={graded_shop.pk}", [])

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "conflict"
    assert body["field"] == "levels"
    assert "all 2 levels" in body["message"]
    assert "all 2 memberships" in body["message"]
    assert "confirm_remove_all=true" in body["message"]
    assert Level.objects.filter(shop=graded_shop).count() == 2
    assert Membership.objects.filter(shop=graded_shop).count() == 2
    assert AuditEntry.objects.filter(action="levels").count() == before


def test_put_empty_list_with_confirmation_removes_all_and_is_audited(api_client_as, graded_shop):
    from huitouke.core.models import AuditEntry

    client = api_client_as("manager")
    response = put(client, f"{URL}?shop={graded_shop.pk}&confirm_remove_all=true", [])

    assert response.status_code == 200
    assert response.json()["levels"] == []
    assert Level.objects.filter(shop=graded_shop).count() == 0
    assert Membership.objects.filter(shop=graded_shop).count() == 0
    entry = AuditEntry.objects.filter(action="levels").first()
    assert entry is not None
    assert (entry.actor_name, entry.target_type, entry.target_id) == ("manager-api", "shop", str(graded_shop.pk))
    assert entry.detail["before"] == ["普通会员 ≥¥0.00 or 1 orders · 100", "VIP ≥¥500.00 or 4 orders · 95"]
    assert entry.detail["after"] == []
    assert entry.detail["shop"] == "茶铺"


def test_every_put_is_audited_with_before_and_after(api_client_as, graded_shop):
    from huitouke.core.models import AuditEntry

    AuditEntry.objects.all()._prune()  # the trail is append-only; only the retention prune removes entries
    client = api_client_as("owner")
    assert put(client, f"{URL}?shop={graded_shop.pk}", BODY).status_code == 200
    assert put(client, f"{URL}?shop={graded_shop.pk}", BODY).status_code == 200  # the same list again

    entries = list(AuditEntry.objects.filter(action="levels").order_by("id"))
    assert len(entries) == 2
    first, second = entries
    assert first.actor_name == "owner-api"
    assert first.detail["before"] == ["普通会员 ≥¥0.00 or 1 orders · 100", "VIP ≥¥500.00 or 4 orders · 95"]
    assert first.detail["after"] == [
        "普通会员 ≥¥0.00 or 1 orders · 100",
        "银卡 ≥¥200.00 or 3 orders · 95",
        "VIP ≥¥1000.00 or 10 orders · 90",
    ]
    assert first.detail["regraded"] is True
    assert second.detail["before"] == second.detail["after"] == first.detail["after"]
    assert second.detail["regraded"] is False
