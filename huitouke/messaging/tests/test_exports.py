"""The send records export (messaging/exports.py through core.exports): the list's filters, labels and local times,
masking, the audit entry, the background job past the inline limit; and the list's keyset "Next" pages."""

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
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.messaging.models import Message
from huitouke.messaging.services import OutgoingMessage, message_enqueue_many

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_wake")]

EXPORT = reverse("messaging:export")
HEADER = [
    "ID", "Created", "Shop", "Customer ID", "Customer", "Channel", "Purpose", "Source", "Status", "Reason", "Sent to",
    "Template", "Subject", "Text", "Sent", "Delivered",
]  # fmt: skip


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"  # column titles and labels in the reader's language: English here


def enqueue(customer, key, **kw):
    kw.setdefault("channel", "sms")
    kw.setdefault("purpose", "care")
    kw.setdefault("body", f"亲，这是{key}")
    message_enqueue_many(messages=[OutgoingMessage(idempotency_key=key, customer_id=customer.pk, **kw)])
    return Message.objects.get(idempotency_key=key)


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM that makes Excel read UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def user_with(*perms: str) -> User:
    user = User.objects.create_user("exporter", password="pass-word-123")
    for name in perms:
        app, codename = name.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def records(db):
    """Two SMS records (one sent, one failed) and one email, at known times (UTC; Shanghai is 8 hours ahead)."""
    zhang = CustomerFactory.create(name="张小凡", phone="13812345678", email="zhang@example.com")
    li = CustomerFactory.create(name="=李四", phone="13900001111")
    sent = enqueue(zhang, "k1", body="亲，到货了")
    failed = enqueue(li, "k2", body="-优惠")
    mail = enqueue(zhang, "k3", channel="email", subject="新品", body="请查收")
    Message.objects.filter(pk=sent.pk).update(
        status="sent",
        to_address="13812345678",
        created_at=datetime(2025, 5, 1, 2, 30, tzinfo=UTC),
        sent_at=datetime(2025, 5, 1, 2, 31, tzinfo=UTC),
    )
    Message.objects.filter(pk=failed.pk).update(
        status="failed", reason="rejected", to_address="13900001111",
        created_at=datetime(2025, 5, 2, 16, 0, tzinfo=UTC),
    )  # fmt: skip
    Message.objects.filter(pk=mail.pk).update(
        status="sent", to_address="zhang@example.com", created_at=datetime(2025, 5, 3, 1, 0, tzinfo=UTC)
    )
    return {"sent": sent, "failed": failed, "mail": mail, "zhang": zhang, "li": li}


def test_csv_export_is_the_filtered_list_with_labels_local_times_and_neutralised_cells(client_as, records):
    response = client_as("manager").get(EXPORT, {"channel": "sms", "format": "csv", "page": "3"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="messages-' in response["Content-Disposition"]
    rows = read_csv(body(response))
    assert rows[0] == HEADER
    sent, failed = records["sent"], records["failed"]
    assert rows[1:] == [
        [str(failed.pk), "2025-05-03 00:00", "", str(records["li"].pk), "'=李四", "SMS", "Care", "Manual", "Failed",
         "Refused by the provider", "13900001111", "", "", "'-优惠", "", ""],
        [str(sent.pk), "2025-05-01 10:30", "", str(records["zhang"].pk), "张小凡", "SMS", "Care", "Manual", "Sent", "",
         "13812345678", "", "", "亲，到货了", "2025-05-01 10:31", ""],
    ]  # fmt: skip
    entry = AuditEntry.objects.get(action=AuditEntry.Action.EXPORT)
    assert (entry.target_type, entry.detail) == (
        "message",
        {"filters": {"channel": "sms"}, "count": 2, "format": "csv", "unmasked": True},
    )


def test_xlsx_export_writes_the_same_rows(client_as, records):
    from openpyxl import load_workbook

    response = client_as("manager").get(EXPORT, {"status": "sent", "format": "xlsx"})

    book = load_workbook(io.BytesIO(body(response)))
    rows = list(book.active.iter_rows(values_only=True))
    assert book.active.title == "Messages"
    assert [r[0] for r in rows[1:]] == [records["mail"].pk, records["sent"].pk]
    assert rows[2][1] == datetime(2025, 5, 1, 10, 30)
    assert rows[1][10] == "zhang@example.com"


def test_addresses_are_masked_for_an_exporter_without_unmask(records):
    client = Client()
    client.force_login(user_with("core.export_customers", "messaging.view_message"))

    rows = read_csv(body(client.get(EXPORT, {"format": "csv"})))

    assert [r[10] for r in rows[1:]] == ["z***@example.com", "139****1111", "138****5678"]
    assert AuditEntry.objects.get(action=AuditEntry.Action.EXPORT).detail["unmasked"] is False


@pytest.mark.parametrize("role", ["agent", "marketer"])
def test_roles_without_the_export_permission_are_refused(client_as, records, role):
    assert client_as(role).get(EXPORT, {"format": "csv"}).status_code == 403
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT).exists()


def test_a_bad_filter_goes_back_to_the_list(client_as, records):
    response = client_as("manager").get(EXPORT, {"format": "csv", "date_from": "05/01"})
    assert response.status_code == 302
    assert response["Location"] == reverse("messaging:list") + "?date_from=05%2F01"


@pytest.mark.django_db(transaction=True)
def test_a_long_list_is_exported_in_the_background_then_downloaded(client_as, records, settings):
    settings.HUITOUKE_INLINE_EXPORT = 1
    manager = client_as("manager")

    response = manager.get(EXPORT, {"channel": "sms", "format": "csv"})

    job = Job.objects.get(kind="messages_export")
    assert response["Location"] == reverse("core:job", args=[job.pk])
    assert (job.status, job.result, job.total, job.params["query"]) == (
        Job.Status.DONE, {"count": 2, "format": "csv"}, 2, "channel=sms",
    )  # fmt: skip
    page = manager.get(reverse("core:job", args=[job.pk])).content.decode()
    assert reverse("core:export-file", args=[job.pk]) in page
    download = manager.get(reverse("core:export-file", args=[job.pk]))
    assert download["Content-Disposition"] == f'attachment; filename="messages-{job.pk}.csv"'
    rows = read_csv(body(download))
    assert [r[0] for r in rows[1:]] == [str(records["failed"].pk), str(records["sent"].pk)]
    entry = AuditEntry.objects.get(action=AuditEntry.Action.EXPORT)
    assert (entry.actor_name, entry.detail["count"]) == ("manager-client", 2)
    assert client_as("agent").get(reverse("core:export-file", args=[job.pk])).status_code == 403
    assert manager.get(reverse("core:export-file", args=[job.pk + 1])).status_code == 404
    # a customer export's download URL does not hand out this file
    assert manager.get(reverse("customers:export-file", args=[job.pk])).status_code == 404


def test_the_list_counts_and_pages_on_from_the_last_row(client_as, monkeypatch):
    from huitouke.messaging import message_views, views

    customer = CustomerFactory.create(name="王五")
    for n in range(7):
        enqueue(customer, f"p{n}")
    same = datetime(2025, 6, 1, tzinfo=UTC)  # equal times: the id decides the order
    Message.objects.update(created_at=same)
    monkeypatch.setattr(views, "PAGE_SIZE", 3)
    monkeypatch.setattr(message_views, "PAGE_SIZE", 3)
    manager = client_as("manager")
    ids = list(Message.objects.order_by("-created_at", "-id").values_list("pk", flat=True))

    first = manager.get(reverse("messaging:list")).context
    assert [m.pk for m in first["rows"]] == ids[:3]
    assert (first["counted"].value, first["counted"].exact) == (7, True)
    html = manager.get(reverse("messaging:list")).content.decode()
    assert f"page=2&amp;after={ids[2]}" in html
    keyset = manager.get(reverse("messaging:list"), {"page": 2, "after": ids[2]}).context["rows"]
    offset = manager.get(reverse("messaging:list"), {"page": 2}).context["rows"]
    assert [m.pk for m in keyset] == [m.pk for m in offset] == ids[3:6]
    last = manager.get(reverse("messaging:list"), {"page": 3, "after": ids[5]}).context
    assert ([m.pk for m in last["rows"]], last["has_next"]) == (ids[6:], False)


def test_the_export_buttons_carry_the_lists_filters_for_exporters_only(client_as, records):
    page = client_as("manager").get(reverse("messaging:list"), {"channel": "sms", "page": "1"}).content.decode()
    assert 'href="/messages/export/?channel=sms&amp;format=csv"' in page
    assert 'href="/messages/export/?channel=sms&amp;format=xlsx"' in page
    assert '<p class="count" id="message-count">2 messages</p>' in page
    assert 'id="export-links"' not in client_as("agent").get(reverse("messaging:list")).content.decode()
