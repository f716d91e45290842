"""The member export (service, download and `huitouke export-members`): columns, masking, audit, permission."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from huitouke.core.errors import PermissionDeniedError
from huitouke.core.models import AuditEntry, Job
from huitouke.customers.tests.factories import CustomerFactory, IdentityFactory
from huitouke.loyalty.exports import member_headers, members_export
from huitouke.loyalty.services import LevelSpec, level_policy_set, levels_regrade, levels_set
from huitouke.orders.models import Order
from huitouke.orders.tests.factories import OrderFactory, ShopFactory

pytestmark = pytest.mark.django_db

SPECS = [LevelSpec("普通会员", Decimal("0.01"), 1, 100), LevelSpec("VIP", Decimal("1000"), 5, 95)]


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def members():
    """Tea shop (taobao): 张 VIP by ¥1288.50 (a closed and a fully refunded order do not count), 李 普通会员.
    Coffee shop (jd): 李 普通会员. A buyer without a level is not exported."""
    tea, coffee = ShopFactory.create(name="茶铺", platform="taobao"), ShopFactory.create(name="咖啡", platform="jd")
    for shop in (tea, coffee):
        levels_set(shop=shop, specs=SPECS)
    zhang = CustomerFactory.create(name="张小凡", phone="13812345678")
    li = CustomerFactory.create(name="=李四", phone="")
    IdentityFactory.create(customer=zhang, platform="taobao", handle="小鱼爱喝茶")
    IdentityFactory.create(customer=zhang, platform="jd", handle="jd_zhang")
    IdentityFactory.create(customer=li, platform="jd", handle="jd_li")
    OrderFactory.create(shop=tea, customer=zhang, paid_amount=Decimal("1288.50"))
    OrderFactory.create(shop=tea, customer=zhang, paid_amount=Decimal("900"), status=Order.Status.CLOSED)
    OrderFactory.create(shop=tea, customer=zhang, paid_amount=Decimal("80"), refund_amount=Decimal("80"))
    OrderFactory.create(shop=tea, customer=li, paid_amount=Decimal("60"), refund_amount=Decimal("20"))
    OrderFactory.create(
        shop=coffee, customer=li, paid_amount=Decimal("35"), ordered_at=timezone.now() - timedelta(days=9)
    )
    OrderFactory.create(
        shop=coffee, customer=li, paid_amount=Decimal("500"), ordered_at=timezone.now() - timedelta(days=400)
    )
    level_policy_set(shop=coffee, window_months=6)  # the export counts what the levels count: not the old order
    levels_regrade()
    return {"tea": tea, "coffee": coffee, "zhang": zhang, "li": li}


def read(data: bytes) -> list[list[object]]:
    sheet = load_workbook(io.BytesIO(data), read_only=True).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def user_with(*perms: str) -> User:
    user = User.objects.create_user("exporter", password="pass-word-123")
    for name in perms:
        app, codename = name.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    return User.objects.get(pk=user.pk)


def test_export_of_one_shop_unmasked_for_a_manager(manager, members):
    out = io.BytesIO()

    count = members_export(user=manager, out=out, shop=members["tea"])

    assert count == 2
    assert read(out.getvalue()) == [
        member_headers(),
        [members["zhang"].pk, "张小凡", "小鱼爱喝茶", "13812345678", "茶铺", "VIP", 95, 1288.5, 1],
        [members["li"].pk, "'=李四", None, None, "茶铺", "普通会员", 100, 40, 1],
    ]
    entry = AuditEntry.objects.get(action=AuditEntry.Action.EXPORT)
    assert (entry.actor, entry.target_type) == (manager, "membership")
    assert entry.detail == {"shop": "茶铺", "count": 2, "format": "xlsx", "unmasked": True}


def test_export_masks_phones_without_the_unmask_permission(members):
    user = user_with("core.export_customers")
    out = io.BytesIO()

    members_export(user=user, out=out)

    rows = read(out.getvalue())
    assert [r[4] for r in rows[1:]] == ["咖啡", "茶铺", "茶铺"]  # every shop with levels, by name
    assert rows[2][3] == "138****5678"
    assert rows[1][2] == "jd_li"  # the handle on the shop's platform
    assert AuditEntry.objects.get(action=AuditEntry.Action.EXPORT).detail["unmasked"] is False


def test_export_needs_the_export_permission(members):
    with pytest.raises(PermissionDeniedError):
        members_export(user=user_with("loyalty.view_level"), out=io.BytesIO())
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT).exists()


def test_download_button_answers_xlsx_for_managers_and_403_for_agents(client_as, members):
    url = reverse("loyalty:export", args=[members["tea"].pk])

    response = client_as("manager").get(url)
    denied = client_as("agent").get(url)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "members-" in response["Content-Disposition"]
    assert read(b"".join(response.streaming_content))[1][1] == "张小凡"
    assert denied.status_code == 403


def test_export_members_command_json(tmp_path, members):
    out, stdout = tmp_path / "members.xlsx", StringIO()

    call_command("export_members", "--out", str(out), "--shop", "咖啡", "--json", stdout=stdout)

    assert json.loads(stdout.getvalue()) == {"count": 1, "out": str(out), "format": "xlsx"}
    assert read(out.read_bytes())[1][1:] == ["'=李四", "jd_li", None, "咖啡", "普通会员", 100, 35, 1]
    assert AuditEntry.objects.get(action=AuditEntry.Action.EXPORT).actor_name == "system"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "members.csv"], "--out: the file name must end in .xlsx"),
        (["--out", "/no/such/folder/m.xlsx"], "--out: the folder"),
        (["--out", "m.xlsx", "--shop", "没有"], "--shop: no shop named '没有'"),
    ],
)
def test_export_members_command_errors_name_the_option(tmp_path, members, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CommandError, match=message):
        call_command("export_members", *args)
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT).exists()


@pytest.mark.django_db(transaction=True)
def test_large_shop_is_exported_in_the_background_then_downloaded(client_as, members, settings):
    # transaction=True: the job runs as in the worker, outside any transaction (a cursor WITH HOLD on PostgreSQL)
    settings.HUITOUKE_LEVELS_INLINE_EXPORT = 0
    manager = client_as("manager")
    with connection.cursor() as cur:
        cur.execute("SELECT current_setting('enable_nestloop')" if connection.vendor == "postgresql" else "SELECT 1")
        before = cur.fetchone()

    response = manager.get(reverse("loyalty:export", args=[members["tea"].pk]))

    job = Job.objects.get(kind="members_export")
    assert response["Location"] == reverse("core:job", args=[job.pk])
    assert (job.status, job.result, job.total) == (Job.Status.DONE, {"count": 2, "shop": "茶铺"}, 2)
    page = manager.get(reverse("core:job", args=[job.pk])).content.decode()
    assert reverse("loyalty:export-file", args=[job.pk]) in page
    download = manager.get(reverse("loyalty:export-file", args=[job.pk]))
    assert read(b"".join(download.streaming_content))[1][1] == "张小凡"
    actor = AuditEntry.objects.get(action=AuditEntry.Action.EXPORT).actor
    assert actor is not None
    assert actor.username == "manager-client"
    with connection.cursor() as cur:  # the session's planner settings were put back
        cur.execute("SELECT current_setting('enable_nestloop')" if connection.vendor == "postgresql" else "SELECT 1")
        assert cur.fetchone() == before
    assert client_as("agent").get(reverse("loyalty:export-file", args=[job.pk])).status_code == 403
    assert manager.get(reverse("loyalty:export-file", args=[job.pk + 1])).status_code == 404
