"""SMS questionnaires: the run queues one message per new task with a signed link; the public page records the
answers as the visit's outcome once, with CSRF, a rate limit and one answer for every unknown link."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from huitouke.customers.models import Consent
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.messaging.models import Message
from huitouke.visits import questionnaire, services
from huitouke.visits.models import VisitTask

QUESTIONS = [
    {"key": "taste", "text": "How does the tea taste?", "kind": "rating"},
    {"key": "again", "text": "Would you buy it again?", "kind": "choice", "choices": ["yes", "no"]},
]


def _sms_plan(shop: Any, customers: list[Any], **extra: Any) -> Any:
    values: dict[str, Any] = {
        "name": "短信回访",
        "trigger": "one_off",
        "customer_ids": [c.pk for c in customers],
        "channel": "sms_questionnaire",
        "assignment": "pool",
        "questions": QUESTIONS,
    }
    values.update(extra)
    return services.visit_plan_create(shop=shop, **values)


def _sent(shop: Any, days_ago: int = 0) -> VisitTask:
    """One customer's questionnaire task, created (and its SMS queued) `days_ago` days ago."""
    _sms_plan(shop, [CustomerFactory.create(phone="13800000001")])
    services.visits_plan_run(at=timezone.now() - timedelta(days=days_ago))
    return VisitTask.objects.get()


def _link(task: VisitTask) -> str:
    return f"/visits/q/{questionnaire.questionnaire_token(task.pk)}/"


@pytest.mark.django_db
def test_a_questionnaire_plan_queues_one_sms_per_task_once_and_falls_due_when_the_link_runs_out(shop: Any) -> None:
    a = CustomerFactory.create(phone="13800000001")
    b = CustomerFactory.create(phone="13800000002")
    _sms_plan(shop, [a, b])
    now = timezone.now().replace(microsecond=0)

    (first,) = services.visits_plan_run(at=now)
    (again,) = services.visits_plan_run(at=now + timedelta(hours=1))

    assert (first.created, again.created) == (2, 0)
    tasks = list(VisitTask.objects.order_by("customer_id"))
    assert [t.due_at for t in tasks] == [now + timedelta(days=7)] * 2
    messages = list(Message.objects.order_by("customer_id"))
    assert [(m.customer_id, m.channel, m.purpose, m.source_kind) for m in messages] == [
        (a.pk, "sms", "care", "visit"),
        (b.pk, "sms", "care", "visit"),
    ]
    assert [m.idempotency_key for m in messages] == [f"visit:questionnaire:{t.pk}" for t in tasks]
    assert _link(tasks[0]) in messages[0].body
    assert messages[0].deadline == now + timedelta(days=7)


@pytest.mark.django_db
def test_answering_records_the_visit_once_with_its_effects(shop: Any) -> None:
    task = _sent(shop)
    client = Client()

    page = client.get(_link(task))
    assert page.status_code == 200
    assert "How does the tea taste?" in page.content.decode()
    bad = client.post(_link(task), {"satisfaction": "9", "answer_taste": "4"})
    assert bad.status_code == 400
    task.refresh_from_db()
    assert task.status == "due"
    wrong = client.post(_link(task), {"satisfaction": "4", "answer_again": "maybe"})
    assert wrong.status_code == 400
    superscript = client.post(_link(task), {"satisfaction": "²", "answer_taste": "²"})
    assert superscript.status_code == 400
    done = client.post(
        _link(task),
        {"satisfaction": "4", "answer_taste": "5", "answer_again": "yes", "feedback": "好喝"}
        | {"new_products_opt_in": "1"},
    )
    assert done.status_code == 200
    assert 'id="thanks"' in done.content.decode()
    task.refresh_from_db()
    assert (task.status, task.outcome, task.satisfaction, task.answers, task.feedback, task.done_by_id) == (
        "done",
        "reached",
        4,
        {"taste": 5, "again": "yes"},
        "好喝",
        None,
    )
    assert task.new_products_opt_in is True
    assert Consent.objects.filter(customer=task.customer, purpose="new_products", granted=True).count() == 3
    task.customer.refresh_from_db()
    assert task.customer.last_contacted_at == task.done_at

    second = client.post(_link(task), {"satisfaction": "1", "feedback": "changed my mind"})
    task.refresh_from_db()
    assert (second.status_code, task.satisfaction, task.feedback) == (200, 4, "好喝")


@pytest.mark.django_db
def test_unknown_forged_and_other_plans_links_get_the_same_page(shop: Any, agent: Any) -> None:
    c = CustomerFactory.create(phone="13800000001")
    services.visit_plan_create(shop=shop, name="电话", trigger="one_off", customer_ids=[c.pk], agent_ids=[agent.pk])
    services.visits_plan_run(at=timezone.now())
    phone_task = VisitTask.objects.get()
    client = Client()

    answers = [
        client.get(_link(phone_task)),
        client.get(f"/visits/q/{questionnaire.questionnaire_token(99999)}/"),
        client.get("/visits/q/1.AAAAAAAAAAAA/"),
        client.get("/visits/q/" + "x" * 300 + "/"),
    ]

    assert [r.status_code for r in answers] == [404, 404, 404, 404]
    bodies = {r.content.decode().split('id="questionnaire"')[1] for r in answers}
    assert len(bodies) == 1


@pytest.mark.django_db
def test_an_expired_or_cancelled_link_is_closed(shop: Any, make_user: Any) -> None:
    task = _sent(shop, days_ago=8)

    page = Client().post(_link(task), {"satisfaction": "5"})

    task.refresh_from_db()
    assert (page.status_code, task.status) == (410, "due")
    assert task.due_at < timezone.now()  # the agent's turn now: the link ran out unanswered
    agent = make_user("agent", "kefu")
    client = Client()
    client.force_login(agent)
    assert 'id="questionnaire-note"' in client.get(f"/visits/tasks/{task.pk}/").content.decode()


@pytest.mark.django_db
def test_the_form_needs_csrf_and_the_page_is_rate_limited(shop: Any) -> None:
    task = _sent(shop)

    forged = Client(enforce_csrf_checks=True).post(_link(task), {"satisfaction": "5"})
    assert forged.status_code == 403
    client = Client()
    codes = [client.post(_link(task), {"satisfaction": "x"}).status_code for _ in range(12)]
    assert codes[:10] == [400] * 10
    assert codes[10:] == [429, 429]
    task.refresh_from_db()
    assert task.status == "due"


@pytest.mark.django_db
def test_one_questionnaire_takes_few_answers_from_many_addresses(shop: Any) -> None:
    task = _sent(shop)

    codes = [
        Client(REMOTE_ADDR=f"10.0.0.{i}").post(_link(task), {"satisfaction": "x"}).status_code for i in range(1, 13)
    ]

    assert codes == [400] * 10 + [429, 429]


@pytest.mark.django_db
def test_a_customer_who_opted_out_meets_a_closed_questionnaire(shop: Any) -> None:
    task = _sent(shop)
    services.visit_opt_out(customer=task.customer, source="phone")

    page = Client().post(_link(task), {"satisfaction": "5"})

    task.refresh_from_db()
    assert (page.status_code, task.status, task.satisfaction) == (410, "cancelled", None)
