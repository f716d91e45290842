"""The ticket list export (service/exports.py through core.exports): the queue view and filters as shown, labels and
local times, masking, the audit entry, the background job past the inline limit; and the queue's keyset pages."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from huitouke.core.models import AuditEntry, Job
from huitouke.service import services
from huitouke.service.models import Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_wake")]

EXPORT = reverse("service:export")
HEADER = [
    "Number", "Shop", "Subject", "Type", "Channel", "Priority", "Status", "SLA", "Customer ID", "Customer", "Phone",
    "Order", "Handled by", "Created", "Next due", "Resolved", "Closed",
]  # fmt: skip


def login(make_user: Any, role: str) -> Client:
    c = Client()
    c.force_login(make_user(role, username=f"{role}-x"))
    c.cookies["django_language"] = "en"
    return c


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def user_with(*perms: str) -> User:
    user = User.objects.create_user("exporter", password="pass-word-123")
    for name in perms:
        app, codename = name.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def tickets(shop: Any, customer: Any, order: Any) -> dict[str, Ticket]:
    """Two tickets at known times (UTC; the shop's Shanghai time is 8 hours ahead), with known SLA figures."""
    damp = services.ticket_create(
        customer=customer, type="quality", channel="wangwang", subject="茶叶受潮", shop=shop, order=order,
        priority="high", created_at=datetime(2025, 5, 1, 2, 0, tzinfo=UTC),
    )  # fmt: skip
    late = services.ticket_create(
        customer=customer, type="logistics", channel="phone", subject="+没收到", shop=shop,
        created_at=datetime(2025, 5, 2, 3, 0, tzinfo=UTC),
    )  # fmt: skip
    Ticket.objects.filter(pk=damp.pk).update(sla_state="ok", sla_due=datetime(2025, 5, 1, 6, 0, tzinfo=UTC))
    Ticket.objects.filter(pk=late.pk).update(sla_state="breached", sla_due=None)
    return {"damp": Ticket.objects.get(pk=damp.pk), "late": Ticket.objects.get(pk=late.pk)}


def test_csv_export_is_the_filtered_view_with_labels_and_local_times(make_user, tickets, customer):
    response = login(make_user, "manager").get(EXPORT, {"queue": "all", "format": "csv"})

    assert response.status_code == 200
    rows = read_csv(body(response))
    assert rows[0] == HEADER
    damp, late = tickets["damp"], tickets["late"]
    assert rows[1:] == [
        [str(late.number), "茶小铺", "'+没收到", "Delivery problem (delay, damage, lost)", "Phone call",
         "Normal", "New ticket", "Breached", str(customer.pk),
         "王小二", "13800000001", "", "", "2025-05-02 11:00", "", "", ""],
        [str(damp.number), "茶小铺", "茶叶受潮", "Quality problem", "Wangwang / Qianniu", "High",
         "New ticket", "On time", str(customer.pk),
         "王小二", "13800000001", "T100", "", "2025-05-01 10:00", "2025-05-01 14:00", "", ""],
    ]  # fmt: skip
    entry = AuditEntry.objects.get(action=AuditEntry.Action.EXPORT)
    assert (entry.target_type, entry.detail) == (
        "ticket",
        {"filters": {"queue": "all"}, "count": 2, "format": "csv", "unmasked": True},
    )


def test_the_export_follows_the_filters_and_the_default_view(make_user, tickets):
    manager = login(make_user, "manager")
    by_type = read_csv(body(manager.get(EXPORT, {"queue": "all", "type": "quality"})))
    assert [r[2] for r in by_type[1:]] == ["茶叶受潮"]
    mine = read_csv(body(manager.get(EXPORT)))  # no view named: "mine", none are theirs
    assert mine[1:] == []


def test_phones_are_masked_for_an_exporter_without_unmask(tickets):
    client = Client()
    client.force_login(user_with("core.export_customers", "service.view_ticket"))
    rows = read_csv(body(client.get(EXPORT, {"queue": "all"})))
    assert [r[10] for r in rows[1:]] == ["138****0001", "138****0001"]
    assert AuditEntry.objects.get(action=AuditEntry.Action.EXPORT).detail["unmasked"] is False


@pytest.mark.parametrize(("role", "status"), [("agent", 403), ("marketer", 403)])
def test_roles_without_the_export_permission_are_refused(make_user, tickets, role, status):
    assert login(make_user, role).get(EXPORT, {"queue": "all"}).status_code == status


def test_a_bad_filter_goes_back_to_the_queue(make_user, tickets):
    response = login(make_user, "manager").get(EXPORT, {"queue": "all", "priority": "huge", "format": "xlsx"})
    assert response.status_code == 302
    assert response["Location"] == reverse("service:queue") + "?queue=all&priority=huge"


@pytest.mark.django_db(transaction=True)
def test_a_long_list_is_exported_in_the_background_then_downloaded(make_user, tickets, settings):
    settings.HUITOUKE_INLINE_EXPORT = 1
    manager = login(make_user, "manager")

    response = manager.get(EXPORT, {"queue": "all", "format": "xlsx"})

    job = Job.objects.get(kind="tickets_export")
    assert response["Location"] == reverse("core:job", args=[job.pk])
    assert (job.status, job.result, job.total) == (Job.Status.DONE, {"count": 2, "format": "xlsx"}, 2)
    download = manager.get(reverse("core:export-file", args=[job.pk]))
    from openpyxl import load_workbook

    rows = list(load_workbook(io.BytesIO(body(download))).active.iter_rows(values_only=True))
    assert [r[2] for r in rows[1:]] == ["'+没收到", "茶叶受潮"]
    assert AuditEntry.objects.get(action=AuditEntry.Action.EXPORT).actor_name == "manager-x"


def test_the_queue_pages_on_from_the_last_row(make_user, shop, customer, monkeypatch):
    from huitouke.service import views

    for n in range(5):
        services.ticket_create(
            customer=customer, type="inquiry", channel="phone", subject=f"问{n}", shop=shop,
            created_at=datetime(2025, 6, 1, tzinfo=UTC),
        )  # fmt: skip
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    manager = login(make_user, "manager")
    ids = list(Ticket.objects.order_by("-created_at", "-id").values_list("pk", flat=True))

    html = manager.get(reverse("service:queue"), {"queue": "all"}).content.decode()
    assert f"page=2&amp;after={ids[1]}" in html
    keyset = manager.get(reverse("service:queue"), {"queue": "all", "page": "2", "after": str(ids[1])}).context["page"]
    offset = manager.get(reverse("service:queue"), {"queue": "all", "page": "2"}).context["page"]
    assert [t.pk for t in keyset.object_list] == [t.pk for t in offset.object_list] == ids[2:4]
    last = manager.get(reverse("service:queue"), {"queue": "all", "page": "3", "after": str(ids[3])}).context["page"]
    assert [t.pk for t in last.object_list] == ids[4:]


def test_the_export_buttons_carry_the_view_and_filters_for_exporters_only(make_user, tickets):
    page = login(make_user, "manager").get(reverse("service:queue"), {"type": "quality"}).content.decode()
    assert 'href="/service/export/?type=quality&amp;queue=mine&amp;format=csv"' in page
    assert 'id="export-links"' not in login(make_user, "agent").get(reverse("service:queue")).content.decode()
