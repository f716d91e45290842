"""Load first, index after (orders.indexes): a fed import that defers the order tables' secondary indexes (and the
customer tables') stores the same archive as one that keeps them, and leaves every declared index in place; a
missing one is restored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from huitouke.customers.models import Customer
from huitouke.orders import importing, indexes, staging
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
#: deferred too when the customer tables are small against the file
CUSTOMER_DECLARED = {
    "customer_created_idx",
    "customer_province_idx",
    "customer_name_search_idx",
    "customer_cover_idx",
    "customer_phone_dg_idx",
    "customer_phone_last4_dg_idx",
    "customer_email_dg_idx",
    "customer_real_name_dg_idx",
    "identity_handle_search_idx",
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


def _stats() -> list[tuple]:
    return list(
        Customer.objects.order_by("name").values_list(
            "name", "order_count", "total_spent", "first_order_at", "last_order_at"
        )
    )


@pytest.mark.parametrize("customers", [False, True])
def test_a_deferred_import_stores_the_same_archive_and_rebuilds_the_indexes(tmp_path, monkeypatch, customers):
    _pg()
    path = GOLDEN / "taobao_71_ExportOrderList202506.csv"
    monkeypatch.setattr(importing, "defer_worthwhile", lambda size: False)
    kept = _import(path, tmp_path)
    expected = _archive()
    Order.objects.all().delete()
    Customer.objects.all().delete()
    monkeypatch.setattr(importing, "defer_worthwhile", lambda size: True)
    monkeypatch.setattr(importing, "customers_defer_worthwhile", lambda size: customers)
    monkeypatch.setattr(staging, "ANALYZE_AFTER", 0)  # the writer's finish analyses the tables it filled

    with CaptureQueriesContext(connection) as queries:
        deferred = _import(path, tmp_path)

    # the order tables' secondary indexes, the recovery report's counted-orders index among them, the customer
    # list's sort indexes and the five foreign keys; with the customer tables small, all their declared indexes
    assert (kept.indexes_deferred, deferred.indexes_deferred) == (0, 22 if customers else 13)
    assert deferred.orders_created == kept.orders_created > 0
    assert _archive() == expected
    assert indexes._present() >= DECLARED | CUSTOMER_DECLARED
    assert indexes._missing_foreign_keys() == []
    # the deferred import refreshed its customers' stats itself, before the indexes were built
    assert (kept.stats_refreshed, deferred.stats_refreshed) == (False, True)
    stats = _stats()
    assert (
        sum(count for _name, count, *_rest in stats)
        == sum(1 for status in Order.objects.values_list("status", flat=True) if status in Order.COUNTED)
        > 0
    )
    from huitouke.orders.services import customer_stats_refresh

    assert customer_stats_refresh(customer_ids=deferred.customer_ids) == 0  # nothing left to correct
    assert _stats() == stats
    # the customers analysed once, after their stats; the orders once, by the writer
    analysed = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("ANALYZE")]
    assert analysed.count('ANALYZE "customers_customer"') == 1
    assert analysed.count('ANALYZE "orders_order"') == 1


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
        assert indexes.customers_defer_worthwhile(10**9) is False
        return
    assert indexes.defer_worthwhile(10**9) is True  # an empty archive, a gigabyte file
    assert indexes.defer_worthwhile(0) is False
    assert indexes.customers_defer_worthwhile(10**9) is True
    assert indexes.customers_defer_worthwhile(0) is False


def test_a_missing_customer_index_is_restored():
    _pg()
    with connection.cursor() as cur:
        cur.execute('DROP INDEX "customer_phone_dg_idx"')
        cur.execute('DROP INDEX "identity_handle_search_idx"')
    assert sorted(indexes.order_indexes_restore()) == ["customer_phone_dg_idx", "identity_handle_search_idx"]
    assert indexes._present() >= DECLARED | CUSTOMER_DECLARED


def test_a_missing_foreign_key_is_added_back_validated():
    _pg()
    keys = indexes._foreign_keys()
    with connection.cursor() as cur:
        cur.execute(f'ALTER TABLE orders_order DROP CONSTRAINT "{keys[("orders_order", "customer_id")]}"')
    assert indexes.order_indexes_restore() == ["orders_order.customer_id foreign key"]
    assert indexes._foreign_keys() == keys  # the same name, as migrations made it
    with connection.cursor() as cur:
        cur.execute(
            "SELECT condeferrable, condeferred, convalidated FROM pg_constraint WHERE conname = %s",
            [keys[("orders_order", "customer_id")]],
        )
        assert cur.fetchone() == (True, True, True)
    assert indexes.order_indexes_restore() == []


def test_a_foreign_key_that_rows_break_comes_back_not_valid(caplog):
    _pg()
    from huitouke.orders.tests.factories import OrderFactory

    order: Any = OrderFactory()
    keys = indexes._foreign_keys()
    name = keys[("orders_order", "customer_id")]
    with connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cur.execute(f'ALTER TABLE orders_order DROP CONSTRAINT "{name}"')
        cur.execute("UPDATE orders_order SET customer_id = -1 WHERE id = %s", [order.pk])

    assert indexes.order_indexes_restore() == ["orders_order.customer_id foreign key"]

    # back, checking every later write (not the row that broke it), and the breach logged; nothing left to add
    with connection.cursor() as cur:
        cur.execute("SELECT convalidated FROM pg_constraint WHERE conname = %s", [name])
        assert cur.fetchone() == (False,)
    assert "break customer_id" in caplog.text
    assert indexes.order_indexes_restore() == []
