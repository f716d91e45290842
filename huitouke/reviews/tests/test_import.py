"""Review import on the golden files: counts, rejected rows by row and column, idempotency, later exports."""

from __future__ import annotations

import csv
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from huitouke.reviews.importer import ReviewRow, parse_reviews
from huitouke.reviews.models import Review, ReviewCase, ReviewCredit, ReviewEvent
from huitouke.reviews.tests.fixtures import GOLDEN, golden_archive

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("review_clock")]


def run(*args: str) -> dict:
    out = StringIO()
    call_command("import_reviews", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def errors(path: str) -> list[list[str]]:
    with Path(path).open(encoding="utf-8-sig") as fh:
        return list(csv.reader(fh))


def test_parse_csv_gb18030_reads_chinese_headers_and_values():
    parsed = parse_reviews(GOLDEN / "traderate_gb18030.csv")
    rows = [r for r in parsed.rows if isinstance(r, ReviewRow)]
    assert parsed.layout == "traderate"
    first = rows[0]
    assert (first.tid, first.oid, first.role, first.result, first.nick) == (
        "9001000000000001",
        "9001000000000101",
        "buyer",
        "good",
        "tb_alice",
    )
    assert first.created_at.isoformat() == "2025-06-20T10:00:00+08:00"
    assert (rows[1].result, rows[1].anonymous, rows[1].dsr_description) == ("bad", True, 2)
    assert rows[2].role == "seller"
    assert rows[3].created_at.isoformat() == "2025-06-23T08:15:00+08:00"


@pytest.mark.parametrize("copy_from", [200, 1], ids=["bulk_create", "copy"])
def test_import_counts_rejects_and_is_idempotent(copy_from, monkeypatch):
    monkeypatch.setattr("huitouke.reviews.services.importing.COPY_FROM", copy_from)  # 1: COPY on PostgreSQL
    _shop, orders = golden_archive()
    first = run(str(GOLDEN / "traderate_gb18030.csv"), "--shop", "店A")
    assert {k: first[k] for k in ("created", "updated", "unchanged", "rejected")} == {
        "created": 4,
        "updated": 0,
        "unchanged": 0,
        "rejected": 3,
    }
    assert set(first) == {"created", "updated", "unchanged", "rejected", "errors_file"}
    report = errors(first["errors_file"])
    assert report[0] == ["row", "column", "value", "reason"]
    assert sorted(r[:3] for r in report[1:]) == [
        ["6", "订单编号", "9001000000000099"],
        ["7", "评价结果", "很好"],
        ["8", "评价时间", "昨天"],
    ]
    assert report[3][3] == "order 9001000000000099 is not in the archive of 店A"
    assert report[1][3] == "expected good, neutral or bad (好评, 中评, 差评)"
    bob = Review.objects.get(tid="9001000000000002")
    assert (bob.customer_id, bob.order_id, bob.result, bob.anonymous) == (
        orders[1].customer_id,
        orders[1].pk,
        "bad",
        True,
    )
    assert bob.order_line is not None
    assert bob.order_line.product is not None
    assert bob.order_line.product.external_id == "6001"
    assert sorted(ReviewCase.objects.values_list("review__tid", flat=True)) == ["9001000000000002", "9001000000000004"]
    again = run(str(GOLDEN / "traderate_gb18030.csv"), "--shop", "店A")
    assert (again["created"], again["updated"], again["unchanged"], again["rejected"]) == (0, 0, 4, 3)
    assert Review.objects.count() == 4
    assert ReviewCase.objects.count() == 2


@pytest.mark.parametrize("copy_from", [200, 1], ids=["bulk_create", "copy"])
def test_later_export_updates_and_records_the_change_as_an_event(copy_from, monkeypatch):
    monkeypatch.setattr("huitouke.reviews.services.importing.COPY_FROM", copy_from)
    golden_archive()
    run(str(GOLDEN / "traderate_gb18030.csv"))
    ledger = dict(Review.objects.values_list("tid", "credit__points"))
    assert ledger == {"9001000000000001": 1, "9001000000000002": -1, "9001000000000003": 0, "9001000000000004": 0}
    assert Review.objects.get(tid="9001000000000003").not_scored_reason == "rates_buyer"
    later = run(str(GOLDEN / "traderate_later_gb18030.csv"))
    assert Review.objects.get(tid="9001000000000002").points == 1  # the stored ledger follows the change
    assert (later["created"], later["updated"], later["unchanged"], later["rejected"]) == (0, 2, 2, 0)
    assert later["errors_file"] is None
    bob = Review.objects.get(tid="9001000000000002")
    assert (bob.result, bob.reply) == ("good", "已为您换新，抱歉")
    changed = ReviewEvent.objects.get(review=bob, kind=ReviewEvent.Kind.RESULT_CHANGED)
    assert (changed.old, changed.new) == ("bad", "good")
    assert bob.case.outcome == ReviewCase.Outcome.CHANGED
    dan = Review.objects.get(tid="9001000000000004")
    assert dan.case.outcome == ReviewCase.Outcome.EXPLAINED
    assert Review.objects.count() == 4


def test_xlsx_update_leaves_columns_it_lacks_alone():
    golden_archive()
    run(str(GOLDEN / "traderate_gb18030.csv"))
    result = run(str(GOLDEN / "traderate.xlsx"))
    assert (result["created"], result["updated"], result["unchanged"]) == (0, 1, 1)
    alice = Review.objects.get(tid="9001000000000001")
    assert (alice.dsr_description, alice.dsr_service, alice.dsr_logistics) == (5, 5, 5)
    dan = Review.objects.get(tid="9001000000000004")
    assert dan.result == "bad"
    assert list(ReviewEvent.objects.filter(review=dan, kind="result_changed").values_list("old", "new")) == [
        ("neutral", "bad")
    ]


def test_generic_file_with_mapping():
    golden_archive()
    result = run(str(GOLDEN / "generic.csv"), "--mapping", str(GOLDEN / "generic_mapping.json"))
    assert (result["created"], result["rejected"]) == (1, 0)
    review = Review.objects.get()
    assert (review.tid, review.oid, review.role, review.result, review.content) == (
        "9001000000000002",
        "",
        "buyer",
        "bad",
        "起球严重",
    )


def test_file_without_required_columns_names_them(tmp_path):
    golden_archive()
    path = tmp_path / "x.csv"
    path.write_text("订单编号,买家昵称\n1,a\n", encoding="utf-8")
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=r"missing column\(s\) result \(评价结果\), created \(评价时间\)"):
        run(str(path))


def test_an_import_of_many_buyers_refreshes_them_on_postgresql_and_recomputes_the_shop_on_sqlite(monkeypatch):
    from django.db import connection

    monkeypatch.setattr("huitouke.reviews.services.importing.REFRESH_LIMIT", 0)  # every import counts as large
    golden_archive()
    run(str(GOLDEN / "traderate_gb18030.csv"))
    ReviewCredit.objects.filter(review__tid="9001000000000001").update(points=0)  # alice's ledger made stale
    run(str(GOLDEN / "traderate_later_gb18030.csv"))  # changes bob's and dan's reviews only
    ledger = dict(Review.objects.values_list("tid", "credit__points"))
    # PostgreSQL refreshes only the buyers written (set-based); SQLite recomputes the shop, mending alice too
    alice = 0 if connection.vendor == "postgresql" else 1
    assert ledger == {"9001000000000001": alice, "9001000000000002": 1, "9001000000000003": 0, "9001000000000004": 0}
