"""The visits pages and API as each role: an agent never gets the customer's contact data in clear (phone,
a handle that is an email or a phone), except through the audited reveal; a manager gets it, and every page
that shows it leaves one audit entry naming the customer."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from huitouke.core.models import AuditEntry
from huitouke.customers.tests.factories import CustomerFactory, IdentityFactory
from huitouke.visits import services
from huitouke.visits.models import VisitTask

PHONE, EMAIL = "13601230792", "hwilson@yahoo.com"
SECRETS = (PHONE, "hwilson", "0123079")


@pytest.fixture
def visit(shop: Any) -> tuple[VisitTask, Any]:
    customer = CustomerFactory.create(name="王先生", phone=PHONE, email=EMAIL)
    IdentityFactory.create(customer=customer, platform="shopify", handle=EMAIL)
    IdentityFactory.create(customer=customer, platform="pdd", handle=PHONE)
    services.visit_plan_create(shop=shop, name="回访", trigger="one_off", customer_ids=[customer.pk], assignment="pool")
    services.visits_plan_run(at=timezone.now())
    return VisitTask.objects.get(), customer


def _answers(client: Any, task: VisitTask) -> dict[str, str]:
    return {
        "queue": client.get("/visits/").content.decode(),
        "task": client.get(f"/visits/tasks/{task.pk}/").content.decode(),
        "api": client.get("/api/v1/visits/tasks").content.decode(),
    }


@pytest.mark.django_db
def test_an_agent_sees_no_contact_data_and_nothing_is_audited(visit: Any, client_as: Any, make_user: Any) -> None:
    from huitouke.core.services import token_create

    task, _customer = visit
    client = client_as("agent")
    agent = get_user_model().objects.get(username="agent-client")
    _token, key = token_create(user=agent, name="t")
    pages = _answers(client, task)
    pages["api"] = client.get("/api/v1/visits/tasks", HTTP_AUTHORIZATION=f"Bearer {key}").content.decode()
    pages["outcome"] = client.post(
        f"/api/v1/visits/tasks/{task.pk}/outcome",
        {"outcome": "no_answer"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    ).content.decode()

    leaks = {(name, secret) for name, body in pages.items() for secret in SECRETS if secret in body}
    assert leaks == set()
    assert "136****0792" in pages["queue"]
    assert '"items": [{' in pages["api"]
    assert not AuditEntry.objects.filter(action="unmask").exists()


@pytest.mark.django_db
def test_a_manager_sees_contact_data_and_each_page_is_audited(visit: Any, client_as: Any) -> None:
    task, customer = visit
    client = client_as("manager")

    pages = _answers(client, task)

    assert PHONE in pages["queue"]  # the pool's tasks are in every worker's queue
    assert PHONE in pages["task"]
    assert EMAIL in pages["task"]
    entries = list(AuditEntry.objects.filter(action="unmask").order_by("id"))
    assert [(e.target_type, e.target_id, e.detail.get("page")) for e in entries[:2]] == [
        ("customer", str(customer.pk), "visits:queue"),
        ("customer", str(customer.pk), "visits:task"),
    ]
