"""Golden files in the platforms' real shapes (see golden/README.md): the full parsed rows of a few orders."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal as D
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from huitouke.orders.importers import LineRow, OrderRow, RowError, parse_orders, read_headers, suggest_mapping

GOLDEN = Path(__file__).parent / "golden"
SH = ZoneInfo("Asia/Shanghai")
CEST = timezone(timedelta(hours=2))


def t(s: str, tz=SH) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=tz)


def parse(name: str, items: str | None = None, **kw):
    fmt, stream = parse_orders(GOLDEN / name, items_path=GOLDEN / items if items else None, **kw)
    return fmt, list(stream)


def test_golden_encodings_are_the_platforms():
    # Taobao/JD/PDD ship GBK/GB18030 (or UTF-8 BOM after an Excel re-save); Shopify/WooCommerce plain UTF-8
    assert not (GOLDEN / "taobao_41_ExportOrderList202402.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    with pytest.raises(UnicodeDecodeError):
        (GOLDEN / "taobao_71_ExportOrderList202506.csv").read_bytes().decode("utf-8")
    assert (GOLDEN / "taobao_54_ExportOrderList202403.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    (GOLDEN / "shopify_orders_export_1.csv").read_bytes().decode("utf-8")


@pytest.mark.parametrize(
    ("name", "width"),
    [
        ("taobao_41_ExportOrderList202402.csv", 41),
        ("taobao_54_ExportOrderList202403.csv", 54),
        ("taobao_71_ExportOrderList202506.csv", 71),
    ],
)
def test_taobao_layouts_have_their_column_counts(name, width):
    headers = read_headers(GOLDEN / name)
    assert len(headers) == width
    assert "收货地址" in headers  # written "收货地址 " with the trailing space, trimmed


def test_taobao_41_gb18030_without_items():
    fmt, rows = parse("taobao_41_ExportOrderList202402.csv")
    assert fmt == "taobao"
    assert rows[0] == OrderRow(
        row_no=2,
        order_no="1930679858170647",
        platform="taobao",
        shop_name="回头客旗舰店",
        buyer_handle="tb_8824133",
        buyer_name="张**",
        phone="13800001234",
        email="",
        province="浙江省",
        city="杭州市",
        district="西湖区",
        address="文三路1号",
        postcode="310000",
        status="completed",
        goods_amount=D("158.00"),
        shipping_fee=D("0"),
        total_amount=D("158.00"),
        paid_amount=D("158.00"),
        refund_amount=D("0"),
        ordered_at=t("2024-02-25 22:00:54"),
        paid_at=t("2024-02-25 22:01:10"),
        shipped_at=None,
        delivered_at=None,
        confirmed_at=None,
        closed_at=None,
        logistics_company="顺丰速运",
        tracking_no="SF1234567890",
        buyer_remark="请发顺丰",
        seller_memo="老客户，送试饮装",
        gift="",
        close_reason="订单未关闭",
        accepts_marketing=None,
        member_level="",
        lines=(LineRow(1, "桂花龙井 明前特级 250g", "", "", 2, D("79.00"), D("158.00"), "", ""),),
        summary_lines=True,  # the order report's own line: never replaces the item report's
    )
    closed, pending = rows[1], rows[2]
    assert (closed.order_no, closed.status, closed.paid_at, closed.phone) == (
        "1930679858170648",
        "closed",
        None,
        "138****5678",
    )
    assert (closed.province, closed.city, closed.district, closed.address, closed.postcode) == (
        "北京",
        "北京市",
        "朝阳区",
        "建国路88号SOHO现代城",
        "100022",
    )
    assert (pending.status, pending.phone, pending.total_amount) == ("pending", "021-58881234", D("1299.00"))


def test_taobao_54_utf8_bom_excel_resaved():
    fmt, rows = parse("taobao_54_ExportOrderList202403.csv")
    assert fmt == "taobao"
    refunded, paid = rows
    assert refunded == OrderRow(
        row_no=2,
        order_no="2024031512345678",
        platform="taobao",
        shop_name="回头客旗舰店",
        buyer_handle="tb_8824133",
        buyer_name="张**",
        phone="13800001234",
        email="",
        province="浙江省",
        city="杭州市",
        district="西湖区",
        address="文三路1号",
        postcode="310000",
        status="refunded",  # 交易关闭 with 退款金额 = paid
        goods_amount=D("1299.00"),
        shipping_fee=D("0"),
        total_amount=D("1299.00"),
        paid_amount=D("1299.00"),
        refund_amount=D("1299.00"),
        ordered_at=t("2024-03-15 20:05"),
        paid_at=t("2024-03-15 20:06"),
        shipped_at=None,
        delivered_at=None,
        confirmed_at=None,
        closed_at=None,
        logistics_company="",
        tracking_no="",
        buyer_remark="",
        seller_memo="",
        gift="",
        close_reason="退款",
        accepts_marketing=None,
        member_level="",
        lines=(LineRow(1, "铁观音 礼盒装", "", "", 1, D("1299.00"), D("1299.00"), "", "refunded"),),
        summary_lines=True,  # the order report's own line: never replaces the item report's
    )
    # half-width comma status, 元 amounts, +86 phone with spaces, unspaced address, formula-like cells kept as text
    assert (paid.status, paid.goods_amount, paid.shipping_fee, paid.paid_amount) == (
        "paid",
        D("45.50"),
        D("5.00"),
        D("50.50"),
    )
    assert (paid.buyer_handle, paid.buyer_remark, paid.lines[0].title) == ("=cmd|tb", "+加急 @客服", "-新品- 普洱茶饼")
    assert paid.phone == "13900005678"
    assert (paid.province, paid.city, paid.district, paid.address) == ("广东省", "深圳市", "南山区", "科技园南路1号")


def test_taobao_71_gb18030_joined_with_item_report():
    fmt, rows = parse("taobao_71_ExportOrderList202506.csv", "taobao_71_ExportOrderDetailList202506.csv")
    assert fmt == "taobao"
    assert rows[0] == OrderRow(
        row_no=2,
        order_no="3812345678901234567",
        platform="taobao",
        shop_name="回头客旗舰店",
        buyer_handle="tb_8824133",
        buyer_name="张**",
        phone="138****5678",
        email="",
        province="浙江省",
        city="杭州市",
        district="西湖区",
        address="文三路1号",
        postcode="310000",
        status="shipped",
        goods_amount=D("316.00"),
        shipping_fee=D("0.00"),
        total_amount=D("316.00"),
        paid_amount=D("296.00"),
        refund_amount=D("0.00"),
        ordered_at=t("2025-06-18 00:00:12"),
        paid_at=t("2025-06-18 00:00:30"),
        shipped_at=t("2025-06-18 15:20:00"),
        delivered_at=None,
        confirmed_at=None,
        closed_at=None,
        logistics_company="中通快递",
        tracking_no="773012345678901",
        buyer_remark="",
        seller_memo="618 大促",
        gift="",
        close_reason="订单未关闭",
        accepts_marketing=None,
        member_level="",
        lines=(
            LineRow(
                1,
                "桂花龙井 明前特级 250g",
                "LJ-250-G",
                "LJ-250",
                2,
                D("128.00"),
                D("256.00"),
                "净含量:250g;包装:罐装",
                "",
            ),
            LineRow(2, "紫砂杯", "ZS-01-D", "ZS-01", 1, D("60.00"), D("60.00"), "颜色分类:段泥; 赠杯垫", ""),
        ),
    )
    second = rows[1]
    assert (second.order_no, second.status, second.confirmed_at, second.phone) == (
        "3812345678901234568",
        "completed",
        t("2025-06-25 09:00:00"),
        "13900001111",
    )
    assert second.lines == (LineRow(1, "紫砂杯", "ZS-01-R", "ZS-01", 1, D("89.00"), D("89.00"), "颜色分类:朱泥", ""),)
    assert len(rows) == 2


def test_taobao_71_without_items_gets_one_summary_line():
    _fmt, rows = parse("taobao_71_ExportOrderList202506.csv")
    assert rows[0].lines == (LineRow(1, "桂花龙井 明前特级 250g，紫砂杯", "", "", 3, D("105.33"), D("316.00"), "", ""),)


def test_tmall_sub_order_item_report_joins_on_main_order_number():
    fmt, rows = parse("tmall_ExportOrderList202501.csv", "tmall_ExportOrderDetailList202501.csv")
    assert fmt == "taobao"
    (order,) = rows
    assert (order.order_no, order.shop_name, order.status, order.refund_amount) == (
        "4012345678901234567",
        "回头客茶叶旗舰店",
        "completed",
        D("299.00"),
    )
    assert order.lines == (
        LineRow(1, "红茶 礼盒", "HC-01", "HC-01", 1, D("299.00"), D("299.00"), "", ""),
        LineRow(2, "绿茶 礼盒", "LC-01", "LC-01", 1, D("299.00"), D("299.00"), "", "refunded"),
    )


def test_jd_rows_group_into_orders():
    fmt, rows = parse("jd_orders_20250305.csv")
    assert fmt == "jd"
    assert rows[0] == OrderRow(
        row_no=2,
        order_no="285741236987",
        platform="jd",
        shop_name="",
        buyer_handle="jd_4f8a2c",
        buyer_name="周**",
        phone="159****0001",
        email="",
        province="湖北",
        city="武汉市",
        district="洪山区",
        address="珞喻路1号",
        postcode="",
        status="completed",
        goods_amount=D("236.00"),
        shipping_fee=D("0.00"),
        total_amount=D("236.00"),
        paid_amount=D("236.00"),  # 应付金额 200 + 余额支付 36
        refund_amount=D("0"),
        ordered_at=t("2025-03-01 10:00:00"),
        paid_at=t("2025-03-01 10:00:30"),
        shipped_at=t("2025-03-01 16:00:00"),
        delivered_at=None,
        confirmed_at=t("2025-03-05 12:00:00"),
        closed_at=None,
        logistics_company="",
        tracking_no="",
        buyer_remark="工作日送货",
        seller_memo="",
        gift="",
        close_reason="",
        accepts_marketing=None,
        member_level="",
        lines=(
            LineRow(1, "西湖龙井 250g", "XH-250", "100012345678", 1, D("168.00"), D("168.00"), "", ""),
            LineRow(2, "茶具 旅行套装", "CJ-TRAVEL", "100012345679", 2, D("34.00"), D("68.00"), "", ""),
        ),
    )
    assert (rows[1].row_no, rows[1].order_no, rows[1].status, len(rows)) == (4, "285741236990", "paid", 2)


def test_pdd_full_width_headers_and_refunds():
    fmt, rows = parse("pdd_orders_20250302.csv")
    assert fmt == "pdd"
    assert rows[0] == OrderRow(
        row_no=2,
        order_no="250301-123456789012345",
        platform="pdd",
        shop_name="",
        buyer_handle="13800008888",
        buyer_name="孙**",
        phone="138****8888",
        email="",
        province="河南省",
        city="郑州市",
        district="金水区",
        address="花园路1号",
        postcode="",
        status="completed",
        goods_amount=D("99.00"),
        shipping_fee=D("0.00"),
        total_amount=D("99.00"),
        paid_amount=D("84.00"),
        refund_amount=D("0"),
        ordered_at=t("2025-03-01 08:00:01"),
        paid_at=t("2025-03-01 08:00:00"),
        shipped_at=t("2025-03-01 18:00:00"),
        delivered_at=None,
        confirmed_at=t("2025-03-06 08:00:00"),
        closed_at=None,
        logistics_company="圆通快递",
        tracking_no="YT9876543210",
        buyer_remark="",
        seller_memo="",
        gift="",
        close_reason="",
        accepts_marketing=None,
        member_level="",
        lines=(LineRow(1, "云南普洱 357g 饼茶", "PE-357", "512345678", 1, D("99.00"), D("99.00"), "357g*1饼", ""),),
    )
    refunded = rows[1]
    assert (refunded.status, refunded.refund_amount, refunded.buyer_handle) == (
        "refunded",
        D("59.90"),
        "钱**|139****1234",
    )
    assert refunded.lines == (
        LineRow(1, "白茶 寿眉 100g", "BC-100", "512345679", 2, D("29.95"), D("59.90"), "100g*2", "refunded"),
    )


def test_shopify_line_rows_group_and_marketing_consent():
    fmt, rows = parse("shopify_orders_export_1.csv")
    assert fmt == "shopify"
    assert rows[0] == OrderRow(
        row_no=2,
        order_no="#1001",
        platform="shopify",
        shop_name="",
        buyer_handle="anna.schmidt@example.com",
        buyer_name="Anna Schmidt",
        phone="+49301234567",
        email="anna.schmidt@example.com",
        province="",
        city="Berlin",
        district="",
        address="Hauptstraße 1",
        postcode="10115",
        status="completed",
        goods_amount=D("54.00"),
        shipping_fee=D("4.90"),
        total_amount=D("58.90"),
        paid_amount=D("58.90"),
        refund_amount=D("0.00"),
        ordered_at=t("2025-10-07 09:50:20", CEST),
        paid_at=t("2025-10-07 09:50:26", CEST),
        shipped_at=t("2025-10-08 14:00:00", CEST),
        delivered_at=None,
        confirmed_at=None,
        closed_at=None,
        logistics_company="DHL Paket",
        tracking_no="",
        buyer_remark="Bitte klingeln",
        seller_memo="",
        gift="",
        close_reason="",
        accepts_marketing=True,
        member_level="",
        lines=(
            LineRow(1, "Sencha Green Tea 100g", "SEN-100", "", 2, D("18.00"), D("36.00"), "", ""),
            LineRow(2, "Gaiwan Porcelain", "GW-1", "", 1, D("18.00"), D("18.00"), "", ""),
        ),
    )
    cancelled = rows[1]
    assert (cancelled.row_no, cancelled.status, cancelled.buyer_handle, cancelled.accepts_marketing) == (
        4,
        "refunded",
        "+4915112345678",
        False,
    )
    assert (cancelled.closed_at, cancelled.refund_amount, cancelled.province) == (
        t("2025-10-09 12:00:00", CEST),
        D("25.00"),
        "Bavaria",
    )


def test_woocommerce_rows_group_and_missing_email_is_reported():
    fmt, rows = parse("woocommerce_orders_2025-09.csv")
    assert fmt == "woocommerce"
    assert rows[0] == OrderRow(
        row_no=2,
        order_no="4211",
        platform="woocommerce",
        shop_name="",
        buyer_handle="li.wei@example.com",
        buyer_name="Wei Li",
        phone="13800001234",
        email="li.wei@example.com",
        province="SH",
        city="Shanghai",
        district="",
        address="1 Nanjing Road",
        postcode="200001",
        status="completed",
        goods_amount=D("40.00"),
        shipping_fee=D("5.00"),
        total_amount=D("45.00"),
        paid_amount=D("45.00"),
        refund_amount=D("0"),
        ordered_at=t("2025-09-01 15:04:05"),
        paid_at=None,
        shipped_at=None,
        delivered_at=None,
        confirmed_at=None,
        closed_at=None,
        logistics_company="",
        tracking_no="",
        buyer_remark="Gift wrap please",
        seller_memo="",
        gift="",
        close_reason="",
        accepts_marketing=None,
        member_level="",
        lines=(
            LineRow(1, "Jasmine Pearls 50g", "JAS-50", "", 2, D("15.00"), D("30.00"), "", ""),
            LineRow(2, "Bamboo Tea Tray", "TRAY-B", "", 1, D("10.00"), D("10.00"), "", ""),
        ),
    )
    assert rows[1] == RowError(4, "Customer Email", "", "missing customer email")


@pytest.mark.parametrize("name", ["archive_seed004.csv", "archive_seed004.xlsx"])
def test_seed_004_archive_imports_with_the_suggested_mapping(name):
    # given the seller's own archive (seed 004 columns), CSV or XLSX (Excel dates, numbers, serial dates)
    assert suggest_mapping(read_headers(GOLDEN / name)) == {
        "buyer_handle": "顾客ID",
        "ordered_at": "交易日期",
        "buyer_name": "真实姓名",
        "email": "电子邮箱",
        "phone": "联系电话",
        "address": "收货地址",
        "title": "购买商品",
        "paid_amount": "成交金额",
        "gift": "购物赠品",
        "member_level": "会员级别",
    }
    # when parsed as generic without an explicit mapping
    fmt, rows = parse(name, fmt="generic")
    # then every row is one completed order with a stable derived number
    assert fmt == "generic"
    first, second = rows
    assert first == OrderRow(
        row_no=2,
        order_no="20231111000500-ef941cc0ed",
        platform="other",
        shop_name="",
        buyer_handle="tb_8824133",
        buyer_name="张三",
        phone="13800001234",
        email="zhangsan@example.com",
        province="浙江省",
        city="杭州市",
        district="西湖区",
        address="文三路1号",
        postcode="310000",
        status="completed",
        goods_amount=D("158"),
        shipping_fee=D("0"),
        total_amount=D("158"),
        paid_amount=D("158"),
        refund_amount=D("0"),
        ordered_at=t("2023-11-11 00:05:00"),
        paid_at=None,
        shipped_at=None,
        delivered_at=None,
        confirmed_at=None,
        closed_at=None,
        logistics_company="",
        tracking_no="",
        buyer_remark="",
        seller_memo="",
        gift="试饮装",
        close_reason="",
        accepts_marketing=None,
        member_level="金卡",
        lines=(LineRow(1, "桂花龙井 明前特级 250g", "", "", 1, D("158"), D("158"), "", ""),),
    )
    assert (second.order_no, second.ordered_at, second.paid_amount, second.phone, second.member_level) == (
        "20231212200000-41cb95d4d0",
        t("2023-12-12 20:00:00"),
        D("1299"),
        "13900002222",
        "普通会员",
    )
