"""The customer export (service and download): columns, masking, formula neutralisation, audit, permission."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from huitouke.core.errors import ApplicationError, PermissionDeniedError
from huitouke.core.models import AuditEntry
from huitouke.customers.exports import customers_export, export_headers, neutralise
from huitouke.customers.models import CustomerTag
from huitouke.customers.selectors import CustomerFilter
from huitouke.customers.tests.factories import CustomerFactory, IdentityFactory, TagFactory

pytestmark = pytest.mark.django_db

PHONE, EMAIL, STREET = "13812345678", "zhang@example.com", "文三路1号"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def zhang():
    customer = CustomerFactory.create(
        name="张小凡",
        real_name="张凡",
        phone=PHONE,
        email=EMAIL,
        province="浙江省",
        city="杭州市",
        district="西湖区",
        address=STREET,
        order_count=3,
        total_spent=Decimal("1288.50"),
        first_order_at=datetime(2024, 1, 2, 3, 4, tzinfo=UTC),
        last_order_at=datetime(2025, 6, 18, 2, 0, tzinfo=UTC),
        birthday=date(1990, 5, 17),
        birthday_calendar="lunar",
    )
    IdentityFactory.create(customer=customer, platform="taobao", handle="小鱼爱喝茶")
    IdentityFactory.create(customer=customer, platform="jd", handle="jd_zhang")
    CustomerTag.objects.create(customer=customer, tag=TagFactory.create(name="VIP"))
    CustomerTag.objects.create(customer=customer, tag=TagFactory.create(name="爱喝茶"))
    return customer


def user_with(*perms: str) -> User:
    user = User.objects.create_user("exporter", password="pass-word-123")
    for name in perms:
        app, codename = name.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    return User.objects.get(pk=user.pk)  # fresh permission cache


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM that makes Excel read UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_csv_export_writes_every_column_unmasked_for_a_manager(manager, zhang):
    out = io.BytesIO()
    count = customers_export(filters=CustomerFilter(), user=manager, fmt="csv", out=out)
    rows = read_csv(out.getvalue())
    assert count == 1
    assert rows[0] == export_headers()
    assert rows[0][:4] == ["ID", "Name", "Real name", "Platform handles"]
    assert rows[1] == [
        str(zhang.pk),
        "张小凡",
        "张凡",
        "jd:jd_zhang; taobao:小鱼爱喝茶",
        PHONE,
        EMAIL,
        "浙江省",
        "杭州市",
        "西湖区",
        STREET,
        "",
        "3",
        "1288.50",
        "2024-01-02 11:04",  # Asia/Shanghai wall-clock time
        "2025-06-18 10:00",
        "1990-05-17",
        "Lunar",
        "VIP, 爱喝茶",
    ]


def test_xlsx_export_reads_back_with_openpyxl(manager, zhang, tmp_path):
    path = tmp_path / "customers.xlsx"
    count = customers_export(filters=CustomerFilter(), user=manager, fmt="xlsx", out=path)
    sheet = load_workbook(path).active
    rows = list(sheet.iter_rows(values_only=True))
    assert count == 1
    assert list(rows[0]) == export_headers()
    row = rows[1]
    assert row[0] == zhang.pk
    assert row[1] == "张小凡"
    assert row[4] == PHONE
    assert row[11] == 3
    assert Decimal(str(row[12])) == Decimal("1288.50")
    assert row[14] == datetime(2025, 6, 18, 10, 0)
    assert row[17] == "VIP, 爱喝茶"


def test_export_masks_for_an_exporter_without_unmask(zhang):
    user = user_with("core.export_customers")
    out = io.BytesIO()
    customers_export(filters=CustomerFilter(), user=user, fmt="csv", out=out)
    data = out.getvalue().decode("utf-8-sig")
    row = read_csv(out.getvalue())[1]
    assert row[4] == "138****5678"
    assert row[5] == "z***@example.com"
    assert row[9] == "浙江省杭州市****"
    assert PHONE not in data
    assert EMAIL not in data
    assert STREET not in data
    assert AuditEntry.objects.get().detail["unmasked"] is False


def test_export_refuses_a_user_without_the_permission(agent, zhang):
    with pytest.raises(PermissionDeniedError):
        customers_export(filters=CustomerFilter(), user=agent, fmt="csv", out=io.BytesIO())
    assert not AuditEntry.objects.exists()


def test_export_refuses_an_unknown_format(manager):
    with pytest.raises(ApplicationError) as exc:
        customers_export(filters=CustomerFilter(), user=manager, fmt="pdf", out=io.BytesIO())
    assert exc.value.field == "format"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("张三", "张三"),
        ("a=b", "a=b"),
        (5, 5),
        (None, None),
    ],
)
def test_neutralise(value, expected):
    assert neutralise(value) == expected


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_neutralises_formulas_in_user_data(manager, fmt):
    customer = CustomerFactory.create(name='=HYPERLINK("http://evil","x")', real_name="+cmd", city="@x", province="-1")
    IdentityFactory.create(customer=customer, platform="taobao", handle="=1+1")
    CustomerTag.objects.create(customer=customer, tag=TagFactory.create(name="=tag"))
    out = io.BytesIO()
    customers_export(filters=CustomerFilter(), user=manager, fmt=fmt, out=out)
    if fmt == "csv":
        row = read_csv(out.getvalue())[1]
    else:
        out.seek(0)
        row = [c if c is not None else "" for c in list(load_workbook(out).active.iter_rows(values_only=True))[1]]
    assert row[1] == '\'=HYPERLINK("http://evil","x")'
    assert row[2] == "'+cmd"
    assert row[3] == "taobao:=1+1"  # starts with the platform: safe as it is
    assert row[6] == "'-1"
    assert row[7] == "'@x"
    assert row[17] == "'=tag"


def test_export_applies_the_filters_and_writes_one_audit_entry(manager, zhang):
    CustomerFactory.create(name="Tom", total_spent=Decimal("5"))
    out = io.BytesIO()
    filters = CustomerFilter.from_params({"spent_min": "1000", "tag": "VIP"})
    count = customers_export(filters=filters, user=manager, fmt="csv", out=out)
    assert count == 1
    assert [r[1] for r in read_csv(out.getvalue())[1:]] == ["张小凡"]
    entry = AuditEntry.objects.get()
    assert entry.action == AuditEntry.Action.EXPORT
    assert entry.target_type == "customer"
    assert entry.actor == manager
    assert entry.detail["count"] == 1
    assert entry.detail["format"] == "csv"
    assert entry.detail["filters"]["spent_min"] == "1000"
    assert entry.detail["filters"]["tag"] == "VIP"


def test_export_streams_many_rows(manager):
    CustomerFactory.create_batch(45)
    out = io.BytesIO()
    assert customers_export(filters=CustomerFilter(), user=manager, fmt="xlsx", out=out) == 45


# --- the download --------------------------------------------------------------------------------------------


def test_download_is_forbidden_for_an_agent(client_as, zhang):
    response = client_as("agent").get(reverse("customers:export"), {"format": "csv"})
    assert response.status_code == 403
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT).exists()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_download_for_a_manager_uses_the_list_filters(client_as, zhang, fmt):
    CustomerFactory.create(name="Tom")
    response = client_as("manager").get(reverse("customers:export"), {"format": fmt, "search": "张"})
    assert response.status_code == 200
    assert f'.{fmt}"' in response["Content-Disposition"]
    data = response.getvalue()
    if fmt == "csv":
        names = [r[1] for r in read_csv(data)[1:]]
    else:
        names = [r[1] for r in list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))[1:]]
    assert names == ["张小凡"]
    assert AuditEntry.objects.get(action=AuditEntry.Action.EXPORT).detail["filters"] == {
        "search": "张",
        "sort": "last_order",
    }


def test_download_with_a_bad_filter_goes_back_to_the_list(client_as):
    response = client_as("manager").get(reverse("customers:export"), {"format": "csv", "spent_min": "x"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("customers:list"))
    assert "spent_min=x" in response["Location"]


def test_download_masks_for_an_exporter_without_unmask(zhang):
    client = Client()
    client.force_login(user_with("core.export_customers", "customers.view_customer"))
    data = client.get(reverse("customers:export"), {"format": "csv"}).getvalue()
    assert PHONE.encode() not in data
    assert "138****5678" in data.decode("utf-8-sig")


@pytest.mark.django_db(transaction=True)
def test_long_list_is_exported_in_the_background_with_its_filters_then_downloaded(client_as, settings):
    # transaction=True: the job runs as in the worker, outside any transaction
    from huitouke.core.models import Job

    settings.HUITOUKE_INLINE_EXPORT = 1
    CustomerFactory.create(name="甲", province="浙江省")
    CustomerFactory.create(name="乙", province="浙江省")
    CustomerFactory.create(name="丙", province="江苏省")
    manager = client_as("manager")

    response = manager.get(reverse("customers:export"), {"province": "浙江省", "format": "csv"})

    job = Job.objects.get(kind="customers_export")
    assert response["Location"] == reverse("core:job", args=[job.pk])
    assert (job.status, job.result) == (Job.Status.DONE, {"count": 2, "format": "csv"})
    page = manager.get(reverse("core:job", args=[job.pk])).content.decode()
    assert reverse("customers:export-file", args=[job.pk]) in page
    download = manager.get(reverse("customers:export-file", args=[job.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode("utf-8-sig"))))
    assert sorted(r[1] for r in rows[1:]) == ["乙", "甲"]
    entry = AuditEntry.objects.get(action=AuditEntry.Action.EXPORT)
    assert entry.actor is not None
    assert (entry.actor.username, entry.detail["count"], entry.detail["filters"]["province"]) == (
        "manager-client", 2, "浙江省",
    )  # fmt: skip
    assert client_as("agent").get(reverse("customers:export-file", args=[job.pk])).status_code == 403
    assert manager.get(reverse("customers:export-file", args=[job.pk + 1])).status_code == 404


def test_short_list_is_still_streamed_in_the_request(client_as):
    CustomerFactory.create(name="甲", province="浙江省")
    response = client_as("manager").get(reverse("customers:export"), {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
