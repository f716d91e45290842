"""The reviews and credit API as a script uses it: exact keys and figures, statuses, roles, masking, errors."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from huitouke.orders.models import Order
from huitouke.reviews.models import CreditSettings, Review
from huitouke.reviews.tests.fixtures import GOLDEN, golden_archive

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("review_clock")]

REVIEW_KEYS = {
    "id",
    "shop",
    "order_no",
    "item_id",
    "item_title",
    "customer_id",
    "nick",
    "role",
    "result",
    "content",
    "created_at",
    "anonymous",
    "is_default",
    "reply",
    "scores",
    "not_scored_reason",
    "points",
    "case_outcome",
}


def post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def put(client, url, body):
    return client.put(url, json.dumps(body), content_type="application/json")


@pytest.fixture
def archive():
    shop, orders = golden_archive()
    call_command("import_reviews", str(GOLDEN / "traderate_gb18030.csv"), stdout=StringIO())
    Order.objects.filter(pk=orders[4].pk).update(status=Order.Status.CLOSED)
    return shop, orders


def test_post_creates_then_updates(archive, api_client_as):
    _shop, orders = archive
    agent = api_client_as("agent")
    body = {
        "shop": "店A",
        "order_no": orders[4].order_no,
        "role": "buyer",
        "result": "bad",
        "content": "没收到",
        "created_at": "2025-06-24T10:00:00+08:00",
    }
    first = post(agent, "/api/v1/reviews", body)
    assert first.status_code == 201
    data = first.json()
    assert set(data) == REVIEW_KEYS
    assert (data["order_no"], data["result"], data["content"], data["anonymous"], data["case_outcome"]) == (
        orders[4].order_no,
        "bad",
        "没收到",
        False,
        "open",
    )
    again = post(agent, "/api/v1/reviews", {**body, "result": "good", "anonymous": True})
    assert again.status_code == 200
    assert (again.json()["id"], again.json()["result"], again.json()["anonymous"]) == (data["id"], "good", True)
    assert Review.objects.filter(tid=orders[4].order_no).count() == 1


def test_post_by_item_updates_the_imported_review_and_its_points_at_once(archive, api_client_as):
    _shop, orders = archive
    manager = api_client_as("manager")
    imported = Review.objects.get(tid=orders[0].order_no, role="buyer")
    assert (imported.oid, imported.num_iid, imported.scores, imported.points) == ("9001000000000101", "6001", True, 1)
    body = {
        "shop": "店A",
        "order_no": orders[0].order_no,
        "item_id": "6001",
        "role": "buyer",
        "result": "bad",
        "created_at": "2025-06-20T10:00:00+08:00",
    }
    answer = post(manager, "/api/v1/reviews", body)
    assert answer.status_code == 200
    data = answer.json()
    assert (data["id"], data["result"], data["scores"], data["points"]) == (imported.pk, "bad", True, -1)
    neutral = post(manager, "/api/v1/reviews", {**body, "result": "neutral"}).json()
    assert (neutral["id"], neutral["scores"], neutral["points"]) == (imported.pk, True, 0)
    scored = manager.get("/api/v1/reviews?scored=true&result=neutral").json()
    dan = Review.objects.get(tid=orders[3].order_no, role="buyer")  # dan's 中评 scores 0 too
    assert sorted(r["id"] for r in scored["items"]) == sorted([imported.pk, dan.pk])
    unknown = post(manager, "/api/v1/reviews", {**body, "item_id": "9999"})
    assert unknown.status_code == 404
    assert (unknown.json()["code"], unknown.json()["field"]) == ("not_found", "item_id")
    assert Review.objects.filter(tid=orders[0].order_no).count() == 1


@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [
        ({"order_no": "404"}, 404, "not_found", "order_no"),
        ({"shop": "nope"}, 404, "not_found", "shop"),
        ({"role": "owner"}, 422, "invalid", "role"),
        ({"result": "great"}, 422, "invalid", "result"),
        ({"created_at": "2025-06-24T10:00:00"}, 400, "invalid", "created_at"),
    ],
)
def test_post_errors_name_the_field(archive, api_client_as, change, status, code, field):
    _shop, orders = archive
    body = {"shop": "店A", "order_no": orders[4].order_no, "role": "buyer", "result": "bad", "created_at": "2025-06-24"}
    body["created_at"] = "2025-06-24T10:00:00+08:00"
    answer = post(api_client_as("manager"), "/api/v1/reviews", {**body, **change})
    assert answer.status_code == status
    assert (answer.json()["code"], answer.json().get("field")) == (code, field)


def test_marketer_may_read_but_not_write(archive, api_client_as):
    marketer = api_client_as("marketer")
    assert marketer.get("/api/v1/reviews").status_code == 200
    answer = post(marketer, "/api/v1/reviews", {"shop": "店A"})
    assert answer.status_code in (403, 422)


def test_list_filters_and_masks_contact_data_in_nicks(archive, api_client_as):
    Review.objects.filter(nick="tb_bob").update(nick="13812345678")
    call_command("credit", "--shop", "店A", stdout=StringIO())
    agent = api_client_as("agent")
    bad = agent.get("/api/v1/reviews?result=bad").json()
    assert bad["count"] == 1
    assert bad["items"][0]["nick"] != "13812345678"
    assert "5678" in bad["items"][0]["nick"]
    manager = api_client_as("manager")
    assert manager.get("/api/v1/reviews?result=bad").json()["items"][0]["nick"] == "13812345678"
    from huitouke.core.models import AuditEntry

    assert list(AuditEntry.objects.filter(action="unmask").values_list("actor_name", "action", "target_type")) == [
        ("manager-api", "unmask", "reviews")
    ]
    scored = agent.get("/api/v1/reviews?scored=true").json()
    assert scored["count"] == 3
    not_scored = agent.get("/api/v1/reviews?scored=false").json()
    assert [(r["role"], r["not_scored_reason"]) for r in not_scored["items"]] == [("seller", "rates_buyer")]


def test_credit_exact_object_and_settings(archive, api_client_as):
    _shop, orders = archive
    manager = api_client_as("manager")
    post(
        manager,
        "/api/v1/reviews",
        {
            "shop": "店A",
            "order_no": orders[4].order_no,
            "role": "buyer",
            "result": "good",
            "created_at": "2025-06-24T10:00:00+08:00",
        },
    )
    answer = manager.get("/api/v1/credit?shop=店A&at=2025-09-01")
    assert answer.status_code == 200
    # good +1, bad −1, neutral 0, the default good of the order the shop rated alone (due 45 days later) +1;
    # the closed order's good rating does not score
    assert answer.json() == {
        "preset": "course",
        "score": 1,
        "level": {"index": 0, "name": ""},
        "next_level_at": 4,
        "reviews": 5,
        "scored": 4,
        "not_scored": {"not_paid_or_not_successful": 1},
    }
    early = manager.get("/api/v1/credit?shop=店A&at=2025-06-25").json()
    assert (early["score"], early["reviews"]) == (0, 4)
    settings = {
        "preset": "taobao",
        "rating_period_days": 15,
        "default_good_after_days": 15,
        "monthly_cap": 6,
        "same_item_days": 14,
    }
    done = put(manager, "/api/v1/credit/settings?shop=店A", settings)
    assert done.status_code == 200
    assert done.json() == {"shop": "店A", **settings, "tmall": False, "alert_email": "", "alert_robot_url": ""}
    assert CreditSettings.objects.get().preset == "taobao"
    tmall = put(manager, "/api/v1/credit/settings?shop=店A", {**settings, "tmall": True}).json()
    assert tmall["tmall"] is True
    assert manager.get("/api/v1/credit?shop=店A&at=2025-09-01").json()["not_scored"] == {"tmall_no_credit": 4}
    assert put(manager, "/api/v1/credit/settings?shop=店A", {**settings, "tmall": False}).json()["tmall"] is False
    assert manager.get("/api/v1/credit?shop=店A&at=2025-09-01").json()["preset"] == "taobao"
    bad = put(manager, "/api/v1/credit/settings?shop=店A", {**settings, "monthly_cap": 0})
    assert (bad.status_code, bad.json()["field"]) == (422, "monthly_cap")
    assert put(api_client_as("agent"), "/api/v1/credit/settings?shop=店A", settings).status_code == 403


def test_credit_command_prints_the_same_object(archive, api_client_as):
    out = StringIO()
    call_command("credit", "--shop", "店A", "--at", "2025-09-01", "--json", stdout=out)
    api = api_client_as("manager").get("/api/v1/credit?shop=店A&at=2025-09-01").json()
    assert json.loads(out.getvalue()) == api
