"""The import writer and the import orchestration against the real database."""

from __future__ import annotations

import csv
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from huitouke.customers.models import Consent, Customer, CustomerIdentity
from huitouke.jobs import ImportRequest, orders_import
from huitouke.loyalty.models import Membership
from huitouke.loyalty.services import LevelSpec, levels_set
from huitouke.orders.importers import ImportFileError
from huitouke.orders.models import Order, OrderLine, Product, Shop
from huitouke.orders.services import shop_get_or_create

pytestmark = pytest.mark.django_db

GOLDEN = Path(__file__).resolve().parents[1] / "importers" / "tests" / "golden"

HEADER = (
    "订单编号,买家会员名,买家应付货款,买家应付邮费,总金额,买家实际支付金额,订单状态,收货人姓名,收货地址,"
    "联系手机,订单创建时间,订单付款时间,宝贝标题,宝贝总数量,物流单号,物流公司,店铺名称\n"
)


def taobao(tmp_path: Path, rows: list[str], name: str = "ExportOrderList.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="gb18030")
    return path


def row(no: str, buyer: str, paid: str, status: str = "交易成功", when: str = "2025-06-18 10:00:00", **kw: str) -> str:
    phone = kw.get("phone", "'13800001234")
    return (
        f'="{no}",{buyer},{paid},0.00,{paid},{paid},{status},张**,浙江省 杭州市 西湖区 文三路1号(310000),{phone},'
        f"{when},{when},龙井茶 250g,1,{kw.get('tracking', '')},{kw.get('carrier', '')},山岚茶食"
    )


def run(path: Path, **kw) -> dict:
    return orders_import(request=ImportRequest(path=str(path), **kw)).as_json()


def test_import_creates_orders_customers_products_and_refreshes_stats(tmp_path):
    shop = shop_get_or_create(name="山岚茶食", platform="taobao")
    levels_set(shop=shop, specs=[LevelSpec("普通会员", Decimal("0"), 1, 100), LevelSpec("VIP", Decimal("500"), 3, 95)])
    path = taobao(
        tmp_path,
        [
            row("1930679858170647001", "tb_alice", "128.00"),
            row("1930679858170647002", "tb_alice", "400.00", when="2025-07-01 09:00:00"),
            row("1930679858170647003", "tb_bob", "88.00", status="交易关闭"),
        ],
    )

    result = run(path)

    assert result == {
        "format": "taobao",
        "rows": 3,
        "orders_created": 3,
        "orders_updated": 0,
        "orders_unchanged": 0,
        "lines": 3,
        "customers_created": 2,
        "errors": 0,
        "error_report": None,
    }
    alice = CustomerIdentity.objects.get(platform="taobao", handle="tb_alice").customer
    assert (alice.order_count, alice.total_spent) == (2, Decimal("528.00"))
    assert alice.phone == "13800001234"
    assert (alice.province, alice.city, alice.district) == ("浙江省", "杭州市", "西湖区")
    assert alice.real_name == ""  # 张** is masked: never stored as the real name
    assert Order.objects.get(order_no="1930679858170647001").shop == shop
    assert Product.objects.filter(shop=shop).count() == 1
    assert Membership.objects.get(customer=alice).level.name == "VIP"
    bob = CustomerIdentity.objects.get(handle="tb_bob").customer
    assert bob.order_count == 0  # a closed order is not a purchase


def test_reimport_is_a_no_op_and_says_so(tmp_path):
    path = taobao(tmp_path, [row("1001", "tb_a", "10.00"), row("1002", "tb_b", "20.00")])
    run(path)
    before = list(Order.objects.values_list("id", "updated_at"))

    again = run(path)

    assert (again["orders_created"], again["orders_updated"], again["orders_unchanged"]) == (0, 0, 2)
    assert (again["lines"], again["customers_created"]) == (0, 0)
    assert list(Order.objects.values_list("id", "updated_at")) == before
    out = tmp_path / "out.txt"
    with out.open("w") as fh:
        call_command("import_orders", str(path), stdout=fh)
    assert "nothing changed" in out.read_text()


def test_later_export_moves_status_and_timestamps(tmp_path):
    run(taobao(tmp_path, [row("2001", "tb_a", "10.00", status="卖家已发货，等待买家确认")], "a.csv"))
    assert Order.objects.get().status == "shipped"

    result = run(taobao(tmp_path, [row("2001", "tb_a", "10.00", tracking="YT123", carrier="圆通速递")], "b.csv"))

    order = Order.objects.get()
    assert (result["orders_updated"], result["orders_unchanged"]) == (1, 0)
    assert (order.status, order.tracking_no, order.logistics_company) == ("completed", "YT123", "圆通速递")
    assert OrderLine.objects.count() == 1


def test_bad_rows_are_reported_and_good_rows_still_land(tmp_path):
    path = taobao(
        tmp_path,
        [
            row("3001", "tb_a", "10.00"),
            row("3002", "tb_b", "ten yuan"),
            row("3003", "tb_c", "5.00", status="火星状态"),
            row("3004", "tb_d", "7.00"),
        ],
    )

    result = run(path)

    assert (result["orders_created"], result["errors"]) == (2, 2)
    assert sorted(Order.objects.values_list("order_no", flat=True)) == ["3001", "3004"]
    with open(result["error_report"], encoding="utf-8-sig") as fh:
        report = list(csv.DictReader(fh))
    assert [(r["row"], r["column"], r["value"]) for r in report] == [
        ("3", "买家应付货款", "ten yuan"),
        ("4", "订单状态", "火星状态"),
    ]
    assert all(r["reason"] for r in report)


def test_unreadable_file_changes_nothing(tmp_path):
    junk = tmp_path / "x.csv"
    junk.write_bytes(b"\x00\x01\x02binary\xff\xfe" * 100)
    with pytest.raises(ImportFileError):
        run(junk)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ImportFileError):
        run(empty)
    assert Order.objects.count() == Customer.objects.count() == Shop.objects.count() == 0


def test_formula_cells_are_stored_as_text(tmp_path):
    run(taobao(tmp_path, [row("4001", "=cmd|calc", "10.00", phone="@SUM(1)")]))
    identity = CustomerIdentity.objects.get()
    assert identity.handle == "=cmd|calc"


def test_shop_option_overrides_the_file(tmp_path):
    run(taobao(tmp_path, [row("5001", "tb_a", "10.00")]), shop="我的小店")
    assert Order.objects.get().shop.name == "我的小店"


@pytest.mark.parametrize(
    ("name", "items", "fmt"),
    [
        ("taobao_71_ExportOrderList202506.csv", "taobao_71_ExportOrderDetailList202506.csv", "taobao"),
        ("tmall_ExportOrderList202501.csv", "tmall_ExportOrderDetailList202501.csv", "taobao"),
        ("jd_orders_20250305.csv", None, "jd"),
        ("pdd_orders_20250302.csv", None, "pdd"),
        ("shopify_orders_export_1.csv", None, "shopify"),
        ("woocommerce_orders_2025-09.csv", None, "woocommerce"),
        ("archive_seed004.xlsx", None, "generic"),
    ],
)
def test_every_golden_file_imports_and_reimports_as_no_op(name, items, fmt):
    kw = {"items_path": str(GOLDEN / items)} if items else {}
    if fmt == "generic":
        kw["fmt"] = "generic"
    first = run(GOLDEN / name, **kw)
    second = run(GOLDEN / name, **kw)

    assert first["format"] == fmt
    assert first["orders_created"] >= 1
    assert second["orders_created"] == second["orders_updated"] == 0
    assert second["orders_unchanged"] == first["orders_created"]
    assert Order.objects.count() == first["orders_created"]
    counted = Customer.objects.filter(order_count__gt=0)
    assert all(c.total_spent > 0 for c in counted)


def test_shopify_accepts_marketing_becomes_consent():
    run(GOLDEN / "shopify_orders_export_1.csv")
    assert Consent.objects.filter(channel="email", purpose="marketing").exists()


def test_a_handle_that_is_an_email_or_phone_never_becomes_the_display_name(tmp_path):
    """Issue 14: a Shopify buyer's handle is their email; as the display name every role would read it in clear.
    (test_staging checks that every writer stores the same names.)"""
    path = tmp_path / "archive.csv"
    path.write_text(
        "顾客ID,交易日期,成交金额,购买商品,姓名\n"
        "13601230792,2025-05-01 10:00,88,绿茶,\n"
        "hwilson@yahoo.com,2025-05-02 10:00,66,红茶,\n"
        "amy@example.com,2025-05-03 10:00,50,白茶,Amy Lee\n"
        "tb_小鱼,2025-05-04 10:00,50,白茶,张凡\n",
        encoding="utf-8",
    )
    run(path, fmt="generic")
    run(GOLDEN / "shopify_orders_export_1.csv")

    names = dict(CustomerIdentity.objects.values_list("handle", "customer__name"))
    assert names["13601230792"] == "136****0792"
    assert names["hwilson@yahoo.com"] == "h***@yahoo.com"
    assert names["amy@example.com"] == "Amy Lee"
    assert names["tb_小鱼"] == "tb_小鱼"
    assert names["anna.schmidt@example.com"] == "Anna Schmidt"
    assert [n for n in names.values() if re.search(r"[0-9]{7}", n) or re.search(r"[^*]@", n)] == []


def test_a_new_products_column_joins_or_leaves_the_consent_group(tmp_path):
    path = tmp_path / "archive.csv"
    path.write_text(
        "顾客ID,交易日期,成交金额,购买商品,愿意接收新品通知\n"
        "wang,2025-05-01 10:00,88,绿茶,是\n"
        "li,2025-05-02 10:00,66,红茶,否\n"
        "zhao,2025-05-03 10:00,50,白茶,\n"
        "sun,2025-05-04 10:00,50,白茶,也许\n",
        encoding="utf-8",
    )
    result = run(path, fmt="generic")
    assert result["errors"] == 1  # "也许" is neither yes nor no: reported with its column, the row not imported
    answers = {
        (handle, granted)
        for handle, granted in Consent.objects.filter(purpose="new_products").values_list(
            "customer__identities__handle", "granted"
        )
    }
    assert answers == {("wang", True), ("li", False)}
    assert Consent.objects.filter(purpose="new_products", customer__identities__handle="wang").count() == 3
    with open(result["error_report"], encoding="utf-8-sig") as fh:
        report = list(csv.reader(fh))
    assert report[1][1:] == ["愿意接收新品通知", "也许", "expected yes or no"]


def test_cli_json_and_errors(tmp_path, capsys):
    path = taobao(tmp_path, [row("6001", "tb_a", "10.00")])
    call_command("import_orders", str(path), "--json")
    printed = json.loads(capsys.readouterr().out)
    assert printed["orders_created"] == 1

    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no such file"):
        call_command("import_orders", str(tmp_path / "missing.csv"))
    bad = tmp_path / "mapping.json"
    bad.write_text("[1, 2]")
    with pytest.raises(CommandError, match="--mapping"):
        call_command("import_orders", str(path), "--mapping", str(bad))


def test_a_batch_mixing_new_and_existing_orders_creates_updates_and_keeps(tmp_path):
    # given: two orders already imported, the second one still shipped (not yet confirmed)
    run(
        taobao(
            tmp_path, [row("7001", "tb_a", "10.00"), row("7002", "tb_b", "20.00", status="卖家已发货，等待买家确认")]
        )
    )
    before = Order.objects.get(order_no="7001").updated_at

    # when: one batch holds the unchanged order, the moved one and two new ones (one of a known buyer)
    result = run(
        taobao(
            tmp_path,
            [
                row("7003", "tb_c", "30.00"),
                row("7001", "tb_a", "10.00"),
                row("7004", "tb_a", "40.00", when="2025-07-01 09:00:00"),
                row("7002", "tb_b", "20.00", tracking="YT9", carrier="圆通速递"),
            ],
            "later.csv",
        )
    )

    # then
    assert (result["orders_created"], result["orders_updated"], result["orders_unchanged"]) == (2, 1, 1)
    assert (result["customers_created"], result["lines"]) == (1, 2)
    assert Order.objects.get(order_no="7001").updated_at == before
    assert Order.objects.get(order_no="7002").status == "completed"
    assert OrderLine.objects.count() == 4
    alice = CustomerIdentity.objects.get(handle="tb_a").customer
    assert (alice.order_count, alice.total_spent) == (2, Decimal("50.00"))


def test_batches_smaller_than_the_file_give_the_same_result(tmp_path):
    from huitouke.orders.importers import parse_orders
    from huitouke.orders.importing import ErrorReport, ImportResult, orders_import_rows

    path = taobao(tmp_path, [row(f"80{i:02d}", f"tb_{i % 3}", f"{i}.00") for i in range(1, 11)])
    _fmt, stream = parse_orders(path)
    result = ImportResult(format="taobao")

    orders_import_rows(stream=stream, result=result, report=ErrorReport(tmp_path / "e.csv"), batch_size=3)

    assert (result.orders_created, result.customers_created, result.lines) == (10, 3, 10)
    assert CustomerIdentity.objects.count() == 3
    assert len(result.customer_ids) == 3


def test_the_benchmark_generator_writes_an_importable_taobao_pair(tmp_path):
    from benchmarks.taobao_export import write_export_pair

    pair = write_export_pair(tmp_path, lines=200, seed=7)

    first = run(pair.orders_path, items_path=str(pair.items_path))
    again = run(pair.orders_path, items_path=str(pair.items_path))

    assert (first["format"], first["errors"], first["lines"]) == ("taobao", 0, 200)
    assert (first["orders_created"], first["customers_created"]) == (pair.orders, pair.buyers)
    assert first["rows"] == pair.orders
    assert (again["orders_unchanged"], again["orders_created"], again["orders_updated"]) == (pair.orders, 0, 0)
    assert OrderLine.objects.count() == 200
    assert Customer.objects.filter(order_count__gt=0).exists()


def test_a_later_order_fills_the_profile_and_unmasks_the_phone(tmp_path):
    # given: a buyer first seen with a masked phone
    run(taobao(tmp_path, [row("9101", "tb_m", "10.00", phone="'138****1234")], "first.csv"))
    customer = CustomerIdentity.objects.get(handle="tb_m").customer
    assert customer.phone == "138****1234"

    # when: a later export carries the full number
    run(taobao(tmp_path, [row("9102", "tb_m", "12.00", phone="'13800001234")], "later.csv"))

    # then: the unmasked number replaces the masked one; what was already known stays
    customer.refresh_from_db()
    assert (customer.phone, customer.province, customer.order_count) == ("13800001234", "浙江省", 2)
