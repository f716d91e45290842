"""Load first, index after (orders.indexes): a fed import that defers the order tables' secondary indexes stores
the same archive as one that keeps them, and leaves every declared index in place; a missing one is restored."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from huitouke.orders import importing, indexes
from huitouke.orders.feed import FeedRequest
from huitouke.orders.importers import parse_orders
from huitouke.orders.importing import ErrorReport, ImportResult, orders_import_rows
from huitouke.orders.models import Order, OrderLine
from huitouke.orders.tests.test_importing import GOLDEN

pytestmark = pytest.mark.django_db

DECLARED = {
    "order_customer_idx",
    "order_shop_time_idx",
    "orderline_product_idx",
    "customer_sort_last_order_idx",
    "customer_sort_spent_idx",
    "customer_sort_orders_idx",
    "customer_sort_name_idx",
}


def _pg() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("indexes are deferred on PostgreSQL only")


def _import(path: Path, tmp_path: Path) -> ImportResult:
    fmt, stream = parse_orders(path)
    result = ImportResult(format=fmt)
    orders_import_rows(
        stream=stream,
        result=result,
        report=ErrorReport(tmp_path / "errors.csv"),
        feed=FeedRequest(str(path), None, fmt, None, "Asia/Shanghai"),
        feed_min_bytes=0,
    )
    return result


def _archive() -> list[tuple]:
    orders = Order.objects.order_by("order_no").values_list(
        "order_no", "customer__name", "status", "paid_amount", "refund_amount", "ordered_at"
    )
    lines = OrderLine.objects.order_by("order__order_no", "line_no").values_list(
        "order__order_no", "line_no", "title", "quantity", "amount", "refund_state"
    )
    return [*orders, *lines]


def test_a_deferred_import_stores_the_same_archive_and_rebuilds_the_indexes(tmp_path, monkeypatch):
    _pg()
    path = GOLDEN / "taobao_71_ExportOrderList202506.csv"
    monkeypatch.setattr(importing, "defer_worthwhile", lambda size: False)
    kept = _import(path, tmp_path)
    expected = _archive()
    Order.objects.all().delete()
    monkeypatch.setattr(importing, "defer_worthwhile", lambda size: True)

    deferred = _import(path, tmp_path)

    # the order tables' secondary indexes, the recovery report's counted-orders index among them
    assert (kept.indexes_deferred, deferred.indexes_deferred) == (0, 8)
    assert deferred.orders_created == kept.orders_created > 0
    assert _archive() == expected
    assert indexes._present() >= DECLARED


def test_a_missing_index_is_restored_and_a_complete_set_left_alone():
    _pg()
    with connection.cursor() as cur:
        cur.execute('DROP INDEX "order_shop_time_idx"')
    assert indexes.order_indexes_restore() == ["order_shop_time_idx"]
    assert indexes._present() >= DECLARED
    assert indexes.order_indexes_restore() == []


def test_defer_only_when_the_file_is_large_against_the_archive():
    if connection.vendor != "postgresql":
        assert indexes.defer_worthwhile(10**9) is False
        return
    assert indexes.defer_worthwhile(10**9) is True  # an empty archive, a gigabyte file
    assert indexes.defer_worthwhile(0) is False
