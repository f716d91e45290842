"""The per-order fingerprint (`Order.fingerprint`): a re-import skips an archived order whose parsed content and
customer are the same without reading its lines, writes no row for an unchanged file, and still finds every change
(an order field, a line's quantity or refund state, the customer). Run against both writers: the staged one of
the database the suite runs on, and the portable `OrderWriter`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from huitouke.customers.models import Customer
from huitouke.orders.importers import parse_orders
from huitouke.orders.importing import ErrorReport, ImportResult, OrderWriter, orders_import_rows
from huitouke.orders.models import Order, OrderLine
from huitouke.orders.tests.test_importing import GOLDEN

pytestmark = pytest.mark.django_db

WRITERS = [pytest.param(None, id="staged"), pytest.param(OrderWriter, id="portable")]
ORDERS, ITEMS = "taobao_71_ExportOrderList202506.csv", "taobao_71_ExportOrderDetailList202506.csv"
TABLES = (Order._meta.db_table, OrderLine._meta.db_table)
#: the order of the golden pair with two item lines (龙井 ×2, then a 紫砂杯); the other is 3812345678901234568
TWO_LINES = "3812345678901234567"


def _pair(tmp_path: Path, name: str, edit: Callable[[str], str] | None = None) -> tuple[Path, Path]:
    """The golden Taobao pair copied under `name`, its item report passed through `edit`."""
    orders, items = tmp_path / f"{name}-orders.csv", tmp_path / f"{name}-items.csv"
    orders.write_bytes((GOLDEN / ORDERS).read_bytes())
    text = (GOLDEN / ITEMS).read_bytes().decode("gb18030")
    items.write_bytes((edit(text) if edit else text).encode("gb18030"))
    return orders, items


def _import(tmp_path: Path, files: tuple[Path, Path | None], writer_class: type[OrderWriter] | None) -> ImportResult:
    fmt, stream = parse_orders(files[0], items_path=files[1])
    result = ImportResult(format=fmt)
    orders_import_rows(
        stream=stream,
        result=result,
        report=ErrorReport(tmp_path / "errors.csv"),
        batch_size=1,  # a batch per order
        writer_class=writer_class,
    )
    return result


def _counts(result: ImportResult) -> tuple[int, int, int, int]:
    return result.orders_created, result.orders_updated, result.orders_unchanged, result.lines


@contextmanager
def _row_writes() -> Iterator[dict[str, int]]:
    """Rows inserted, updated or deleted in the orders and order lines tables inside the block, by table (the
    database's own count: PostgreSQL's per-transaction statistics, SQLite's triggers)."""
    written = dict.fromkeys(TABLES, 0)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            query = """SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables
                       WHERE relname IN (%s, %s)"""
            cur.execute(query, TABLES)
            before = dict(cur.fetchall())
            yield written
            cur.execute(query, TABLES)
            for table, count in cur.fetchall():
                written[table] = count - before.get(table, 0)
            return
        cur.execute("CREATE TEMP TABLE fp_writes (tbl text NOT NULL)")
        for table in TABLES:
            for event in ("INSERT", "UPDATE", "DELETE"):
                cur.execute(
                    f"CREATE TEMP TRIGGER fp_{table}_{event.lower()} AFTER {event} ON main.{table} "
                    f"BEGIN INSERT INTO fp_writes VALUES ('{table}'); END"
                )
        yield written
        cur.execute("SELECT tbl, count(*) FROM fp_writes GROUP BY tbl")
        written.update(dict(cur.fetchall()))
        cur.execute("DROP TABLE fp_writes")
        for table in TABLES:
            for event in ("insert", "update", "delete"):
                cur.execute(f"DROP TRIGGER fp_{table}_{event}")


def _fingerprints() -> dict[str, int | None]:
    return dict(Order.objects.values_list("order_no", "fingerprint"))


def _lines(order_no: str) -> list[tuple[int, str, int, str]]:
    return list(
        OrderLine.objects.filter(order__order_no=order_no)
        .order_by("line_no")
        .values_list("line_no", "sku", "quantity", "refund_state")
    )


def _line_reads(queries: CaptureQueriesContext) -> list[str]:
    table = connection.ops.quote_name(OrderLine._meta.db_table)
    return [q["sql"] for q in queries.captured_queries if table in q["sql"] or OrderLine._meta.db_table in q["sql"]]


@pytest.mark.parametrize("writer_class", WRITERS)
def test_an_unchanged_reimport_writes_no_row_and_reads_no_line(tmp_path, writer_class):
    files = _pair(tmp_path, "a")
    first = _import(tmp_path, files, writer_class)
    assert _counts(first) == (2, 0, 0, 3)
    stored = _fingerprints()
    assert len(stored) == 2
    assert None not in stored.values()
    assert len(set(stored.values())) == 2
    updated_at = dict(Order.objects.values_list("order_no", "updated_at"))

    with _row_writes() as written, CaptureQueriesContext(connection) as queries:
        again = _import(tmp_path, files, writer_class)

    assert _counts(again) == (0, 0, 2, 0)
    assert written == {"orders_order": 0, "orders_orderline": 0}
    assert _line_reads(queries) == []
    assert _fingerprints() == stored
    assert dict(Order.objects.values_list("order_no", "updated_at")) == updated_at


@pytest.mark.parametrize("writer_class", WRITERS)
@pytest.mark.parametrize(
    ("edit", "line"),
    [
        # the 龙井 line bought three times instead of twice
        (lambda text: text.replace(",128.00,2,LJ-250,", ",128.00,3,LJ-250,", 1), (1, "LJ-250-G", 3, "")),
        # the 紫砂杯 line of a shipped order closed: refunded
        (
            lambda text: text.replace("赠杯垫,,卖家已发货，等待买家确认", "赠杯垫,,交易关闭", 1),
            (2, "ZS-01-D", 1, "refunded"),
        ),
    ],
    ids=["quantity", "refund-state"],
)
def test_a_changed_line_is_found_and_the_order_fingerprinted_again(tmp_path, writer_class, edit, line):
    _import(tmp_path, _pair(tmp_path, "a"), writer_class)
    stored = _fingerprints()
    before = _lines(TWO_LINES)
    assert line not in before
    changed = _pair(tmp_path, "b", edit)

    with _row_writes() as written:
        result = _import(tmp_path, changed, writer_class)

    assert _counts(result) == (0, 1, 1, 2)
    after = _lines(TWO_LINES)
    assert line in after
    assert len(after) == 2
    # the order's fingerprint only (its fields are the same), its two lines replaced: deleted and inserted
    assert written == {"orders_order": 1, "orders_orderline": 4}
    now = _fingerprints()
    assert now[TWO_LINES] not in (None, stored[TWO_LINES])
    assert {k: v for k, v in now.items() if k != TWO_LINES} == {k: v for k, v in stored.items() if k != TWO_LINES}

    with _row_writes() as written:
        again = _import(tmp_path, changed, writer_class)
    assert _counts(again) == (0, 0, 2, 0)
    assert written == {"orders_order": 0, "orders_orderline": 0}

    back = _import(tmp_path, _pair(tmp_path, "c"), writer_class)  # the first export again: changed back
    assert _counts(back) == (0, 1, 1, 2)
    assert _lines(TWO_LINES) == before
    assert _fingerprints() == stored


@pytest.mark.parametrize("writer_class", WRITERS)
def test_orders_without_a_fingerprint_are_compared_then_fingerprinted(tmp_path, writer_class):
    files = _pair(tmp_path, "a")
    _import(tmp_path, files, writer_class)
    stored = _fingerprints()
    Order.objects.update(fingerprint=None)  # as orders archived before the fingerprint, or by the demo

    with _row_writes() as written, CaptureQueriesContext(connection) as queries:
        result = _import(tmp_path, files, writer_class)

    assert _counts(result) == (0, 0, 2, 0)
    assert written == {"orders_order": 2, "orders_orderline": 0}  # the fingerprints, stored lazily
    assert _line_reads(queries) != []  # compared line by line
    assert _fingerprints() == stored
    with _row_writes() as written:
        assert _counts(_import(tmp_path, files, writer_class)) == (0, 0, 2, 0)
    assert written == {"orders_order": 0, "orders_orderline": 0}


@pytest.mark.parametrize("writer_class", WRITERS)
def test_an_order_moved_to_another_customer_is_moved_back_despite_its_fingerprint(tmp_path, writer_class):
    files = _pair(tmp_path, "a")
    _import(tmp_path, files, writer_class)
    order = Order.objects.get(order_no=TWO_LINES)
    owner = order.customer_id
    other = Customer.objects.exclude(pk=owner).order_by("pk").first()
    assert other is not None
    Order.objects.filter(pk=order.pk).update(customer=other)

    result = _import(tmp_path, files, writer_class)

    assert _counts(result) == (0, 1, 1, 0)
    assert Order.objects.get(pk=order.pk).customer_id == owner
    assert result.customer_ids == {owner, other.pk}


@pytest.mark.parametrize("writer_class", WRITERS)
def test_an_order_summary_keeps_the_archived_lines_and_their_fingerprint(tmp_path, writer_class):
    files = _pair(tmp_path, "a")
    _import(tmp_path, files, writer_class)
    stored = _fingerprints()
    lines = _lines(TWO_LINES)

    summary = _import(tmp_path, (files[0], None), writer_class)  # the order report alone: summary lines

    assert _counts(summary) == (0, 0, 2, 0)
    assert _lines(TWO_LINES) == lines
    assert _fingerprints() == stored
    with _row_writes() as written:
        assert _counts(_import(tmp_path, files, writer_class)) == (0, 0, 2, 0)
    assert written == {"orders_order": 0, "orders_orderline": 0}
