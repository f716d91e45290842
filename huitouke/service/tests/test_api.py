"""The service API as a script would use it: exact keys and values, roles, errors with their field."""

from __future__ import annotations

import json

import pytest
from freezegun import freeze_time

from huitouke.service.models import Compensation, Ticket
from huitouke.service.tests.conftest import sh

pytestmark = pytest.mark.django_db

TICKET_KEYS = {
    "id",
    "number",
    "status",
    "type",
    "channel",
    "priority",
    "customer_id",
    "order_no",
    "owner",
    "first_owner",
    "sla",
    "steps",
    "created_at",
    "updated_at",
    # beyond the list: what a script needs to show a ticket
    "shop",
    "subject",
    "description",
    "tags",
    # the customer's satisfaction answer (issue 16; null before an answer)
    "csat",
}


def post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


@pytest.fixture
def api_agent(api_client_as):
    return api_client_as("agent")


def test_create_read_and_work_a_ticket(api_agent, api_client_as, shop, customer, order, no_wake):
    with freeze_time(sh(2026, 3, 2, 10, 0)):
        r = post(
            api_agent,
            "/api/v1/tickets",
            {
                "customer_id": customer.pk,
                "order_no": "T100",
                "type": "dispute",
                "channel": "platform",
                "priority": "high",
                "subject": "买家申请维权",
                "description": "说收到的茶叶包装破损",
            },
        )
    assert r.status_code == 201, r.content
    body = r.json()
    assert set(body) == TICKET_KEYS
    assert set(body["sla"]) == {
        "policy",
        "first_response_due",
        "next_response_due",
        "resolution_due",
        "paused",
        "breaches",
    }
    assert body["number"] == 1
    assert (body["status"], body["type"], body["channel"], body["priority"]) == ("new", "dispute", "platform", "high")
    assert (body["customer_id"], body["order_no"], body["owner"], body["first_owner"]) == (
        customer.pk,
        "T100",
        None,
        None,
    )
    assert body["sla"] == {
        "policy": "Standard",
        "first_response_due": "2026-03-02T11:00:00+08:00",
        "next_response_due": None,
        "resolution_due": "2026-03-05T10:00:00+08:00",
        "paused": False,
        "breaches": [],
    }
    assert body["created_at"] == "2026-03-02T10:00:00+08:00"
    assert [s["key"] for s in body["steps"]] == [
        "respond",
        "welcome",
        "listen",
        "reassure",
        "apologise",
        "remedy",
        "inform",
    ]
    assert set(body["steps"][0]) == {"key", "label", "done_at", "done_by"}
    tid = body["id"]

    with freeze_time(sh(2026, 3, 2, 10, 10)):
        taken = post(api_agent, f"/api/v1/tickets/{tid}/take", {}).json()
    assert (taken["status"], taken["owner"], taken["first_owner"]) == ("open", "agent-api", "agent-api")

    with freeze_time(sh(2026, 3, 2, 10, 15)):
        r = post(api_agent, f"/api/v1/tickets/{tid}/replies", {"body": "您好，我们马上核实", "internal": False})
    assert r.status_code == 201
    reply = r.json()
    assert (reply["kind"], reply["channel"], reply["internal"], reply["author"]) == (
        "public",
        "manual",
        False,
        "agent-api",
    )
    assert reply["message_id"] is not None
    note = post(api_agent, f"/api/v1/tickets/{tid}/replies", {"body": "仓库说是快递压坏的", "internal": True}).json()
    assert (note["kind"], note["message_id"]) == ("internal", None)

    with freeze_time(sh(2026, 3, 2, 10, 20)):
        ticked = post(api_agent, f"/api/v1/tickets/{tid}/steps/respond", {}).json()
    step = ticked["steps"][0]
    assert (step["key"], step["done_at"], step["done_by"]) == ("respond", "2026-03-02T10:20:00+08:00", "agent-api")

    refused = post(api_agent, f"/api/v1/tickets/{tid}/status", {"status": "resolved"})
    assert refused.status_code == 409
    assert refused.json()["field"] == "note"
    assert refused.json()["code"] == "conflict"

    listed = api_agent.get("/api/v1/tickets", {"status": "open", "owner": "agent-api", "breached": "false"}).json()
    assert listed["count"] == 1
    assert [t["id"] for t in listed["items"]] == [tid]
    assert api_agent.get("/api/v1/tickets", {"breached": "true"}).json() == {"items": [], "count": 0}
    assert api_agent.get("/api/v1/tickets", {"type": "inquiry"}).json()["count"] == 0

    patched = api_agent.patch(
        f"/api/v1/tickets/{tid}", json.dumps({"priority": "urgent", "tags": ["破损"]}), content_type="application/json"
    ).json()
    assert (patched["priority"], patched["tags"], patched["sla"]["policy"]) == ("urgent", ["破损"], "Urgent")


def test_transfer_needs_a_known_staff_member_and_keeps_the_first_owner(api_agent, agent2, shop, customer, no_wake):
    t = post(
        api_agent,
        "/api/v1/tickets",
        {"customer_id": customer.pk, "shop": shop.name, "type": "inquiry", "channel": "phone", "subject": "发票"},
    ).json()
    post(api_agent, f"/api/v1/tickets/{t['id']}/take", {})
    bad = post(api_agent, f"/api/v1/tickets/{t['id']}/transfer", {"to": "nobody", "note": "x"})
    assert (bad.status_code, bad.json()["field"]) == (400, "to")
    empty = post(api_agent, f"/api/v1/tickets/{t['id']}/transfer", {"to": "agent2", "note": "  "})
    assert (empty.status_code, empty.json()["field"]) == (400, "note")
    moved = post(api_agent, f"/api/v1/tickets/{t['id']}/transfer", {"to": "agent2", "note": "他懂发票"}).json()
    assert (moved["owner"], moved["first_owner"]) == ("agent2", "agent-api")
    # the first owner still sees it among their follow-ups
    mine = api_agent.get("/api/v1/tickets", {"queue": "follow_ups"}).json()
    assert [x["id"] for x in mine["items"]] == [t["id"]]
    assert api_agent.get("/api/v1/tickets", {"queue": "mine"}).json()["count"] == 0


def test_errors_name_the_field(api_agent, shop, customer, order):
    cases = [
        ({"customer_id": 999999, "type": "refund", "channel": "sms", "subject": "x"}, 404, "customer_id"),
        (
            {"customer_id": customer.pk, "type": "nope", "channel": "sms", "subject": "x", "shop": shop.name},
            400,
            "type",
        ),
        (
            {"customer_id": customer.pk, "type": "refund", "channel": "sms", "subject": " ", "shop": shop.name},
            400,
            "subject",
        ),
        (
            {"customer_id": customer.pk, "type": "refund", "channel": "sms", "subject": "x", "order_no": "NOPE"},
            400,
            "order_no",
        ),
        (
            {"customer_id": customer.pk, "type": "refund", "channel": "sms", "subject": "x", "shop": "无此店"},
            404,
            "shop",
        ),
        ({"customer_id": 0, "type": "refund", "channel": "sms", "subject": "x"}, 422, "customer_id"),
    ]
    for body, status, field in cases:
        r = post(api_agent, "/api/v1/tickets", body)
        assert (r.status_code, r.json().get("field")) == (status, field), (body, r.content)
    assert Ticket.objects.count() == 0
    assert api_agent.get("/api/v1/tickets/123456").status_code == 404
    assert api_agent.get("/api/v1/tickets", {"status": "bogus"}).json()["field"] == "status"


def test_roles(api_client_as, api_agent, shop, customer, no_wake):
    marketer = api_client_as("marketer")
    assert marketer.get("/api/v1/tickets").status_code == 403
    cal = {
        "timezone": "Asia/Shanghai",
        "periods": ["09:00-12:00", "13:00-21:00"],
        "weekdays": [1, 2, 3, 4, 5, 6, 7],
        "public_holidays": None,
        "days_off": ["2026-02-17"],
        "workdays": [],
    }
    assert (
        api_agent.put("/api/v1/service/calendar", json.dumps(cal), content_type="application/json").status_code == 403
    )
    manager = api_client_as("manager")
    r = manager.put(f"/api/v1/service/calendar?shop={shop.name}", json.dumps(cal), content_type="application/json")
    assert (r.status_code, r.json()) == (200, cal)
    assert api_agent.get("/api/v1/service/calendar", {"shop": shop.name}).json() == cal
    bad = manager.put(
        "/api/v1/service/calendar", json.dumps({**cal, "periods": ["12:00-09:00"]}), content_type="application/json"
    )
    assert (bad.status_code, bad.json()["field"]) == (400, "periods[0]")


def test_sla_policies_crud(api_client_as, shop):
    manager = api_client_as("manager")
    policy = {
        "name": "VIP 加急",
        "position": 5,
        "types": ["complaint"],
        "priorities": [],
        "channels": [],
        "levels": ["金卡"],
        "first_response_minutes": 10,
        "next_response_minutes": 20,
        "resolution_minutes": 240,
    }
    r = post(manager, "/api/v1/service/sla-policies", {**policy, "shop": shop.name})
    assert r.status_code == 201
    made = r.json()
    assert made == {**policy, "id": made["id"], "shop": shop.name}
    names = [p["name"] for p in manager.get("/api/v1/service/sla-policies", {"shop": shop.name}).json()]
    assert names == ["VIP 加急", "Urgent", "Standard"]
    changed = manager.put(
        f"/api/v1/service/sla-policies/{made['id']}",
        json.dumps({**policy, "resolution_minutes": 300}),
        content_type="application/json",
    ).json()
    assert changed["resolution_minutes"] == 300
    bad = post(manager, "/api/v1/service/sla-policies", {**policy, "types": ["bogus"]})
    assert (bad.status_code, bad.json()["field"]) == (400, "types")
    too_long = post(manager, "/api/v1/service/sla-policies", {**policy, "first_response_minutes": 10**9})
    assert (too_long.status_code, too_long.json()["field"]) == (422, "first_response_minutes")
    assert manager.delete(f"/api/v1/service/sla-policies/{made['id']}").status_code == 204
    assert manager.delete(f"/api/v1/service/sla-policies/{made['id']}").status_code == 404


def test_compensation_limit_and_approval(api_client_as, api_agent, shop, customer, order, no_wake):
    t = post(
        api_agent,
        "/api/v1/tickets",
        {"customer_id": customer.pk, "order_no": "T100", "type": "quality", "channel": "wangwang", "subject": "破损"},
    ).json()
    small = post(
        api_agent,
        f"/api/v1/tickets/{t['id']}/compensations",
        {"kind": "coupon", "amount": "20", "cost": "20", "note": "下次用"},
    )
    assert small.status_code == 201
    assert (small.json()["status"], small.json()["approved_by"]) == ("approved", "agent-api")
    big = post(
        api_agent,
        f"/api/v1/tickets/{t['id']}/compensations",
        {"kind": "partial_refund", "amount": "80.00", "cost": "80.00", "note": "", "order_line": 1},
    ).json()
    assert (big["status"], big["approved_by"], big["order_line"]) == ("pending_approval", None, 1)
    assert api_agent.post(f"/api/v1/compensations/{big['id']}/approve").status_code == 403
    manager = api_client_as("manager")
    ok = manager.post(f"/api/v1/compensations/{big['id']}/approve").json()
    assert (ok["status"], ok["approved_by"]) == ("approved", "manager-api")
    again = manager.post(f"/api/v1/compensations/{big['id']}/approve")
    assert again.status_code == 409
    assert Compensation.objects.filter(ticket_id=t["id"], status="approved").count() == 2


def test_managers_assign_in_bulk(api_client_as, api_agent, agent2, shop, customer):
    ids = [
        post(
            api_agent,
            "/api/v1/tickets",
            {"customer_id": customer.pk, "shop": shop.name, "type": "inquiry", "channel": "phone", "subject": f"问{i}"},
        ).json()["id"]
        for i in range(3)
    ]
    assert post(api_agent, "/api/v1/tickets/assign", {"ids": ids, "to": "agent2"}).status_code == 403
    manager = api_client_as("manager")
    assert post(manager, "/api/v1/tickets/assign", {"ids": ids, "to": "agent2"}).json() == {"assigned": 3}
    assert post(manager, "/api/v1/tickets/assign", {"ids": ids, "to": "agent2"}).json() == {"assigned": 0}
    owners = {t["owner"] for t in api_agent.get("/api/v1/tickets", {"owner": "agent2"}).json()["items"]}
    assert owners == {"agent2"}
    assert post(manager, "/api/v1/tickets/assign", {"ids": [], "to": "agent2"}).status_code == 422
