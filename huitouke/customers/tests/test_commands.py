"""`huitouke export-customers`: the same columns as the page, unmasked, audited as the system."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from huitouke.core.models import AuditEntry
from huitouke.customers.exports import export_headers
from huitouke.customers.tests.factories import CustomerFactory, IdentityFactory
from huitouke.orders.tests.factories import OrderFactory, ShopFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def zhang():
    customer = CustomerFactory.create(
        name="张小凡", phone="13812345678", email="zhang@example.com", total_spent=Decimal("900")
    )
    IdentityFactory.create(customer=customer, platform="taobao", handle="小鱼爱喝茶")
    return customer


def run(*args: str) -> str:
    out = StringIO()
    call_command("export_customers", *args, stdout=out)
    return out.getvalue()


def test_csv_export_is_unmasked_and_audited_as_system(zhang, tmp_path):
    CustomerFactory.create(name="Tom")
    path = tmp_path / "all.csv"
    output = run("--out", str(path))
    assert "2" in output
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert len(rows) == 3
    assert len(rows[0]) == len(export_headers())
    zhang_row = next(r for r in rows if r[1] == "张小凡")
    assert zhang_row[4] == "13812345678"
    assert zhang_row[5] == "zhang@example.com"
    entry = AuditEntry.objects.get()
    assert entry.action == AuditEntry.Action.EXPORT
    assert entry.actor is None
    assert entry.actor_name == "system"
    assert entry.detail["count"] == 2
    assert entry.detail["format"] == "csv"


def test_xlsx_export_with_filters(zhang, tmp_path):
    shop = ShopFactory.create(name="茶叶店")
    OrderFactory.create(customer=zhang, shop=shop)
    CustomerFactory.create(name="Tom", total_spent=Decimal("10"))
    path = tmp_path / "big.XLSX"
    output = json.loads(run("--out", str(path), "--spent-min", "500", "--shop", str(shop.pk), "--json"))
    assert output == {"count": 1, "out": str(path), "format": "xlsx"}
    rows = list(load_workbook(path).active.iter_rows(values_only=True))
    assert [r[1] for r in rows[1:]] == ["张小凡"]
    assert rows[1][4] == "13812345678"
    assert AuditEntry.objects.get().detail["filters"] == {
        "spent_min": "500",
        "sort": "last_order",
        "shop": str(shop.pk),
    }


@pytest.mark.parametrize("name", ["out.txt", "out", "out.xls"])
def test_unknown_extension_is_refused_with_a_reason(tmp_path, name):
    with pytest.raises(CommandError, match=r"\.csv or \.xlsx"):
        run("--out", str(tmp_path / name))
    assert not AuditEntry.objects.exists()


def test_bad_filter_is_refused_naming_the_option(tmp_path):
    with pytest.raises(CommandError, match="--spent-min"):
        run("--out", str(tmp_path / "x.csv"), "--spent-min", "lots")


def test_missing_folder_is_refused(tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        run("--out", str(tmp_path / "nope" / "x.csv"))
