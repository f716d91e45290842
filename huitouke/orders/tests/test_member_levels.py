"""Imported member levels (issue #14 item 21): every writer (portable, staged, staged fed by the child process)
collects the same newest level per buyer when the import keeps levels, and none otherwise; the import with
--keep-levels stores them as floors and reports unknown names by row (CLI and job)."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import transaction

from huitouke.customers.models import Customer
from huitouke.jobs import ImportRequest, orders_import
from huitouke.loyalty.models import LevelChange, Membership
from huitouke.loyalty.services import LevelSpec, levels_set
from huitouke.orders.feed import FeedRequest
from huitouke.orders.importers import parse_orders
from huitouke.orders.importing import ErrorReport, ImportResult, OrderWriter, orders_import_rows
from huitouke.orders.models import Shop
from huitouke.orders.services import member_levels_resolve, shop_get_or_create
from huitouke.orders.tests.test_importing import GOLDEN, HEADER, row

pytestmark = pytest.mark.django_db


class _Undo(Exception):
    pass


def _collected(path: Path, fmt: str, writer_class: Any, tmp_path: Path, *, fed: bool, keep: bool) -> dict:
    """The levels one writer collects, keyed by shop name instead of id (ids differ between the runs)."""
    taken: dict = {}
    try:
        with transaction.atomic():
            _fmt, stream = parse_orders(path, fmt=fmt)
            result = ImportResult(format=_fmt)
            orders_import_rows(
                stream=stream,
                result=result,
                report=ErrorReport(tmp_path / "errors.csv"),
                batch_size=2,
                writer_class=writer_class,
                feed=FeedRequest(str(path), None, _fmt, None, "Asia/Shanghai", 2) if fed else None,
                feed_min_bytes=0,
                keep_levels=keep,
            )
            names = dict(Shop.objects.values_list("pk", "name"))
            taken = {(names[s], p, h): v for (s, p, h), v in result.member_levels.items()}
            raise _Undo
    except _Undo:
        pass
    return taken


SH = ZoneInfo("Asia/Shanghai")


def test_every_writer_collects_the_same_levels_from_a_generic_file(tmp_path):
    path = GOLDEN / "archive_seed004.xlsx"

    portable = _collected(path, "generic", OrderWriter, tmp_path, fed=False, keep=True)
    staged = _collected(path, "generic", None, tmp_path, fed=False, keep=True)
    fed = _collected(path, "generic", None, tmp_path, fed=True, keep=True)
    ignored = _collected(path, "generic", None, tmp_path, fed=True, keep=False)

    assert portable == {
        ("默认店铺", "other", "tb_8824133"): (datetime(2023, 11, 11, 0, 5, tzinfo=SH), 2, "金卡"),
        ("默认店铺", "other", "tb_5520"): (datetime(2023, 12, 12, 20, 0, tzinfo=SH), 3, "普通会员"),
    }
    assert staged == portable
    assert fed == portable
    assert ignored == {}


def test_every_writer_keeps_each_buyers_newest_level_across_batches(tmp_path):
    path = _rows(tmp_path)  # batches of 2 orders: tb_gold's two orders fall into different batches when fed

    portable = _collected(path, "auto", OrderWriter, tmp_path, fed=False, keep=True)
    staged = _collected(path, "auto", None, tmp_path, fed=False, keep=True)
    fed = _collected(path, "auto", None, tmp_path, fed=True, keep=True)

    june18 = datetime(2025, 6, 18, 10, 0, tzinfo=SH)
    assert portable == {
        ("山岚茶食", "taobao", "tb_gold"): (datetime(2025, 6, 10, 10, 0, tzinfo=SH), 3, "金卡"),
        ("山岚茶食", "taobao", "tb_silver"): (june18, 4, "银卡"),
        ("山岚茶食", "taobao", "tb_small"): (june18, 5, "银卡"),
        ("山岚茶食", "taobao", "tb_odd"): (june18, 6, "钻石会员"),
    }
    assert staged == portable
    assert fed == portable


LEVELED = HEADER.rstrip("\n") + ",会员级别\n"


def _file(tmp_path: Path, rows: list[tuple[str, str]]) -> Path:
    path = tmp_path / "from-another-tool.csv"
    path.write_text(LEVELED + "".join(f"{r},{level}\n" for r, level in rows), encoding="gb18030")
    return path


@pytest.fixture
def shop():
    shop = shop_get_or_create(name="山岚茶食", platform="taobao")
    levels_set(
        shop=shop,
        specs=[
            LevelSpec("普通会员", Decimal("0"), 1, 100),
            LevelSpec("银卡", Decimal("500"), 3, 98),
            LevelSpec("金卡", Decimal("2000"), 8, 95),
        ],
    )
    return shop


def _level(handle: str) -> str | None:
    m = Membership.objects.filter(customer__identities__handle=handle).select_related("level").first()
    return m.level.name if m else None


def _rows(tmp_path: Path) -> Path:
    return _file(
        tmp_path,
        [
            (row("L1", "tb_gold", "30.00", when="2025-06-01 10:00:00"), "普通会员"),  # older order, lower level
            (row("L2", "tb_gold", "40.00", when="2025-06-10 10:00:00"), " 金卡 "),  # newest: 金卡 wins
            (row("L3", "tb_silver", "900.00"), "银卡"),  # qualifies for 银卡 anyway
            (row("L4", "tb_small", "10.00"), "银卡"),
            (row("L5", "tb_odd", "10.00"), "钻石会员"),  # the shop has no such level
            (row("L6", "tb_none", "10.00"), ""),
        ],
    )


def test_keep_levels_raises_buyers_to_their_imported_level(tmp_path, shop):
    result = orders_import(request=ImportRequest(path=str(_rows(tmp_path)), keep_levels=True))

    assert (result.levels_kept, result.levels_already, result.level_errors, result.errors) == (2, 1, 1, 0)
    assert {h: _level(h) for h in ("tb_gold", "tb_silver", "tb_small", "tb_odd", "tb_none")} == {
        "tb_gold": "金卡",
        "tb_silver": "银卡",
        "tb_small": "银卡",
        "tb_odd": "普通会员",
        "tb_none": "普通会员",
    }
    imported = LevelChange.objects.filter(reason="import").order_by("to_name")
    assert [(c.from_name, c.to_name) for c in imported] == [("普通会员", "金卡"), ("普通会员", "银卡")]
    assert result.error_report is not None
    with open(result.error_report, encoding="utf-8-sig") as fh:
        report = list(csv.reader(fh))
    assert report[0] == ["row", "column", "value", "reason"]
    assert report[1][:3] == ["6", "member_level", "钻石会员"]
    assert "普通会员、银卡、金卡" in report[1][3]


def test_without_keep_levels_the_column_changes_nothing(tmp_path, shop):
    result = orders_import(request=ImportRequest(path=str(_rows(tmp_path))))

    assert (result.levels_kept, result.level_errors, result.error_report) == (0, 0, None)
    assert _level("tb_gold") == "普通会员"
    assert not LevelChange.objects.filter(reason="import").exists()


def test_reimporting_with_keep_levels_changes_nothing_more(tmp_path, shop):
    path = _rows(tmp_path)
    orders_import(request=ImportRequest(path=str(path), keep_levels=True))

    again = orders_import(request=ImportRequest(path=str(path), keep_levels=True))

    assert (again.levels_kept, again.levels_already, again.level_errors) == (0, 3, 1)
    assert LevelChange.objects.filter(reason="import").count() == 2


def test_levels_resolve_per_customer_the_newest_order(tmp_path, shop):
    result = ImportResult(format="taobao")
    _fmt, stream = parse_orders(_rows(tmp_path))
    orders_import_rows(stream=stream, result=result, report=ErrorReport(tmp_path / "e.csv"), keep_levels=True)

    resolved = member_levels_resolve(levels=result.member_levels)

    by_handle = {Customer.objects.get(pk=cid).name: value for cid, value in resolved[shop.pk].items()}
    assert by_handle == {
        "tb_gold": ("金卡", 3),
        "tb_silver": ("银卡", 4),
        "tb_small": ("银卡", 5),
        "tb_odd": ("钻石会员", 6),
    }


def test_cli_keep_levels_flag(tmp_path, shop):
    out = StringIO()
    call_command("import_orders", str(_rows(tmp_path)), "--keep-levels", "--json", stdout=out)
    text = StringIO()
    call_command("import_orders", str(_rows(tmp_path)), "--keep-levels", stdout=text)

    data = json.loads(out.getvalue())
    assert (data["levels_kept"], data["levels_already"], data["level_errors"]) == (2, 1, 1)
    assert "member levels: 0 kept as floors, 3 already at or above, 1 not one of the shop's levels" in text.getvalue()


def test_the_upload_page_offers_keep_levels_and_the_summary_counts_them(
    client_as, tmp_path, shop, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from huitouke.core.models import Job

    client = client_as("manager")
    page = client.get("/imports/").content.decode()
    path = _rows(tmp_path)
    response = client.post(
        "/imports/",
        {
            "fmt": "auto",
            "shop": "",
            "keep_levels": "on",
            "orders_file": SimpleUploadedFile("from-another-tool.csv", path.read_bytes()),
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(response["Location"])

    job = Job.objects.get()
    summary = client.get(f"/jobs/{job.pk}/").content.decode()
    assert 'name="keep_levels"' in page
    assert job.params["keep_levels"] is True
    assert job.result is not None
    assert (job.result["levels_kept"], job.result["levels_already"], job.result["level_errors"]) == (2, 1, 1)
    assert '<dd id="levels-kept">2</dd>' in summary
    assert '<dd id="level-errors">1</dd>' in summary
    assert 'id="error-report"' in summary
    assert _level("tb_gold") == "金卡"


def test_level_errors_follow_the_rejected_rows_in_one_report(tmp_path, shop):
    path = _file(
        tmp_path,
        [
            (row("R1", "tb_bad", "lots"), "银卡"),  # rejected: the amount is not a number
            (row("R2", "tb_odd", "10.00"), "钻石会员"),
        ],
    )

    result = orders_import(request=ImportRequest(path=str(path), keep_levels=True))

    assert (result.errors, result.level_errors) == (1, 1)
    assert result.error_report is not None
    with open(result.error_report, encoding="utf-8-sig") as fh:
        report = list(csv.reader(fh))
    assert [r[:3] for r in report] == [
        ["row", "column", "value"],
        ["2", "买家应付货款", "lots"],
        ["3", "member_level", "钻石会员"],
    ]
