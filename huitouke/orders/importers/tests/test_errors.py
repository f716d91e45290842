"""Bad rows and unreadable files: every rejection names row, column, value and reason; good orders still come out."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from huitouke.orders.importers import (
    GENERIC_FIELDS,
    ImportFileError,
    OrderRow,
    RowError,
    detect_format,
    parse_orders,
    read_headers,
)

GOLDEN = Path(__file__).parent / "golden"

TAOBAO_HEADER = (
    "订单编号,买家会员名,买家应付货款,买家应付邮费,总金额,买家实际支付金额,订单状态,收货地址,联系手机,"
    "订单创建时间,订单付款时间,宝贝标题,宝贝总数量"
)
GOOD = "1001,tb_1,10.00,0,10.00,10.00,交易成功,浙江省 杭州市 西湖区 文三路1号,13800001234,2024-02-25 22:00:54,,茶,1"
OTHER = GOOD.replace("1001", "1002")


def csv_file(tmp_path: Path, lines: list[str], name: str = "orders.csv", encoding: str = "gb18030") -> Path:
    path = tmp_path / name
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def run(path: Path, **kw) -> list[OrderRow | RowError]:
    _fmt, stream = parse_orders(path, **kw)
    return list(stream)


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (OTHER.replace(",10.00,0,", ",十元,0,"), RowError(3, "买家应付货款", "十元", "not an amount")),
        (
            OTHER.replace("2024-02-25 22:00:54", "2024-02-30 10:00"),
            RowError(3, "订单创建时间", "2024-02-30 10:00", "not a valid date"),
        ),
        (OTHER.replace("交易成功", "火星发货中"), RowError(3, "订单状态", "火星发货中", "unknown order status")),
        (OTHER.replace("1002,", ",", 1), RowError(3, "订单编号", "", "missing order number")),
        (OTHER.replace(",茶,1", ",茶,0"), RowError(3, "宝贝总数量", "0", "quantity must be at least 1")),
        (OTHER.replace(",tb_1,", ",,"), RowError(3, "买家会员名", "", "missing buyer")),
        (OTHER.replace(",2024-02-25 22:00:54,", ",,"), RowError(3, "订单创建时间", "", "missing order time")),
    ],
)
def test_bad_row_becomes_one_error_and_the_others_still_come_out(tmp_path, bad, error):
    # given a good order, a bad one and another good one
    path = csv_file(tmp_path, [TAOBAO_HEADER, GOOD, bad, GOOD.replace("1001", "1003")])
    # when parsed
    rows = run(path)
    # then the bad row is reported precisely and both good orders are yielded
    assert rows[1] == error
    assert [r.order_no for r in rows if isinstance(r, OrderRow)] == ["1001", "1003"]


def test_duplicate_order_number_is_reported_not_overwritten(tmp_path):
    rows = run(csv_file(tmp_path, [TAOBAO_HEADER, GOOD, GOOD]))
    assert rows[1] == RowError(3, "", "1001", "order number already used by the order in row 2")


def test_a_bad_item_line_rejects_the_whole_order(tmp_path):
    orders = csv_file(tmp_path, [TAOBAO_HEADER, GOOD, GOOD.replace("1001", "1002")])
    items = csv_file(
        tmp_path,
        [
            "订单编号,标题,价格,购买数量,商家编码",
            "1001,茶 A,5.00,1,A",
            "1001,茶 B,five,1,B",
            "1002,茶 C,10.00,1,C",
            "9999,孤儿,1.00,1,X",
        ],
        name="items.csv",
    )
    rows = run(orders, items_path=items)
    assert rows[0] == RowError(2, "价格", "five", "not an amount (items file row 3)")
    assert isinstance(rows[1], OrderRow)
    assert [(line.title, line.sku) for line in rows[1].lines] == [("茶 C", "C")]
    assert rows[2] == RowError(
        5,
        "订单编号",
        "9999",
        "no order with this number in the order report (or that order was rejected) (items file row 5)",
    )
    assert len(rows) == 3


def test_jd_bad_line_rejects_its_order_only(tmp_path):
    src = (GOLDEN / "jd_orders_20250305.csv").read_bytes().decode("gbk").splitlines()
    src[2] = src[2].replace(",2,", ",0,", 1)  # second line of order 285741236987: 订购数量 0
    rows = run(csv_file(tmp_path, src, encoding="gbk"))
    assert rows[0] == RowError(3, "订购数量", "0", "quantity must be at least 1")
    assert [r.order_no for r in rows if isinstance(r, OrderRow)] == ["285741236990"]


def test_shopify_bad_line_rejects_its_order_only(tmp_path):
    src = (GOLDEN / "shopify_orders_export_1.csv").read_text(encoding="utf-8").splitlines()
    src[2] = src[2].replace(",18.00,", ",eighteen,", 1)
    rows = run(csv_file(tmp_path, src, encoding="utf-8"))
    assert rows[0] == RowError(3, "Lineitem price", "eighteen", "not an amount")
    assert [r.order_no for r in rows if isinstance(r, OrderRow)] == ["#1002"]


def test_undecodable_bytes_inside_a_row_reject_that_row(tmp_path):
    # given a UTF-8 file whose bytes go wrong only after the 64 KB the encoding is sniffed from
    path = tmp_path / "orders.csv"
    good = [GOOD.replace("1001", str(n)) for n in range(10_000, 11_000)]
    body = ("\r\n".join([TAOBAO_HEADER, *good]) + "\r\n").encode("utf-8")
    body += GOOD.replace("1001", "1003").encode("utf-8").replace("茶".encode(), b"\xff\xfe") + b"\r\n"
    body += GOOD.encode("utf-8") + b"\r\n"
    path.write_bytes(body)
    rows = run(path)
    # then that row is rejected and the rest are read
    assert rows[1000] == RowError(
        1002, "宝贝标题", "\ufffd\ufffd", "the row contains bytes that are not valid text in the file's encoding"
    )
    assert len(rows) == 1002
    assert isinstance(rows[1001], OrderRow)


def test_header_only_file_gives_zero_rows(tmp_path):
    assert run(csv_file(tmp_path, [TAOBAO_HEADER])) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\xef\xbb\xbf\r\n  \r\n", "the file is empty"),
        (bytes(range(256)) * 50, "binary"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "binary"),
        ("订单编号,买家".encode("gb18030") + b"\x80\xff\x80\xff\r\n", "neither UTF-8 nor GBK"),
        (b"PK\x03\x04not really a zip", "not a readable XLSX"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "old Excel .xls"),
    ],
)
def test_unreadable_files_raise_one_clear_error(tmp_path, content, message):
    path = tmp_path / "upload.csv"
    path.write_bytes(content)
    with pytest.raises(ImportFileError, match=message):
        parse_orders(path)


def test_unknown_format_names_the_missing_columns_of_the_closest_format(tmp_path):
    path = csv_file(tmp_path, ["订单编号,买家会员名,订单状态,备注", "1,a,交易成功,x"])
    with pytest.raises(ImportFileError, match=r"Taobao.*订单创建时间, 买家实际支付金额"):
        parse_orders(path)


def test_prose_is_not_a_table(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("Dear seller,\nhere are my notes about last month.\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="unrecognised file"):
        parse_orders(path)


def test_item_report_given_as_the_order_file_is_explained(tmp_path):
    with pytest.raises(ImportFileError, match="宝贝报表"):
        parse_orders(GOLDEN / "taobao_71_ExportOrderDetailList202506.csv")


def test_items_file_that_does_not_match_is_a_file_error():
    with pytest.raises(ImportFileError, match=r"item report.*标题"):
        parse_orders(GOLDEN / "taobao_41_ExportOrderList202402.csv", items_path=GOLDEN / "jd_orders_20250305.csv")


def test_items_file_only_for_taobao():
    with pytest.raises(ImportFileError, match="only used with the Taobao"):
        parse_orders(GOLDEN / "jd_orders_20250305.csv", items_path=GOLDEN / "taobao_71_ExportOrderDetailList202506.csv")


def test_explicit_format_with_missing_columns(tmp_path):
    with pytest.raises(ImportFileError, match="missing required column"):
        parse_orders(GOLDEN / "shopify_orders_export_1.csv", fmt="jd")


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("taobao_41_ExportOrderList202402.csv", "taobao"),
        ("taobao_54_ExportOrderList202403.csv", "taobao"),
        ("taobao_71_ExportOrderList202506.csv", "taobao"),
        ("tmall_ExportOrderList202501.csv", "taobao"),
        ("jd_orders_20250305.csv", "jd"),
        ("pdd_orders_20250302.csv", "pdd"),
        ("shopify_orders_export_1.csv", "shopify"),
        ("woocommerce_orders_2025-09.csv", "woocommerce"),
    ],
)
def test_detect_format(name, fmt):
    assert detect_format(read_headers(GOLDEN / name)) == fmt


def test_detect_never_picks_generic():
    with pytest.raises(ImportFileError, match="generic format with a column mapping"):
        detect_format(read_headers(GOLDEN / "archive_seed004.csv"))


def test_pdd_half_width_headers_match_too(tmp_path):
    src = (GOLDEN / "pdd_orders_20250302.csv").read_bytes().decode("gb18030").splitlines()
    src[0] = src[0].replace("（", "(").replace("）", ")")
    rows = run(csv_file(tmp_path, src, encoding="utf-8-sig"))
    assert [r.order_no for r in rows if isinstance(r, OrderRow)] == ["250301-123456789012345", "250302-223456789012345"]


def test_woocommerce_header_variants(tmp_path):
    path = csv_file(
        tmp_path,
        [
            (
                "order_id,order_date,status,billing_email,first_name (billing),Order Total Amount,"
                "Item Name,Quantity,Item Cost"
            ),
            "77,2025-01-02T03:04:05+00:00,wc-processing,A@B.com,Ann,20.00,Tea,2,10.00",
        ],
        encoding="utf-8",
    )
    (order,) = run(path)
    assert isinstance(order, OrderRow)
    assert (order.order_no, order.status, order.buyer_handle, order.paid_amount, order.lines[0].amount) == (
        "77",
        "paid",
        "a@b.com",
        order.total_amount,
        order.lines[0].unit_price * 2,
    )


def test_generic_mapping_groups_rows_and_validates(tmp_path):
    path = csv_file(
        tmp_path,
        [
            "Order,Customer,When,Total,Product,Qty,Price,Level,Status",
            "A1,c1,2024-01-01 10:00,30,Tea,1,10,Gold,已完成",
            "A1,c1,2024-01-01 10:00,30,Cup,2,10,Gold,已完成",
            "A2,c2,2024-01-02 10:00,5,Tea,1,5,,refunded",
        ],
        encoding="utf-8",
    )
    mapping = {
        "order_no": "Order",
        "buyer_handle": "Customer",
        "ordered_at": "When",
        "total_amount": "Total",
        "title": "Product",
        "quantity": "Qty",
        "unit_price": "Price",
        "member_level": "Level",
        "status": "Status",
    }
    fmt, stream = parse_orders(path, mapping=mapping)
    a1, a2 = list(stream)
    assert fmt == "generic"
    assert isinstance(a1, OrderRow)
    assert isinstance(a2, OrderRow)
    assert [(line.title, line.quantity, line.amount) for line in a1.lines] == [("Tea", 1, 10), ("Cup", 2, 20)]
    assert (a1.status, a1.member_level, a1.goods_amount, a1.paid_amount) == ("completed", "Gold", 30, 30)
    assert (a2.status, a2.refund_amount) == ("refunded", 5)
    with pytest.raises(ImportFileError, match=r"lacks required field.*ordered_at"):
        parse_orders(path, mapping={"buyer_handle": "Customer", "total_amount": "Total"})
    with pytest.raises(ImportFileError, match=r"no column.*Nope"):
        parse_orders(path, mapping={**mapping, "gift": "Nope"})
    with pytest.raises(ImportFileError, match="unknown field"):
        parse_orders(path, mapping={**mapping, "favourite_colour": "Level"})


def test_generic_fields_describe_required_fields():
    required = [f for f, description in GENERIC_FIELDS.items() if "(required" in description]
    assert required == ["order_no", "buyer_handle", "ordered_at", "paid_amount", "total_amount"]


def test_excel_resaved_copy_with_bom_parses_the_same(tmp_path):
    # given the GB18030 golden file re-saved by Excel as UTF-8 with BOM
    src = GOLDEN / "taobao_41_ExportOrderList202402.csv"
    copy = tmp_path / "resaved.csv"
    copy.write_bytes(src.read_bytes().decode("gb18030").encode("utf-8-sig"))
    # then both parse to the same orders
    assert run(copy) == run(src)


def test_stream_is_lazy_and_closes_the_file(tmp_path):
    path = tmp_path / "orders.csv"
    shutil.copy(GOLDEN / "taobao_41_ExportOrderList202402.csv", path)
    _fmt, stream = parse_orders(path)
    first = next(stream)
    assert isinstance(first, OrderRow)
    stream.close()  # type: ignore[attr-defined]
    path.unlink()  # would fail on Windows if still open; here it checks close() ran without error
