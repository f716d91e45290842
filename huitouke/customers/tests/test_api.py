"""Wiring of the REST API v1: auth, permissions, masking and audit, the JSON shapes and the error contract."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from huitouke.core.models import AuditEntry
from huitouke.core.services import token_create, token_revoke
from huitouke.customers.models import Customer, CustomerTag, Note
from huitouke.customers.services import customers_tag
from huitouke.customers.tests.factories import CustomerFactory, IdentityFactory, NoteFactory, TagFactory
from huitouke.loyalty.services import LevelSpec, levels_regrade, levels_set
from huitouke.orders.services import customer_stats_refresh
from huitouke.orders.tests.factories import OrderFactory, OrderLineFactory, ShopFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"
PHONE, EMAIL, STREET = "13812345678", "zhang@example.com", "西湖区文三路100号"
RECEIVER_PHONE, RECEIVER_ADDRESS = "13987654321", "浙江省杭州市西湖区文三路100号2幢"


def post(client: Client, url: str, body: object) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json")


def patch(client: Client, url: str, body: object) -> Any:
    return client.patch(url, json.dumps(body), content_type="application/json")


@pytest.fixture
def zhang():
    customer = CustomerFactory.create(
        name="张小凡",
        real_name="张凡",
        phone=PHONE,
        email=EMAIL,
        province="浙江省",
        city="杭州市",
        address=STREET,
        birthday=date(1990, 5, 17),
        birthday_calendar="lunar",
    )
    IdentityFactory.create(customer=customer, platform="taobao", handle="小鱼爱喝茶")
    customers_tag(customer_ids=[customer.pk], tag_name="VIP")
    order = OrderFactory.create(
        customer=customer,
        total_amount=Decimal("123.45"),
        paid_amount=Decimal("123.45"),
        receiver_name="张凡",
        receiver_phone=RECEIVER_PHONE,
        receiver_address=RECEIVER_ADDRESS,
    )
    OrderLineFactory.create(order=order, line_no=1, title="龙井 250g", sku="LJ-250", unit_price=Decimal("123.45"))
    customer_stats_refresh(customer_ids=[customer.pk])
    customer.refresh_from_db()
    return customer


# --- authentication and the error shape -------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer nope", "Bearer htk_wrong", "Token htk_x", "Bearer "])
def test_missing_or_invalid_token_is_401_json(db, header):
    client = Client(headers={"Authorization": header} if header else {})

    response = client.get(f"{API}/customers")

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert "Bearer" in response.json()["message"]


def test_revoked_token_is_401(agent):
    token, key = token_create(user=agent, name="t")
    token_revoke(token_id=token.pk, user=agent)

    response = Client(headers={"Authorization": f"Bearer {key}"}).get(f"{API}/customers")

    assert response.status_code == 401


def test_me_names_the_role(api_client_as):
    body = api_client_as("agent").get(f"{API}/me").json()

    assert body == {"username": "agent-api", "role": "agent", "sees_unmasked_pii": False, "can_export": False}


def test_unknown_customer_is_404_json(api_client_as):
    response = api_client_as("agent").get(f"{API}/customers/999999")

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "customer 999999 not found", "field": "id"}


@pytest.mark.parametrize(
    ("customer_id", "status"), [("abc", 422), ("1.5", 422), ("99999999999999999999999", 404), ("-1", 404)]
)
def test_bad_path_parameter_is_json_naming_it(api_client_as, customer_id, status):
    response = api_client_as("agent").get(f"{API}/customers/{customer_id}")

    assert response.status_code == status
    assert response.json()["code"] == {422: "invalid", 404: "not_found"}[status]
    assert response.json()["field"] in ("customer_id", "id")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=abc", "page"),
        ("page=0", "page"),
        ("page_size=201", "page_size"),
        ("page_size=0", "page_size"),
        ("last_order_from=yesterday", "last_order_from"),
        ("spent_min=lots", "spent_min"),
        ("orders_min=-1", "orders_min"),
        ("page=%00", "page"),
    ],
)
def test_bad_query_parameter_is_422_naming_it(api_client_as, query, field):
    response = api_client_as("agent").get(f"{API}/customers?{query}")

    assert response.status_code == 422
    assert response.json()["field"] == field
    assert set(response.json()) == {"code", "message", "field"}


def test_filter_rule_violation_is_400_naming_the_parameter(api_client_as):
    response = api_client_as("agent").get(f"{API}/customers?sort=bogus")

    assert response.status_code == 400
    assert response.json()["field"] == "sort"


def test_bad_body_is_422_naming_the_field(api_client_as):
    response = post(api_client_as("manager"), f"{API}/customers", {"name": "x", "birthday": "17/05/1990"})

    assert response.status_code == 422
    assert response.json()["field"] == "birthday"


def test_nested_body_error_names_the_path(api_client_as):
    response = post(api_client_as("manager"), f"{API}/customers", {"identities": [{"platform": "taobao"}]})

    assert response.status_code == 422
    assert response.json()["field"] == "identities[0].handle"


def test_unparseable_body_is_400_json(api_client_as):
    response = api_client_as("manager").post(f"{API}/customers", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert set(response.json()) >= {"code", "message"}


# --- permissions ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "method", "path", "body"),
    [
        ("agent", "post", "/customers", {"name": "x"}),
        ("marketer", "post", "/customers", {"name": "x"}),
        ("marketer", "patch", "/customers/{id}", {"name": "x"}),
        ("marketer", "post", "/customers/{id}/notes", {"body": "hi"}),
    ],
)
def test_writes_without_the_permission_are_403(api_client_as, zhang, role, method, path, body):
    client = api_client_as(role)
    url = API + path.format(id=zhang.pk)

    response = post(client, url, body) if method == "post" else patch(client, url, body)

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    zhang.refresh_from_db()
    assert zhang.name == "张小凡"
    assert Customer.objects.count() == 1


def test_user_without_a_role_cannot_read(db):
    from django.contrib.auth.models import User

    user = User.objects.create_user("nobody", password="pass-word-123")
    _token, key = token_create(user=user)

    response = Client(headers={"Authorization": f"Bearer {key}"}).get(f"{API}/customers")

    assert response.status_code == 403
    assert "customers.view_customer" in response.json()["message"]


# --- list -----------------------------------------------------------------------------------------------


def test_list_shape_and_search(api_client_as, zhang):
    CustomerFactory.create(name="李四")

    body = api_client_as("agent").get(f"{API}/customers", {"search": "小鱼"}).json()

    assert body["count"] == 1
    assert [c["id"] for c in body["items"]] == [zhang.pk]
    item = body["items"][0]
    assert item["identities"] == [{"platform": "taobao", "handle": "小鱼爱喝茶"}]
    assert item["tags"] == ["VIP"]
    assert item["total_spent"] == "123.45"
    assert item["order_count"] == 1


def test_agents_find_a_phone_only_by_the_whole_number_or_its_last_four_and_each_search_is_audited(
    api_client_as, zhang, settings
):
    """Issue 14: 136****0792 was read back digit by digit through prefix searches; no role without the unmask
    permission gets a prefix match on a phone or email, and every contact search is audited and rate-limited."""
    settings.HUITOUKE_CONTACT_SEARCHES_PER_HOUR = 4
    agent = api_client_as("agent")

    def ids(search):
        response = agent.get(f"{API}/customers", {"search": search})
        assert response.status_code == 200, response.content
        return [c["id"] for c in response.json()["items"]]

    assert ids("1381234") == []  # a prefix: nothing, and audited like any phone search
    assert ids(PHONE) == [zhang.pk]
    assert ids("5678") == [zhang.pk]
    assert ids("zhang@") == []
    assert ids("小鱼") == [zhang.pk]  # a handle prefix: not contact data, not counted
    searches = AuditEntry.objects.filter(action="search").order_by("id")
    assert [(e.actor_name, e.target_type, e.detail) for e in searches] == [
        ("agent-api", "customer_search", {"kind": "phone", "search": "1381234"}),
        ("agent-api", "customer_search", {"kind": "phone", "search": PHONE}),
        ("agent-api", "customer_search", {"kind": "last4", "search": "5678"}),
        ("agent-api", "customer_search", {"kind": "email", "search": "zhang@"}),
    ]

    refused = agent.get(f"{API}/customers", {"search": EMAIL})
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert refused.json()["field"] == "search"
    assert AuditEntry.objects.filter(action="search").count() == 4
    assert ids("小鱼") == [zhang.pk]  # searching by name still works


def test_managers_search_contact_data_without_a_search_entry(api_client_as, zhang):
    body = api_client_as("manager").get(f"{API}/customers", {"search": zhang.phone}).json()

    assert [c["id"] for c in body["items"]] == [zhang.pk]
    assert not AuditEntry.objects.filter(action="search").exists()


def test_list_pages(api_client_as):
    for i in range(5):
        CustomerFactory.create(name=f"c{i}")
    client = api_client_as("agent")

    first = client.get(f"{API}/customers", {"sort": "name", "page_size": 2}).json()
    third = client.get(f"{API}/customers", {"sort": "name", "page_size": 2, "page": 3}).json()
    beyond = client.get(f"{API}/customers", {"sort": "name", "page_size": 2, "page": 9}).json()

    assert [c["name"] for c in first["items"]] == ["c0", "c1"]
    assert [c["name"] for c in third["items"]] == ["c4"]
    assert beyond == {"items": [], "count": 5}
    assert first["count"] == third["count"] == 5


def test_list_default_page_size_is_50(api_client_as):
    Customer.objects.bulk_create([Customer(name=f"c{i}") for i in range(51)])

    body = api_client_as("agent").get(f"{API}/customers").json()

    assert body["count"] == 51
    assert len(body["items"]) == 50


def test_list_accepts_every_filter(api_client_as, zhang):
    shop = zhang.orders.get().shop
    levels = levels_set(shop=shop, specs=[LevelSpec(name="金卡", min_amount=Decimal("100"), min_orders=1, discount=95)])
    levels_regrade()
    CustomerFactory.create(name="other", province="广东省")
    query = {
        "tag": "VIP",
        "province": "浙江省",
        "shop": shop.pk,
        "level": levels[0].pk,
        "last_order_from": "2025-06-01",
        "last_order_to": "2025-06-30",
        "spent_min": "100",
        "spent_max": "200.00",
        "orders_min": 1,
        "orders_max": 3,
        "sort": "-spent",
    }

    body = api_client_as("agent").get(f"{API}/customers", query).json()

    assert [c["id"] for c in body["items"]] == [zhang.pk]
    assert body["items"][0]["level"] == "金卡"
    empty = api_client_as("marketer").get(f"{API}/customers", {**query, "spent_min": "124"}).json()
    assert empty == {"items": [], "count": 0}


@pytest.mark.parametrize(("role", "queries"), [("agent", 7), ("manager", 8)])
def test_list_runs_a_fixed_number_of_queries(api_client_as, role, queries, django_assert_num_queries):
    client = api_client_as(role)
    client.get(f"{API}/me")  # the token's first use records last_used_at once

    def run(n_customers):
        for _ in range(n_customers):
            c = CustomerFactory.create(phone="13800000000", province="浙江省", city="杭州市", address="路1号")
            IdentityFactory.create(customer=c)
            customers_tag(customer_ids=[c.pk], tag_name=f"t{c.pk}")
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"{API}/customers").status_code == 200
        return len(ctx)

    few, many = run(1), run(6)

    assert few == many
    # token, the user's permissions (2), count, rows with the level, tags, identities (+ the manager's audit entry)
    with django_assert_num_queries(queries):
        client.get(f"{API}/customers", {"search": "buyer"})


@pytest.mark.parametrize(
    "search",
    [
        "' OR 1=1 --",
        '"; DROP TABLE customers_customer; --',
        "<script>alert('x')</script>",
        "%_\\",
        "😀🛒",
        "张",
        "138****5678",
        "a" * 10_240,
        "a\x00b",
        "\x00",
        " ",
        "+86 138-1234-5678",
    ],
)
def test_any_search_string_is_answered(api_client_as, zhang, search):
    response = api_client_as("agent").get(f"{API}/customers", {"search": search})

    assert response.status_code == 200
    assert set(response.json()) == {"items", "count"}


def test_nul_in_other_list_parameters_is_harmless(api_client_as, zhang):
    response = api_client_as("agent").get(f"{API}/customers", {"tag": "V\x00IP", "province": "\x00"})

    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_merged_customers_are_not_listed(api_client_as, zhang):
    CustomerFactory.create(name="ghost", merged_into=zhang)

    body = api_client_as("agent").get(f"{API}/customers").json()

    assert [c["name"] for c in body["items"]] == ["张小凡"]


# --- detail, create, update -----------------------------------------------------------------------------


def test_detail_carries_every_field(api_client_as, zhang):
    body = api_client_as("manager").get(f"{API}/customers/{zhang.pk}").json()

    assert body == {
        "id": zhang.pk,
        "name": "张小凡",
        "real_name": "张凡",
        "gender": "",
        "identities": [{"platform": "taobao", "handle": "小鱼爱喝茶"}],
        "phone": PHONE,
        "email": EMAIL,
        "province": "浙江省",
        "city": "杭州市",
        "district": "",
        "address": STREET,
        "level": None,
        "order_count": 1,
        "total_spent": "123.45",
        "first_order_at": "2025-06-18T10:00:00Z",
        "last_order_at": "2025-06-18T10:00:00Z",
        "birthday": "1990-05-17",
        "birthday_calendar": "lunar",
        "pref_choice": "",
        "pref_decision": "",
        "pref_price": "",
        "pref_knowledge": "",
        "tags": ["VIP"],
        "merged_into": None,
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }


def test_merged_customer_detail_points_at_the_target(api_client_as, zhang):
    ghost = CustomerFactory.create(name="ghost", merged_into=zhang)

    body = api_client_as("agent").get(f"{API}/customers/{ghost.pk}").json()

    assert body["merged_into"] == zhang.pk


def test_create_with_identities_and_tags(api_client_as):
    client = api_client_as("manager")

    response = post(
        client,
        f"{API}/customers",
        {
            "identities": [{"platform": "jd", "handle": "jd_li"}, {"platform": "taobao", "handle": "tb_li"}],
            "phone": "+86 139-0000-1111",
            "birthday": "1985-02-03",
            "birthday_calendar": "lunar",
            "pref_price": "strict",
            "tags": ["回头客", "VIP"],
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "jd_li"
    assert body["phone"] == "13900001111"
    assert body["birthday"] == "1985-02-03"
    assert body["birthday_calendar"] == "lunar"
    assert body["pref_price"] == "strict"
    assert body["tags"] == ["VIP", "回头客"]
    assert body["identities"] == [{"platform": "jd", "handle": "jd_li"}, {"platform": "taobao", "handle": "tb_li"}]
    assert Customer.objects.get(pk=body["id"]).identities.count() == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "phone": "call me"}, "phone"),
        ({"name": "x", "gender": "x"}, "gender"),
        ({"name": "x", "email": "not-an-email"}, "email"),
        ({"name": "x", "birthday_calendar": "martian"}, "birthday_calendar"),
        ({"name": "x", "identities": [{"platform": "myspace", "handle": "a"}]}, "platform"),
        ({"name": "x", "tags": ["ok", "x" * 33]}, "tag"),
        ({}, "name"),
    ],
)
def test_create_refuses_bad_values_naming_the_field_and_writes_nothing(api_client_as, body, field):
    response = post(api_client_as("manager"), f"{API}/customers", body)

    assert response.status_code == 400
    assert response.json()["field"] == field
    assert Customer.objects.count() == 0


def test_create_refuses_an_identity_of_another_customer(api_client_as, zhang):
    response = post(
        api_client_as("manager"), f"{API}/customers", {"identities": [{"platform": "taobao", "handle": "小鱼爱喝茶"}]}
    )

    assert response.status_code == 400
    assert response.json()["code"] == "conflict"
    assert response.json()["field"] == "identities"
    assert Customer.objects.count() == 1


def test_nul_in_a_body_is_422_naming_the_field(api_client_as):
    response = post(api_client_as("manager"), f"{API}/customers", {"name": "a\x00b"})

    assert response.status_code == 422
    assert response.json()["field"] == "name"


def test_patch_changes_only_the_fields_sent(api_client_as, zhang):
    response = patch(api_client_as("agent"), f"{API}/customers/{zhang.pk}", {"city": "宁波市", "birthday": None})

    assert response.status_code == 200
    zhang.refresh_from_db()
    assert (zhang.city, zhang.birthday, zhang.name, zhang.phone) == ("宁波市", None, "张小凡", PHONE)
    assert list(zhang.tags.values_list("name", flat=True)) == ["VIP"]


def test_patch_replaces_tags_when_sent(api_client_as, zhang):
    response = patch(api_client_as("agent"), f"{API}/customers/{zhang.pk}", {"tags": ["新客", "爱喝茶"]})

    assert response.status_code == 200
    assert response.json()["tags"] == ["新客", "爱喝茶"]
    assert sorted(zhang.tags.values_list("name", flat=True)) == ["新客", "爱喝茶"]


def test_patch_refuses_null_for_text_and_bad_values(api_client_as, zhang):
    client = api_client_as("agent")

    null_phone = patch(client, f"{API}/customers/{zhang.pk}", {"phone": None})
    bad_email = patch(client, f"{API}/customers/{zhang.pk}", {"email": "nope", "city": "宁波市"})

    assert (null_phone.status_code, null_phone.json()["field"]) == (422, "phone")
    assert (bad_email.status_code, bad_email.json()["field"]) == (400, "email")
    zhang.refresh_from_db()
    assert (zhang.phone, zhang.city) == (PHONE, "杭州市")


def test_patch_unknown_customer_is_404(api_client_as):
    response = patch(api_client_as("agent"), f"{API}/customers/424242", {"name": "x"})

    assert response.status_code == 404


# --- notes, tags, orders --------------------------------------------------------------------------------


def test_notes_list_and_add(api_client_as, zhang):
    NoteFactory.create(customer=zhang, body="likes green tea", pinned=True)
    client = api_client_as("agent")

    created = post(client, f"{API}/customers/{zhang.pk}/notes", {"body": "  asked about 龙井  "})
    listed = client.get(f"{API}/customers/{zhang.pk}/notes").json()

    assert created.status_code == 201
    assert created.json()["author"] == "agent-api"
    assert created.json()["body"] == "asked about 龙井"
    assert [n["body"] for n in listed] == ["likes green tea", "asked about 龙井"]
    assert listed[0]["author"] is None
    assert Note.objects.filter(pk=created.json()["id"], author__username="agent-api").exists()


def test_empty_note_is_400(api_client_as, zhang):
    response = post(api_client_as("agent"), f"{API}/customers/{zhang.pk}/notes", {"body": "   "})

    assert (response.status_code, response.json()["field"]) == (400, "body")


def test_notes_of_unknown_customer_are_404(api_client_as):
    assert api_client_as("agent").get(f"{API}/customers/4242/notes").status_code == 404


def test_tags_list_add_and_remove(api_client_as, zhang):
    TagFactory.create(name="沉睡", color="#ff0000")
    client = api_client_as("marketer")

    tags = client.get(f"{API}/tags").json()
    added = post(client, f"{API}/customers/{zhang.pk}/tags", {"name": " 沉睡 "})
    again = post(client, f"{API}/customers/{zhang.pk}/tags", {"name": "沉睡"})
    removed = client.delete(f"{API}/customers/{zhang.pk}/tags/VIP")
    missing = client.delete(f"{API}/customers/{zhang.pk}/tags/VIP")

    assert tags == [{"name": "VIP", "color": "#64748b"}, {"name": "沉睡", "color": "#ff0000"}]
    assert (added.status_code, added.json()) == (201, ["VIP", "沉睡"])
    assert again.json() == ["VIP", "沉睡"]
    assert removed.status_code == 204
    assert (missing.status_code, missing.json()["field"]) == (404, "name")
    assert list(zhang.tags.values_list("name", flat=True)) == ["沉睡"]


def test_removing_a_tag_with_nul_is_404(api_client_as, zhang):
    assert api_client_as("agent").delete(f"{API}/customers/{zhang.pk}/tags/V%00IP").status_code == 404
    assert CustomerTag.objects.filter(customer=zhang).count() == 1


def test_bad_tag_name_is_400(api_client_as, zhang):
    response = post(api_client_as("agent"), f"{API}/customers/{zhang.pk}/tags", {"name": "x" * 33})

    assert (response.status_code, response.json()["field"]) == (400, "tag")


def test_orders_with_lines(api_client_as, zhang):
    shop = ShopFactory.create(name="茶叶旗舰店")
    older = OrderFactory.create(customer=zhang, shop=shop, order_no="A1", ordered_at=datetime(2024, 1, 2, tzinfo=UTC))
    OrderLineFactory.create(
        order=older, line_no=1, title="白茶", quantity=2, unit_price=Decimal("50"), amount=Decimal("100")
    )
    client = api_client_as("manager")

    body = client.get(f"{API}/customers/{zhang.pk}/orders").json()
    page2 = client.get(f"{API}/customers/{zhang.pk}/orders", {"page_size": 1, "page": 2}).json()

    assert body["count"] == 2
    newest, oldest = body["items"]
    assert newest["total_amount"] == "123.45"
    assert newest["receiver_phone"] == RECEIVER_PHONE
    assert newest["receiver_address"] == RECEIVER_ADDRESS
    assert newest["lines"] == [
        {
            "line_no": 1,
            "product_id": None,
            "title": "龙井 250g",
            "sku": "LJ-250",
            "quantity": 1,
            "unit_price": "123.45",
            "amount": "100.00",
            "refund_state": "",
        }
    ]
    assert (oldest["order_no"], oldest["shop"], oldest["lines"][0]["quantity"]) == ("A1", "茶叶旗舰店", 2)
    assert [o["order_no"] for o in page2["items"]] == ["A1"]


def test_orders_run_a_fixed_number_of_queries(api_client_as, zhang, django_assert_num_queries):
    client = api_client_as("agent")
    client.get(f"{API}/me")
    with CaptureQueriesContext(connection) as one:
        client.get(f"{API}/customers/{zhang.pk}/orders")
    for _ in range(4):
        OrderLineFactory.create(order=OrderFactory.create(customer=zhang))

    with django_assert_num_queries(len(one)):
        assert len(client.get(f"{API}/customers/{zhang.pk}/orders").json()["items"]) == 5


# --- masking and audit ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["agent", "marketer"])
def test_masked_roles_never_receive_real_contact_data(api_client_as, zhang, role):
    client = api_client_as(role)
    urls = [
        f"{API}/customers",
        f"{API}/customers?search={PHONE}",
        f"{API}/customers/{zhang.pk}",
        f"{API}/customers/{zhang.pk}/orders",
    ]

    bodies = [client.get(url) for url in urls]

    for response in bodies:
        assert response.status_code == 200
        raw = response.content.decode()
        for secret in (PHONE, EMAIL, STREET, RECEIVER_PHONE, RECEIVER_ADDRESS, "文三路", "zhang@"):
            assert secret not in raw
            assert json.dumps(secret)[1:-1] not in raw
    detail = bodies[2].json()
    assert (detail["phone"], detail["email"], detail["address"]) == (
        "138****5678",
        "z***@example.com",
        "浙江省杭州市****",
    )
    order = bodies[3].json()["items"][0]
    assert (order["receiver_phone"], order["receiver_address"]) == ("139****4321", "浙江省杭州市****")
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.UNMASK).exists()


def test_masked_write_responses_hide_contact_data_too(api_client_as, zhang):
    response = patch(api_client_as("agent"), f"{API}/customers/{zhang.pk}", {"phone": "13711112222"})

    assert "13711112222" not in response.content.decode()
    assert response.json()["phone"] == "137****2222"


def test_address_without_region_is_fully_hidden(api_client_as):
    customer = CustomerFactory.create(address="文三路100号")

    body = api_client_as("agent").get(f"{API}/customers/{customer.pk}").json()

    assert body["address"] == "****"


def test_unmasked_detail_writes_one_audit_entry(api_client_as, zhang):
    client = api_client_as("manager")

    client.get(f"{API}/customers/{zhang.pk}")

    entry = AuditEntry.objects.get(action=AuditEntry.Action.UNMASK)
    assert (entry.actor_name, entry.target_type, entry.target_id) == ("manager-api", "customer", str(zhang.pk))


def test_unmasked_list_writes_one_audit_entry_with_the_ids(api_client_as, zhang):
    other = CustomerFactory.create(name="李四")

    body = api_client_as("owner").get(f"{API}/customers", {"sort": "name"}).json()

    entry = AuditEntry.objects.get(action=AuditEntry.Action.UNMASK)
    assert entry.target_type == "customer_list"
    assert sorted(entry.detail["ids"]) == sorted([zhang.pk, other.pk])
    assert {c["phone"] for c in body["items"]} == {PHONE, ""}


def test_unmasked_orders_write_one_audit_entry(api_client_as, zhang):
    api_client_as("manager").get(f"{API}/customers/{zhang.pk}/orders")

    entry = AuditEntry.objects.get(action=AuditEntry.Action.UNMASK)
    assert (entry.target_type, entry.target_id) == ("customer", str(zhang.pk))
    assert entry.detail["orders"] == [zhang.orders.get().pk]


# --- OpenAPI and docs -----------------------------------------------------------------------------------


def test_openapi_is_public_and_lists_the_endpoints(client):
    schema = client.get(f"{API}/openapi.json").json()

    assert {
        "/api/v1/customers",
        "/api/v1/customers/{customer_id}",
        "/api/v1/customers/{customer_id}/notes",
        "/api/v1/customers/{customer_id}/orders",
        "/api/v1/customers/{customer_id}/tags",
        "/api/v1/customers/{customer_id}/tags/{name}",
        "/api/v1/tags",
    } <= set(schema["paths"])
    params = {p["name"] for p in schema["paths"]["/api/v1/customers"]["get"]["parameters"]}
    assert {"search", "page", "page_size", "tag", "province", "shop", "level", "sort"} <= params


def test_docs_are_served_from_installed_static_files(client):
    html = client.get(f"{API}/docs").content.decode()

    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    assert "http://" not in html
    assert "https://" not in html
    bundle = client.get("/static/ninja/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert b"".join(bundle.streaming_content)[:100]


def test_token_clients_need_no_csrf_token(manager):
    _token, key = token_create(user=manager)
    client = Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {key}"})

    response = post(client, f"{API}/customers", {"name": "王五"})

    assert response.status_code == 201


def test_a_browser_session_is_not_an_api_login(client_as):
    response = client_as("manager").get(f"{API}/customers")

    assert response.status_code == 401
