"""The staged writers (PostgreSQL's and SQLite's, whichever database the suite runs on) give exactly what the
portable writer gives: same orders, lines, customers, products, consents and counts, for every golden file and for
a later export that moves, fills and adds; parsed in this process or in the child."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huitouke.core.pii_fields import pii_cipher
from huitouke.customers.models import Consent, Customer, CustomerIdentity
from huitouke.orders.feed import FeedProcess, FeedRequest, copy_line, sqlite_cell
from huitouke.orders.importers import ImportFileError, parse_orders
from huitouke.orders.importing import (
    LINE_FIELDS,
    ORDER_FIELDS,
    ErrorReport,
    ImportResult,
    OrderWriter,
    orders_import_rows,
)
from huitouke.orders.models import Order, OrderLine, Product
from huitouke.orders.services import customer_stats_refresh
from huitouke.orders.tests.test_importing import GOLDEN, row, taobao

pytestmark = pytest.mark.django_db
postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's COPY")
sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's binding")

PROFILE = ("name", "real_name", "phone", "email", "province", "city", "district", "address")
STATS = ("order_count", "total_spent", "first_order_at", "last_order_at")

Step = tuple[Path, Path | None, str]


class _Undo(Exception):
    pass


def _snapshot() -> dict[str, Any]:
    """Everything an import writes, keyed by what the file names (handles, order numbers), not by ids."""
    handle = dict(CustomerIdentity.objects.values_list("customer_id", "handle"))
    customers = {
        handle[c["id"]]: tuple(c[f] for f in (*PROFILE, *STATS))
        for c in Customer.objects.values("id", *PROFILE, *STATS)
    }
    orders = {
        (o["shop__name"], o["order_no"]): (
            handle[o["customer_id"]],
            *(o[f] for f in ORDER_FIELDS[1:]),
            o["fingerprint"],  # the same digest from every writer
        )
        for o in Order.objects.values("shop__name", "order_no", "fingerprint", *ORDER_FIELDS)
    }
    lines = sorted(
        (line["order__order_no"], line["product__external_id"], *(line[f] for f in LINE_FIELDS if f != "product_id"))
        for line in OrderLine.objects.values("order__order_no", "product__external_id", *LINE_FIELDS)
    )
    products = set(Product.objects.values_list("shop__name", "external_id", "title", "price"))
    consents = {
        (handle[c], channel, purpose, granted, source)
        for c, channel, purpose, granted, source in Consent.objects.values_list(
            "customer_id", "channel", "purpose", "granted", "source"
        )
    }
    return {"customers": customers, "orders": orders, "lines": lines, "products": products, "consents": consents}


def _import(
    steps: list[Step], writer_class: type[OrderWriter] | None, tmp_path: Path, *, fed: bool = False
) -> tuple[list, dict]:
    """Run the steps with one writer inside a savepoint; return the counts and the snapshot, then undo it all.
    `fed`: the staged writer with the file parsed in the child process (whatever its size)."""
    counts: list[dict[str, Any]] = []
    taken: dict[str, Any] = {}
    try:
        with transaction.atomic():
            for n, (path, items, fmt) in enumerate(steps):
                _fmt, stream = parse_orders(path, items_path=items, fmt=fmt)
                result = ImportResult(format=_fmt)
                orders_import_rows(
                    stream=stream,
                    result=result,
                    report=ErrorReport(tmp_path / f"errors-{n}.csv"),
                    batch_size=2,  # several batches even for the small files
                    writer_class=writer_class,
                    feed=FeedRequest(str(path), str(items) if items else None, _fmt, None, "Asia/Shanghai", 2)
                    if fed
                    else None,
                    feed_min_bytes=0,
                )
                customer_stats_refresh(customer_ids=result.customer_ids)
                counts.append({**result.as_json(), "error_report": None, "touched": len(result.customer_ids)})
            taken = _snapshot()
            raise _Undo
    except _Undo:
        pass
    return counts, taken


GOLDEN_STEPS = [
    ("taobao_71_ExportOrderList202506.csv", "taobao_71_ExportOrderDetailList202506.csv", "auto"),
    ("taobao_54_ExportOrderList202403.csv", None, "auto"),
    ("taobao_41_ExportOrderList202402.csv", None, "auto"),
    ("tmall_ExportOrderList202501.csv", "tmall_ExportOrderDetailList202501.csv", "auto"),
    ("jd_orders_20250305.csv", None, "auto"),
    ("pdd_orders_20250302.csv", None, "auto"),
    ("shopify_orders_export_1.csv", None, "auto"),
    ("woocommerce_orders_2025-09.csv", None, "auto"),
    ("archive_seed004.xlsx", None, "generic"),
]


@pytest.mark.parametrize(("name", "items", "fmt"), GOLDEN_STEPS)
def test_both_writers_store_the_same_archive_from_each_golden_file(name, items, fmt, tmp_path):
    steps: list[Step] = [(GOLDEN / name, GOLDEN / items if items else None, fmt)] * 2  # and the no-op re-import

    portable = _import(steps, OrderWriter, tmp_path)
    staged = _import(steps, None, tmp_path)
    fed = _import(steps, None, tmp_path, fed=True)

    assert staged == portable
    assert fed == portable
    assert staged[1]["orders"]  # the comparison is not between two empty archives
    assert staged[0][1]["orders_unchanged"] == staged[0][0]["orders_created"]


def test_both_writers_agree_on_a_later_export_that_moves_fills_and_adds(tmp_path):
    # given: a first export (a masked phone, an order still shipping), then a later one (unmasked phone, the order
    # completed with its tracking number, a changed quantity, a new buyer), and a generic file answering 新品通知
    first = taobao(
        tmp_path,
        [
            row("9001", "tb_a", "10.00", phone="'138****1234"),
            row("9002", "tb_b", "20.00", status="卖家已发货，等待买家确认"),
        ],
        "first.csv",
    )
    later = taobao(
        tmp_path,
        [
            row("9001", "tb_a", "10.00", phone="'13800001234"),
            row("9002", "tb_b", "20.00", tracking="YT9", carrier="圆通速递"),
            row("9003", "tb_c", "5.00", when="2025-07-01 08:00:00"),
        ],
        "later.csv",
    )
    answers = tmp_path / "answers.csv"
    answers.write_text(
        "顾客ID,交易日期,成交金额,购买商品,愿意接收新品通知\n"
        "wang,2025-05-01 10:00,88,绿茶,是\n"
        "li,2025-05-02 10:00,66,红茶,否\n",
        encoding="utf-8",
    )
    steps: list[Step] = [(first, None, "auto"), (later, None, "auto"), (answers, None, "generic")]

    # when
    portable = _import(steps, OrderWriter, tmp_path)
    staged = _import(steps, None, tmp_path)

    # then
    assert staged == portable
    counts, archive = staged
    assert [(c["orders_created"], c["orders_updated"], c["orders_unchanged"]) for c in counts] == [
        (2, 0, 0),
        (1, 2, 0),
        (2, 0, 0),
    ]
    assert archive["customers"]["tb_a"][2] == "13800001234"  # the unmasked phone replaced the masked one
    assert archive["orders"][("山岚茶食", "9002")][1] == "completed"
    assert {(h, g) for h, _ch, p, g, _s in archive["consents"] if p == "new_products"} == {
        ("wang", True),
        ("li", False),
    }


def test_an_order_report_alone_never_replaces_the_item_reports_lines(tmp_path):
    # given an order report imported with its item report (SKUs, multi-item orders), then the order report alone
    orders = GOLDEN / "taobao_71_ExportOrderList202506.csv"
    items = GOLDEN / "taobao_71_ExportOrderDetailList202506.csv"
    with_items = _import([(orders, items, "auto")], OrderWriter, tmp_path)[1]
    steps: list[Step] = [(orders, items, "auto"), (orders, None, "auto")]

    # when each writer runs both
    portable = _import(steps, OrderWriter, tmp_path)
    staged = _import(steps, None, tmp_path)
    fed = _import(steps, None, tmp_path, fed=True)

    # then the lines and products are the item report's, exactly, and the second import changed no order
    assert staged == portable
    assert fed == portable
    counts, archive = portable
    assert archive["lines"] == with_items["lines"]
    assert archive["products"] == with_items["products"]
    assert any(line[4] for line in archive["lines"])  # the SKUs are there
    assert len(archive["lines"]) > len(archive["orders"])  # and the multi-item orders
    assert counts[1]["orders_updated"] == 0
    assert counts[1]["orders_unchanged"] == counts[0]["orders_created"]


def test_an_order_report_alone_still_gives_new_orders_their_summary_line(tmp_path):
    # given orders first imported without their item report, then again with a new order
    first = taobao(tmp_path, [row("9101", "tb_a", "10.00")], "first.csv")
    later = taobao(tmp_path, [row("9101", "tb_a", "12.00"), row("9102", "tb_b", "20.00")], "later.csv")
    steps: list[Step] = [(first, None, "auto"), (later, None, "auto")]
    portable = _import(steps, OrderWriter, tmp_path)
    staged = _import(steps, None, tmp_path)
    assert staged == portable
    counts, archive = portable
    assert [(c["orders_created"], c["orders_updated"]) for c in counts] == [(1, 0), (1, 1)]
    # the archived order keeps the line it has (a summary is never a better source), the new one gets its own
    assert [(line[0], line[5], str(line[7])) for line in archive["lines"]] == [
        ("9101", 1, "10.00"),
        ("9102", 1, "20.00"),
    ]
    assert str(archive["orders"][("山岚茶食", "9101")][ORDER_FIELDS.index("paid_amount")]) == "12.00"


def test_cells_holding_separators_and_escapes_arrive_intact(tmp_path):
    # given: carriers holding what the staging text uses as separators or must escape (SQLite's unit and record
    # separators, COPY's tab and backslash); the separators are control characters, which the parser drops
    # (core.text: no text may hold them), so only tab and backslash reach the encoder (test_feed covers the rest)
    odd = ["顺丰\x1f速运", "中通\x1e快递", "圆通\t速递", "韵达\\快递"]
    path = taobao(tmp_path, [row(f"95{i}", f"tb_{i}", "10.00", carrier=c) for i, c in enumerate(odd)])
    steps: list[Step] = [(path, None, "auto")] * 2

    # when
    portable = _import(steps, OrderWriter, tmp_path)
    staged = _import(steps, None, tmp_path)
    fed = _import(steps, None, tmp_path, fed=True)

    # then
    assert staged == portable
    assert fed == portable
    carriers = {k[1]: v[ORDER_FIELDS.index("logistics_company")] for k, v in staged[1]["orders"].items()}
    assert carriers == {"950": "顺丰速运", "951": "中通快递", "952": "圆通\t速递", "953": "韵达\\快递"}
    assert staged[0][1]["orders_unchanged"] == 4


def test_the_child_reports_rejected_rows_like_the_thread_does(tmp_path):
    # given: a file with two good orders and two bad rows (an unknown status, an order time that is no date)
    path = taobao(
        tmp_path,
        [
            row("9201", "tb_a", "10.00"),
            row("9202", "tb_b", "20.00", status="外星状态"),
            row("9203", "tb_c", "30.00", when="yesterday"),
            row("9204", "tb_d", "40.00"),
        ],
    )
    steps: list[Step] = [(path, None, "auto")]

    # when
    threaded = _import(steps, None, tmp_path)
    reports_threaded = (tmp_path / "errors-0.csv").read_text(encoding="utf-8-sig")
    fed = _import(steps, None, tmp_path, fed=True)
    reports_fed = (tmp_path / "errors-0.csv").read_text(encoding="utf-8-sig")

    # then
    assert fed == threaded
    assert (fed[0][0]["orders_created"], fed[0][0]["errors"], fed[0][0]["rows"]) == (2, 2, 4)
    assert reports_fed == reports_threaded
    assert "unknown order status" in reports_fed


def test_a_file_the_child_cannot_read_raises_the_same_error(tmp_path):
    path = taobao(tmp_path, [row("9301", "tb_a", "10.00")])
    request = FeedRequest(str(path), None, "jd", None, "Asia/Shanghai", 10, cipher=pii_cipher())
    feed = FeedProcess(request, lambda name, platform: 1)

    with pytest.raises(ImportFileError, match="JD"):
        list(feed.batches())


@sqlite_only
@settings(max_examples=200, deadline=None)
@given(st.datetimes(timezones=st.timezones(), allow_imaginary=False))
def test_sqlite_staging_binds_times_as_django_does(when):
    assert sqlite_cell(when) == connection.ops.adapt_datetimefield_value(when)


@postgresql_only
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00")),
        min_size=1,
        max_size=4,
    )
)
def test_copy_text_carries_any_text_into_postgresql_unchanged(texts):
    with connection.cursor() as cur:
        cur.execute("CREATE TEMP TABLE IF NOT EXISTS copy_probe (n integer, t text, d numeric, b boolean)")
        cur.execute("TRUNCATE copy_probe")
        payload = "".join(copy_line((i, t, Decimal("12.50"), i % 2 == 0)) for i, t in enumerate(texts))
        with cur.cursor.copy("COPY copy_probe (n, t, d, b) FROM STDIN") as copy:
            copy.write(payload.encode())
        cur.execute("SELECT t, d, b FROM copy_probe ORDER BY n")
        assert cur.fetchall() == [(t, Decimal("12.50"), i % 2 == 0) for i, t in enumerate(texts)]


def test_an_import_job_of_a_large_pair_is_parsed_by_the_child_process(tmp_path):
    # given: a generated Taobao pair above the size from which imports hand the parsing to a child process
    from benchmarks.taobao_export import write_export_pair
    from huitouke.jobs import ImportRequest, orders_import
    from huitouke.orders.importing import FEED_MIN_BYTES

    pair = write_export_pair(tmp_path, lines=24_000, seed=3)
    size = pair.orders_path.stat().st_size + pair.items_path.stat().st_size
    assert size >= FEED_MIN_BYTES

    # when: imported the way the command and the upload job do it, with progress
    seen: list[tuple[int, int]] = []
    imported = orders_import(
        request=ImportRequest(path=str(pair.orders_path), items_path=str(pair.items_path)),
        progress=lambda done, total: seen.append((done, total)),
    )
    result = imported.as_json()

    # then: the child parsed it and everything arrived, progress reported, stats refreshed
    assert imported.parser == "process"
    assert (result["orders_created"], result["lines"], result["customers_created"]) == (
        pair.orders,
        24_000,
        pair.buyers,
    )
    assert (result["errors"], result["rows"]) == (0, pair.orders)
    assert seen[-1][0] == pair.orders
    assert Order.objects.count() == pair.orders
    assert Customer.objects.filter(order_count__gt=0).count() > pair.buyers // 2
