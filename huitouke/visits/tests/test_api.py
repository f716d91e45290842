"""The visits API and CLI as a new user meets them: names, keys, status codes, error shape."""

from __future__ import annotations

import json
from datetime import datetime
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from huitouke.customers.tests.factories import CustomerFactory
from huitouke.visits import services
from huitouke.visits.models import VisitTask

SH = ZoneInfo("Asia/Shanghai")


def _plan_body(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "VIP 回访",
        "trigger": "every_n_days",
        "days": 90,
        "channel": "phone",
        "script": "您好 $name，",
        "questions": [{"text": "Satisfied?", "kind": "rating"}],
        "assignment": "pool",
    }
    body.update(extra)
    return body


@pytest.mark.django_db
def test_create_and_list_plans(shop: Any, api_client_as: Any) -> None:
    client = api_client_as("manager")
    created = client.post("/api/v1/visits/plans", _plan_body(), content_type="application/json")
    assert created.status_code == 201
    body = created.json()
    assert (body["name"], body["trigger"], body["days"], body["shop"]) == ("VIP 回访", "every_n_days", 90, "茶小铺")
    assert body["questions"] == [{"key": "q1", "text": "Satisfied?", "kind": "rating"}]
    listed = client.get("/api/v1/visits/plans").json()
    assert [p["name"] for p in listed] == ["VIP 回访"]
    again = client.post("/api/v1/visits/plans", _plan_body(), content_type="application/json")
    assert (again.status_code, again.json()["code"], again.json()["field"]) == (409, "conflict", "name")


@pytest.mark.django_db
def test_plan_errors_name_the_field(shop: Any, api_client_as: Any) -> None:
    client = api_client_as("manager")
    bad = client.post("/api/v1/visits/plans", _plan_body(days=0), content_type="application/json")
    assert (bad.status_code, bad.json()["field"]) == (400, "days")
    ctrl = client.post("/api/v1/visits/plans", _plan_body(name="a\x00b"), content_type="application/json")
    assert (ctrl.status_code, ctrl.json()["field"]) == (422, "name")
    many = client.post("/api/v1/visits/plans", _plan_body(holidays=["qixi"] * 21), content_type="application/json")
    assert (many.status_code, many.json()["field"]) == (422, "holidays")
    missing = client.post("/api/v1/visits/plans", _plan_body(segment_id=987654), content_type="application/json")
    assert (missing.status_code, missing.json()["field"]) == (400, "segment_id")
    agent = api_client_as("agent")
    assert agent.post("/api/v1/visits/plans", _plan_body(), content_type="application/json").status_code == 403


@pytest.mark.django_db
def test_tasks_list_masks_the_phone_for_agents_and_records_outcome(shop: Any, api_client_as: Any) -> None:
    client = api_client_as("agent")
    me = get_user_model().objects.get(username="agent-api")
    c = CustomerFactory.create(name="李四", phone="13812345678")
    services.visit_plan_create(shop=shop, name="once", trigger="one_off", customer_ids=[c.pk], agent_ids=[me.pk])
    services.visits_plan_run(at=timezone.now())
    task = VisitTask.objects.get()

    page = client.get("/api/v1/visits/tasks?assignee=agent-api&status=due&page=1").json()
    assert page["count"] == 1
    assert page["items"][0]["phone"] == "138****5678"
    assert page["items"][0]["customer"] == "李四"
    assert client.get("/api/v1/visits/tasks?status=done").json()["count"] == 0
    assert client.get("/api/v1/visits/tasks?status=later").status_code in (400, 422)
    missing = client.get("/api/v1/visits/tasks?assignee=nobody")
    assert (missing.status_code, missing.json()["field"]) == (404, "assignee")

    done = client.post(
        f"/api/v1/visits/tasks/{task.pk}/outcome",
        {"outcome": "reached", "satisfaction": 5, "feedback": "all good", "follow_up": None},
        content_type="application/json",
    )
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["satisfaction"]) == ("done", 5)
    twice = client.post(
        f"/api/v1/visits/tasks/{task.pk}/outcome", {"outcome": "reached"}, content_type="application/json"
    )
    assert twice.status_code == 409
    huge = client.post(
        "/api/v1/visits/tasks/99999999999999999999/outcome", {"outcome": "reached"}, content_type="application/json"
    )
    assert huge.status_code in (400, 404, 422)
    gone = client.post("/api/v1/visits/tasks/999999/outcome", {"outcome": "reached"}, content_type="application/json")
    assert gone.status_code == 404


@pytest.mark.django_db
def test_command_prints_per_plan_json_and_is_exactly_once(shop: Any, agent: Any) -> None:
    customers = [CustomerFactory.create(phone=f"1380000{i:04d}") for i in range(3)]
    services.visit_plan_create(
        shop=shop, name="once", trigger="one_off", customer_ids=[c.pk for c in customers], agent_ids=[agent.pk]
    )
    at = datetime(2026, 5, 17, 10, 0, tzinfo=SH).isoformat()
    out = StringIO()
    call_command("visits_plan", "--at", at, "--dry-run", "--json", stdout=out)
    assert json.loads(out.getvalue())["plans"] == [{"plan": "once", "created": 3, "skipped": {}}]
    assert VisitTask.objects.count() == 0
    for expected in (3, 0):
        out = StringIO()
        call_command("visits_plan", "--at", at, "--json", stdout=out)
        assert json.loads(out.getvalue())["plans"] == [{"plan": "once", "created": expected, "skipped": {}}]
    out = StringIO()
    call_command("visits_plan", "--at", at, stdout=out)
    assert "once: created 0, skipped: none" in out.getvalue()


def test_the_worker_runs_the_plans_hourly() -> None:
    from huitouke import jobs

    task = jobs.visits_plan_hourly.task_class()
    assert task.validate_datetime(datetime(2026, 5, 17, 10, 7)) is True
    assert task.validate_datetime(datetime(2026, 5, 17, 10, 8)) is False


@pytest.mark.django_db
def test_a_broken_plan_does_not_stop_the_others_and_the_command_says_so(shop: Any, agent: Any) -> None:
    from django.core.management.base import CommandError

    from huitouke.audiences.models import Segment

    c = CustomerFactory.create(phone="13800000001")
    segment = Segment.objects.create(name="浙江", definition={"conditions": [{"field": "region", "provinces": ["x"]}]})
    services.visit_plan_create(shop=shop, name="A 坏", trigger="one_off", segment_id=segment.pk, assignment="pool")
    services.visit_plan_create(shop=shop, name="B 好", trigger="one_off", customer_ids=[c.pk], assignment="pool")
    Segment.objects.filter(pk=segment.pk).update(definition={"conditions": [{"field": "gone"}]})
    out = StringIO()

    with pytest.raises(CommandError, match=r"1 plan\(s\) could not run; A 坏: conditions\[0\]"):
        call_command("visits_plan", "--json", stdout=out)

    plans = json.loads(out.getvalue())["plans"]
    assert [(p["plan"], p["created"], "error" in p) for p in plans] == [("A 坏", 0, True), ("B 好", 1, False)]
    assert VisitTask.objects.get().customer_id == c.pk
