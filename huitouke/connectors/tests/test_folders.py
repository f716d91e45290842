"""The watched folder against real files and the real database: pairs, half-written files, duplicates, failures."""

from __future__ import annotations

import json
import os
import shutil
import time
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from huitouke.connectors.folders import folder_register, folder_scan, folders_scan_registered
from huitouke.connectors.models import Source, SourceEvent, WatchedFile
from huitouke.jobs import watched_file_import
from huitouke.orders.models import Order, OrderLine
from huitouke.orders.tests.factories import ShopFactory

pytestmark = pytest.mark.django_db

GOLDEN = Path(__file__).resolve().parents[2] / "orders" / "importers" / "tests" / "golden"
PAIR = ("taobao_71_ExportOrderList202506.csv", "taobao_71_ExportOrderDetailList202506.csv")


def drop(folder: Path, golden: str, name: str | None = None, age: float = 600) -> Path:
    target = folder / (name or golden)
    shutil.copyfile(GOLDEN / golden, target)
    stamp = time.time() - age
    os.utime(target, (stamp, stamp))
    return target


def scan(folder: Path, **kw: Any) -> Any:
    return folder_scan(folder=folder, importer=watched_file_import, **kw)


def test_a_pair_and_an_export_are_imported_and_moved_to_done(tmp_path: Path) -> None:
    for name in PAIR:
        drop(tmp_path, name)
    drop(tmp_path, "shopify_orders_export_1.csv")
    report = scan(tmp_path, shop="Tea House")
    assert [i["file"] for i in report.imported] == ["shopify_orders_export_1.csv", PAIR[0]]
    assert report.failed == report.duplicates == report.waiting == []
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == []
    done = sorted(p.name for p in (tmp_path / "done").iterdir())
    assert done == sorted([*PAIR, f"{PAIR[0]}.result.json", "shopify_orders_export_1.csv",
                           "shopify_orders_export_1.csv.result.json"])  # fmt: skip
    summary = json.loads((tmp_path / "done" / f"{PAIR[0]}.result.json").read_text())
    taobao = Order.objects.filter(order_no__in=["3812345678901234567", "3812345678901234568"])
    assert summary["orders_created"] == report.imported[1]["orders_created"] == 2
    assert summary["lines"] == OrderLine.objects.filter(order__in=taobao).count() == 3  # the item report's lines
    assert set(Order.objects.values_list("shop__name", flat=True)) == {"Tea House"}
    assert WatchedFile.objects.filter(status="done").count() == 2


def test_the_same_content_under_another_name_is_never_imported_twice(tmp_path: Path) -> None:
    drop(tmp_path, "shopify_orders_export_1.csv", "orders-monday.csv")
    first = scan(tmp_path)
    orders = Order.objects.count()
    drop(tmp_path, "shopify_orders_export_1.csv", "orders-again.csv")
    second = scan(tmp_path)
    assert [i["file"] for i in first.imported] == ["orders-monday.csv"]
    assert second.imported == []
    assert second.duplicates == ["orders-again.csv"]
    assert Order.objects.count() == orders
    note = json.loads((tmp_path / "done" / "orders-again.csv.result.json").read_text())
    assert note["duplicate_of"] == "orders-monday.csv"


def test_a_half_written_file_waits_until_it_is_complete(tmp_path: Path) -> None:
    content = (GOLDEN / "shopify_orders_export_1.csv").read_bytes()
    target = tmp_path / "shopify.csv"
    target.write_bytes(content[: len(content) // 2])  # the copy is still running: modified just now
    previous: dict[str, int] = {}
    now = time.time()
    report = scan(tmp_path, previous=previous, now=now)
    assert report.waiting == ["shopify.csv"]
    assert report.imported == []
    assert not Order.objects.exists()
    target.write_bytes(content)  # finished; a look 10 s later still sees it grow since the last look
    grown = scan(tmp_path, previous=previous, now=now + 10)
    assert grown.waiting == ["shopify.csv"]
    later = scan(tmp_path, previous=previous, now=now + 20)  # unchanged and quiet: complete
    assert [i["file"] for i in later.imported] == ["shopify.csv"]
    assert later.imported[0]["errors"] == 0
    assert Order.objects.count() == later.imported[0]["orders_created"] == 2


def test_a_file_that_cannot_be_imported_goes_to_failed_with_its_reason(tmp_path: Path) -> None:
    bad = tmp_path / "mystery.csv"
    bad.write_text("colour,size\nred,L\n", encoding="utf-8")
    os.utime(bad, (time.time() - 600, time.time() - 600))
    report = scan(tmp_path)
    assert [f["file"] for f in report.failed] == ["mystery.csv"]
    assert (tmp_path / "failed" / "mystery.csv").exists()
    reason = json.loads((tmp_path / "failed" / "mystery.csv.result.json").read_text())["error"]
    assert reason == report.failed[0]["error"]
    assert reason  # names what is missing, as the upload page does
    assert not Order.objects.exists()


def test_a_lone_item_report_fails_after_the_wait(tmp_path: Path) -> None:
    drop(tmp_path, PAIR[1])
    report = scan(tmp_path, pair_wait=60)
    assert report.failed == [{"file": PAIR[1], "error": "item report without its order report (timestamp 202506)"}]


def test_rows_rejected_leave_their_report_beside_the_file(tmp_path: Path) -> None:
    text = (GOLDEN / "shopify_orders_export_1.csv").read_text(encoding="utf-8").splitlines()
    header, rows = text[0], text[1:]
    broken = rows[0].replace(",paid,", ",teleported,", 1)
    assert broken != rows[0]
    (tmp_path / "s.csv").write_text("\n".join([header, broken, *rows[1:]]) + "\n", encoding="utf-8")
    os.utime(tmp_path / "s.csv", (time.time() - 600, time.time() - 600))
    report = scan(tmp_path)
    assert report.imported[0]["errors"] >= 1
    assert (tmp_path / "done" / "s.csv.errors.csv").read_text(encoding="utf-8-sig").startswith("row,column,value")


def test_the_worker_watches_registered_folders_and_the_source_records_files(tmp_path: Path) -> None:
    ShopFactory(name="Tea House", platform="shopify")
    source = folder_register(folder=tmp_path, shop_name="Tea House")
    assert (source.kind, source.address) == ("folder", str(tmp_path.resolve()))
    drop(tmp_path, "shopify_orders_export_1.csv")
    assert folders_scan_registered(importer=watched_file_import) == {"folders": 1, "imported": 1, "failed": 0}
    assert list(SourceEvent.objects.values_list("orders", "ok")) == [(2, True)]
    assert Source.objects.get(pk=source.pk).last_event_at is not None


def test_the_command_looks_once_and_prints_json(tmp_path: Path) -> None:
    drop(tmp_path, "shopify_orders_export_1.csv")
    out = StringIO()
    call_command("import_watch", str(tmp_path), "--once", "--json", stdout=out)
    answer = json.loads(out.getvalue())
    assert [i["file"] for i in answer["imported"]] == ["shopify_orders_export_1.csv"]
    assert answer["imported"][0]["orders_created"] == 2


def test_register_needs_an_existing_shop(tmp_path: Path) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--register needs --shop"):
        call_command("import_watch", str(tmp_path), "--register")
    with pytest.raises(CommandError, match="no shop is named 'Nope'"):
        call_command("import_watch", str(tmp_path), "--register", "--shop", "Nope")
