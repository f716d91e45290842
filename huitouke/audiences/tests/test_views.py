"""Wiring of the segment pages and API: permissions, the htmx builder, saving, the members link."""

from __future__ import annotations

from decimal import Decimal

import pytest

from huitouke.audiences.models import Segment
from huitouke.customers.models import Consent
from huitouke.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customers():
    CustomerFactory.create(name="bigbuyer", total_spent=Decimal("900"), order_count=4)
    CustomerFactory.create(name="tinybuyer", total_spent=Decimal("50"), order_count=1)


def _builder_post(**extra):
    return {
        "name": "大客户",
        "n.op": "and",
        "n.conditions.0.field": "total_spent",
        "n.conditions.0._shown": "total_spent",
        "n.conditions.0.min": "500",
        **extra,
    }


def test_the_builder_counts_live_through_htmx(client_as, customers):
    client = client_as("marketer")
    response = client.post("/segments/new/", _builder_post(), headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.content.decode()
    assert '<strong id="segment-count">1</strong>' in body
    assert "<html" not in body  # only the builder partial


def test_the_builder_shows_the_error_on_the_row(client_as, customers):
    client = client_as("marketer")
    post = _builder_post(**{"n.conditions.0.min": "900", "n.conditions.0.max": "100"})
    body = client.post("/segments/new/", post, headers={"HX-Request": "true"}).content.decode()
    assert "下限高于上限" in body  # the schema's message, in the page's language
    assert 'id="segment-count"' not in body


def test_add_condition_action_adds_a_row(client_as, customers):
    client = client_as("marketer")
    body = client.post("/segments/new/", _builder_post(action="add:"), headers={"HX-Request": "true"}).content.decode()
    assert 'name="n.conditions.1.field"' in body


def test_saving_creates_the_segment_and_its_members_link_filters_the_list(client_as, customers):
    client = client_as("marketer")
    response = client.post("/segments/new/", _builder_post(save="1"))
    segment = Segment.objects.get(name="大客户")
    assert response.status_code == 302
    assert response["Location"] == f"/segments/{segment.pk}/"
    assert segment.last_count == 1
    assert segment.definition["conditions"][0] == {"field": "total_spent", "min": "500"}
    listing = client_as("manager").get(f"/customers/?segment={segment.pk}").content.decode()
    assert "bigbuyer" in listing
    assert "tinybuyer" not in listing


def test_saving_an_incomplete_segment_says_so_and_keeps_the_input(client_as, customers):
    client = client_as("marketer")
    response = client.post("/segments/new/", _builder_post(save="1", **{"n.conditions.0.min": ""}))
    assert response.status_code == 400
    body = response.content.decode()
    assert "请填写下限、上限或两者" in body
    assert 'value="大客户"' in body
    assert not Segment.objects.exists()


def test_duplicate_names_are_refused(client_as, customers):
    client = client_as("marketer")
    client.post("/segments/new/", _builder_post(save="1"))
    response = client.post("/segments/new/", _builder_post(save="1"))
    assert response.status_code == 400
    assert "already exists" in response.content.decode()


def test_agents_can_look_but_not_save(client_as, customers):
    client = client_as("agent")
    assert client.get("/segments/").status_code == 200
    assert client.post("/segments/new/", _builder_post(save="1")).status_code == 403
    assert not Segment.objects.exists()


def test_list_count_and_delete(client_as, customers):
    client = client_as("manager")
    client.post("/segments/new/", _builder_post(save="1"))
    segment = Segment.objects.get()
    assert "大客户" in client.get("/segments/").content.decode()
    assert client.get(f"/segments/{segment.pk}/count/").content.decode() == "1"
    assert client.post(f"/segments/{segment.pk}/delete/").status_code == 302
    assert not Segment.objects.exists()


def test_pages_are_english_too(client_as, customers):
    client = client_as("marketer")
    client.cookies["django_language"] = "en"
    assert "New segment" in client.get("/segments/new/").content.decode()
    client.cookies["django_language"] = "zh-hans"
    assert "新建分群" in client.get("/segments/new/").content.decode()


# ---------------------------------------------------------------------------------------------- API
def test_api_create_read_count_update_delete(api_client_as, customers):
    api = api_client_as("marketer")
    definition = {"conditions": [{"field": "order_count", "min": 2}]}
    created = api.post(
        "/api/v1/segments", {"name": "回头客", "definition": definition}, content_type="application/json"
    )
    assert created.status_code == 201
    body = created.json()
    assert body["last_count"] == 1
    got = api.get(f"/api/v1/segments/{body['id']}").json()
    assert got["count"] == 1
    draft = api.post(
        "/api/v1/segments/count", {"definition": {"op": "or", "conditions": []}}, content_type="application/json"
    )
    assert draft.json() == {"count": 2}
    updated = api.put(
        f"/api/v1/segments/{body['id']}",
        {"name": "回头客", "definition": {"conditions": [{"field": "order_count", "max": 1}]}},
        content_type="application/json",
    )
    assert updated.json()["last_count"] == 1
    assert [s["name"] for s in api.get("/api/v1/segments").json()] == ["回头客"]
    assert api.delete(f"/api/v1/segments/{body['id']}").status_code == 204


def test_api_errors_name_the_condition(api_client_as, customers):
    api = api_client_as("marketer")
    bad = {"name": "x", "definition": {"conditions": [{"field": "total_spent", "min": 9, "max": 1}]}}
    response = api.post("/api/v1/segments", bad, content_type="application/json")
    assert response.status_code == 422
    assert response.json() == {
        "code": "invalid",
        "message": "conditions[0] (total_spent): min must not be greater than max",
        "field": "definition",
    }


def test_api_permissions(api_client_as, customers):
    response = api_client_as("agent").post(
        "/api/v1/segments", {"name": "x", "definition": {}}, content_type="application/json"
    )
    assert response.status_code == 403


# ---------------------------------------------------------------------------------------------- consent group
def test_staff_add_and_remove_a_customer_from_the_group_on_the_360_page(client_as):
    customer = CustomerFactory.create(name="茶友")
    client = client_as("manager")
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert 'id="consent-group"' in page
    assert client.post(f"/segments/consent/{customer.pk}/", {"member": "yes"}).status_code == 302
    assert set(
        Consent.objects.filter(customer=customer, purpose="new_products", granted=True).values_list(
            "channel", flat=True
        )
    ) == {"sms", "email", "im"}
    client.post(f"/segments/consent/{customer.pk}/", {"member": "no"})
    assert not Consent.objects.filter(customer=customer, purpose="new_products", granted=True).exists()
    assert client_as("marketer").post(f"/segments/consent/{customer.pk}/", {"member": "yes"}).status_code == 403


def test_the_customer_joins_and_leaves_on_their_own_page(client):
    from huitouke.audiences.views import preferences_token

    customer = CustomerFactory.create(name="茶友")
    url = f"/preferences/{preferences_token(customer.pk)}/"
    assert "告诉我新品和促销" in client.get(url).content.decode()
    client.post(url, {"member": "yes"})
    assert (
        Consent.objects.filter(customer=customer, purpose="new_products", granted=True, source="customer").count() == 3
    )
    page = client.post(url, {"member": "no"}).content.decode()
    assert "告诉我新品和促销消息" in page
    assert not Consent.objects.filter(customer=customer, purpose="new_products", granted=True).exists()
    assert client.get("/preferences/forged-token/").status_code == 404


def test_api_sets_the_group(api_client_as):
    customer = CustomerFactory.create(name="茶友")
    api = api_client_as("manager")
    response = api.put(
        f"/api/v1/customers/{customer.pk}/consent-groups/new_products",
        {"member": True, "channels": ["sms"]},
        content_type="application/json",
    )
    assert response.json() == {
        "customer": customer.pk,
        "member": True,
        "channels": {"sms": True, "email": None, "im": None},
    }
    bad = api.put(
        f"/api/v1/customers/{customer.pk}/consent-groups/new_products",
        {"member": True, "channels": ["fax"]},
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert bad.json()["field"] == "channels"


def test_the_edit_page_shows_the_count_when_saved_and_counts_now_on_request(client_as, customers):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from huitouke.audiences.selectors import segment_count

    client = client_as("manager")
    client.post("/segments/new/", _builder_post(save="1"))
    segment = Segment.objects.get()
    page = client.get(f"/segments/{segment.pk}/").content.decode()
    assert segment.last_count == segment_count(segment.definition) == 1  # the stored count is the live one
    assert '<strong id="segment-count">1</strong>' in page
    assert 'id="segment-count-now"' in page
    CustomerFactory.create(name="newbig", total_spent=Decimal("800"), order_count=2)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(f"/segments/{segment.pk}/").content.decode()
    assert '<strong id="segment-count">1</strong>' in page  # as saved, and the page says so
    assert "保存分群时" in page or "when the segment was saved" in page
    counted = [q for q in queries.captured_queries if "COUNT(" in q["sql"] and "customers_customer" in q["sql"]]
    assert counted == []  # nobody counted the customers
    now = client.get(f"/segments/{segment.pk}/count/", {"words": "1"}).content.decode()
    assert now.startswith('<strong id="segment-count">2</strong> ')
    assert client.get(f"/segments/{segment.pk}/count/").content.decode() == "2"
    client.post(f"/segments/{segment.pk}/", _builder_post(save="1"))
    assert '<strong id="segment-count">2</strong>' in client.get(f"/segments/{segment.pk}/").content.decode()
