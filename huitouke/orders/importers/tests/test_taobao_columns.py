"""The Taobao cells converted column by column (`importers.taobao_columns`) give exactly the row parser's orders,
lines, errors and row numbers: on the benchmark's generated pair, and on a table of odd cells in every column the
parser reads (each row of the table one odd cell in an otherwise plain order, so each is converted, or handed to
the row parser, on its own), with and without the item report; and on random mixes of those cells."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.taobao_export import write_export_pair
from huitouke.orders.importers import columnar, parse_orders, taobao_columns


@pytest.fixture
def batches(monkeypatch):
    """How many batches the column-wise parse converted, and how many rows it handed to the row parser."""
    seen = {"batches": 0, "rows": 0}
    batch, row = taobao_columns._batch, taobao_columns._row

    def spy_batch(*args):
        seen["batches"] += 1
        return batch(*args)

    def spy_row(*args):
        seen["rows"] += 1
        return row(*args)

    monkeypatch.setattr(taobao_columns, "_batch", spy_batch)
    monkeypatch.setattr(taobao_columns, "_row", spy_row)
    return seen


def _both(monkeypatch, orders: Path, items: Path | None, tz: str = "Asia/Shanghai") -> tuple[list, list]:
    monkeypatch.setattr(columnar, "COLUMNAR_MIN_BYTES", None)
    _fmt, stream = parse_orders(orders, items_path=items, fmt="taobao", tz=tz)
    by_rows = list(stream)
    monkeypatch.setattr(columnar, "COLUMNAR_MIN_BYTES", 0)
    _fmt, stream = parse_orders(orders, items_path=items, fmt="taobao", tz=tz)
    return by_rows, list(stream)


@pytest.mark.parametrize("with_items", [True, False])
def test_the_generated_pair_parses_the_same_by_columns(monkeypatch, batches, tmp_path, with_items):
    pair = write_export_pair(tmp_path, lines=5_000, seed=11)
    monkeypatch.setattr(columnar, "BLOCK_BYTES", 1 << 18)  # several batches
    by_rows, by_columns = _both(monkeypatch, pair.orders_path, pair.items_path if with_items else None)

    assert by_columns == by_rows
    assert len(by_rows) == pair.orders
    assert batches["batches"] > 1
    assert batches["rows"] == 0  # every generated cell is converted column-wise


ORDER_HEADERS = [
    "订单编号",
    "买家会员名",
    "买家应付货款",
    "买家应付邮费",
    "总金额",
    "买家实际支付金额",
    "订单状态",
    "买家留言",
    "收货人姓名",
    "收货地址 ",
    "联系电话 ",
    "联系手机",
    "订单创建时间",
    "订单付款时间 ",
    "宝贝标题 ",
    "物流单号 ",
    "物流公司",
    "订单备注",
    "宝贝总数量",
    "店铺名称",
    "订单关闭原因",
    "退款金额",
    "确认收货时间",
    "发货时间",
    "商家备忘",
    "修改后的收货地址",
    "会员等级",
]
BASE = {
    "订单编号": '="{no}"',
    "买家会员名": "tb_{no}",
    "买家应付货款": "120.50",
    "买家应付邮费": "0.00",
    "总金额": "120.50",
    "买家实际支付金额": "110.50",
    "订单状态": "交易成功",
    "收货人姓名": "张**",
    "收货地址 ": "浙江省 杭州市 西湖区 文三路1号(310000)",
    "联系手机": "138****5678",
    "订单创建时间": "2025-06-18 10:00:54",
    "订单付款时间 ": "2025-06-18 10:05:00",
    "宝贝标题 ": "普洱熟茶 200g",
    "物流单号 ": '="773000000000001"',
    "物流公司": "顺丰速运",
    "宝贝总数量": "1",
    "店铺名称": "回头客旗舰店",
    "确认收货时间": "2025-06-25 10:00:00",
    "发货时间": "2025-06-19 10:00:00",
}
AMOUNTS = [
    "",
    "null",
    "NULL",
    "-",
    "无",
    "0",
    "12",
    "12.5",
    "007.50",
    "１２.５",
    "¥12.50",
    "12.50元",
    "1,234.50",
    " 12.50",
    "12.50\u3000",
    "12.345",
    "12.",
    ".5",
    "-1",
    "(3.00)",
    "99999999.99",
    "100000000",
    "1e3",
    "NaN",
    "abc",
    "１２３４５６７８９",
]
TIMES = [
    "",
    "null",
    "0000-00-00 00:00:00",
    "2025-06-18 10:00:54",
    "2025/6/18 10:00",
    "2025-06-18",
    "2025年6月18日 10:00",
    "2025-02-30 10:00:00",
    "2025-02-29 10:00:00",
    "2024-02-29 10:00:00",
    "2025-06-18 24:00:00",
    "2025-06-18 10:00:60",
    "2025-06-18 10:60:00",
    "1989-12-31 23:59:59",
    "1990-01-01 00:00:00",
    "2099-01-01 00:00:00",
    "45347.5",
    " 2025-06-18 10:00:54",
    "2025-06-18T10:00:54",
    "2025-06-18 10:00:54+02:00",
    "2025-06-18 10:00:54.5",
    "２０２５-06-18 10:00:54",
    "tomorrow",
    "2025-03-09 02:30:00",
    "2025-11-02 01:30:00",
]
IDS = [
    '="{no}"',
    "{no}",
    "'{no}",
    '=" {no}"',
    '="{no} "',
    " {no}",
    "1.93E+18",
    "",
    '=""',
    "x{no}",
    "１{no}",
    "No:{no}",
    '="No:{no}"',
    "{no}\u3000",
    "'",
]
TEXTS = ["", " ", "\u3000tb\u3000", "=SUM(A1)", "'张三", "a\xa0", '="x"', "  两 边  "]
STATUSES = [
    "交易成功",
    "交易关闭",
    "",
    " ",
    "买家已付款, 等待卖家发货",
    "买家已付款，等待卖家发货",
    "TRADE_FINISHED",
    "未知状态",
    "交易 关闭",
]
PHONES = [
    "",
    "138****5678",
    "'13912345678",
    "+8613912345678",
    '="13912345678"',
    "0086 139 1234 5678",
    "8613912345678",
    "(+86)13912345678",
    "021-12345678",
]
ADDRESSES = [
    "",
    "浙江省 杭州市 西湖区 文三路1号(310000)",
    "北京 北京市 朝阳区 建国路1号",
    "浙江省杭州市西湖区文三路1号",
    "上海市浦东新区世纪大道1号",
    "浙江省 杭州市 文三路1号",
    "  浙江省 杭州市 西湖区 文三路 1 号（310000） ",
    "Somewhere 1",
    "广西壮族自治区 南宁市 青秀区 民族大道1号",
    "浙江省\u3000杭州市\u3000西湖区\u3000文三路1号",
    "浙江省 杭州市 西湖区 (310000)",
    "浙江省 杭州市 (310000)",
    "浙江省 杭州市 西湖区 文三路1号（３１００００）",
    "浙江省 杭州市 西湖区 文三路1号（310000）",
    "浙江 杭州市 西湖区 文三路 1号 (310000)",
    "新疆维吾尔自治区 乌鲁木齐市 天山区 人民路1号",
    "浙江省 杭州市 西湖区",
    "浙江省 杭州市 西湖区(310000)",
    "黑龙江省 哈尔滨市 南岗区 西大直街1号(150000)",
    "浙江省 杭州市 西湖区 文三路(310000) 1号",
    "浙江省 杭州市 西湖区 文三路1号(3100001)",
    "浙江省 杭州市 一二三四五六七八九十一二三区 文三路1号",
    "浙江省 杭州市 西湖区  文三路1号",
    "浙江省 杭州市 西湖 区 文三路1号",
    "北京市 北京市 朝阳区 建国路1号(100000)",
    "浙江 杭州市 市 文三路1号",
    "Zhejiang Hangzhou Xihu 1 Road",
    "浙江省x 杭州市 西湖区 文三路1号",
]
QUANTITIES = ["", "1", "2", "2件", "0", "1.0", "１", "x", "1000001", " 3 "]
ODD: dict[str, list[str]] = {
    "订单编号": IDS,
    "买家会员名": TEXTS,
    "买家应付货款": AMOUNTS,
    "买家应付邮费": AMOUNTS,
    "总金额": AMOUNTS,
    "买家实际支付金额": AMOUNTS,
    "退款金额": AMOUNTS,
    "订单状态": STATUSES,
    "订单创建时间": TIMES,
    "订单付款时间 ": TIMES,
    "发货时间": TIMES,
    "确认收货时间": TIMES,
    "物流单号 ": IDS,
    "联系手机": PHONES,
    "联系电话 ": PHONES,
    "收货地址 ": ADDRESSES,
    "修改后的收货地址": ADDRESSES,
    "宝贝总数量": QUANTITIES,
    "收货人姓名": TEXTS,
    "店铺名称": TEXTS,
    "物流公司": TEXTS,
    "买家留言": TEXTS,
    "订单备注": TEXTS,
    "商家备忘": TEXTS,
    "订单关闭原因": TEXTS,
    "会员等级": TEXTS,
    "宝贝标题 ": TEXTS,
}
ITEM_HEADERS = [
    "订单编号",
    "标题",
    "价格",
    "购买数量",
    "外部系统编号",
    "商品属性",
    "套餐信息",
    "订单状态",
    "商家编码",
    "退款状态",
]


def _csv(headers: list[str], rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    out.write(",".join(headers) + "\n")  # no quotes: the columnar reader's condition
    for row in rows:
        writer.writerow([row.get(h, "") for h in headers])
    return out.getvalue().encode("gb18030")


def _orders(cells: list[tuple[str, str]]) -> list[dict[str, str]]:
    """One order per (column, odd cell), a plain one around it; numbers 1000…; a repeat of order 1000 at the end."""
    rows = []
    for n, (header, cell) in enumerate(cells):
        no = str(1000 + n)
        row = {h: v.format(no=no) for h, v in BASE.items()}
        row[header] = cell.format(no=no)
        rows.append(row)
    rows.append({h: v.format(no="1000") for h, v in BASE.items()})
    return rows


def _items(count: int) -> list[dict[str, str]]:
    """Item lines for every third order (one or two), odd cells among them, and one for an order not reported."""
    odd = [
        ("价格", "¥9.90"),
        ("价格", "x"),
        ("购买数量", "0"),
        ("购买数量", "2件"),
        ("套餐信息", "礼盒"),
        ("商品属性", " 颜色:红 "),
        ("退款状态", "退款成功"),
        ("订单状态", "交易关闭"),
        ("订单编号", "'{no}"),
    ]
    rows = []
    for n in range(0, count, 3):
        no = str(1000 + n)
        for k in range(1 + n % 2):
            row = {
                "订单编号": f'="{no}"',
                "标题": f"茶 {k}",
                "价格": "60.25",
                "购买数量": "2",
                "外部系统编号": "6001",
                "商品属性": "净含量:250g",
                "订单状态": "交易成功",
                "商家编码": "SJ-1",
            }
            header, cell = odd[(n + k) % len(odd)]
            row[header] = cell.format(no=no)
            rows.append(row)
    rows.append({"订单编号": '="99999"', "标题": "孤", "价格": "1", "购买数量": "1"})
    return rows


ALL_ODD = [(header, cell) for header, cells in ODD.items() for cell in cells]


@pytest.mark.parametrize("with_items", [True, False])
def test_odd_cells_parse_the_same_by_columns(monkeypatch, batches, tmp_path, with_items):
    orders = tmp_path / "ExportOrderList.csv"
    orders.write_bytes(_csv(ORDER_HEADERS, _orders(ALL_ODD)))
    items = None
    if with_items:
        items = tmp_path / "ExportOrderDetailList.csv"
        items.write_bytes(_csv(ITEM_HEADERS, _items(len(ALL_ODD))))
    by_rows, by_columns = _both(monkeypatch, orders, items)

    assert by_columns == by_rows
    assert [type(r).__name__ for r in by_columns] == [type(r).__name__ for r in by_rows]
    assert batches["batches"] >= 1
    # some odd cells are the columns' (an empty amount, a plain id), the others the row parser's
    assert 0 < batches["rows"] < len(ALL_ODD)


@pytest.mark.parametrize("tz", ["Asia/Shanghai", "America/New_York", "Europe/Berlin"])
def test_times_in_other_zones_parse_the_same_by_columns(monkeypatch, tmp_path, tz):
    orders = tmp_path / "ExportOrderList.csv"
    orders.write_bytes(
        _csv(ORDER_HEADERS, _orders([(h, c) for h, cells in ODD.items() if cells is TIMES for c in cells]))
    )
    by_rows, by_columns = _both(monkeypatch, orders, None, tz)
    assert by_columns == by_rows
    assert [getattr(r, "ordered_at", None) for r in by_columns] == [getattr(r, "ordered_at", None) for r in by_rows]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.sampled_from(ALL_ODD), min_size=0, max_size=4), min_size=1, max_size=12))
def test_random_mixes_of_odd_cells_parse_the_same_by_columns(monkeypatch, tmp_path_factory, mixes):
    rows = []
    for n, mix in enumerate(mixes):
        no = str(1000 + n)
        row = {h: v.format(no=no) for h, v in BASE.items()}
        for header, cell in mix:
            row[header] = cell.format(no=no)
        rows.append(row)
    folder = tmp_path_factory.mktemp("mix")
    orders = folder / "ExportOrderList.csv"
    orders.write_bytes(_csv(ORDER_HEADERS, rows))
    items = folder / "ExportOrderDetailList.csv"
    items.write_bytes(_csv(ITEM_HEADERS, _items(len(rows))))
    for pair in ((orders, items), (orders, None)):
        by_rows, by_columns = _both(monkeypatch, *pair)
        assert by_columns == by_rows


ITEM_ODD: dict[str, list[str]] = {
    "价格": AMOUNTS,
    "购买数量": QUANTITIES,
    "商家编码": IDS,
    "外部系统编号": IDS,
    "标题": TEXTS,
    "商品属性": TEXTS,
    "套餐信息": TEXTS,
    "退款状态": ["", "退款成功", "没有申请退款", "退款关闭", "无", "卖家拒绝退款", "退款中", " 退款成功 "],
    "订单状态": STATUSES,
}


@pytest.mark.parametrize("status", ["交易成功", "交易关闭", "买家已付款，等待卖家发货"])
def test_odd_item_cells_parse_the_same_by_columns(monkeypatch, tmp_path, status):
    # plain orders, each with a line holding one odd cell (and a plain line after it for every other order)
    odd = [(header, cell) for header, cells in ITEM_ODD.items() for cell in cells]
    orders = []
    for n in range(len(odd)):
        row = {h: v.format(no=str(1000 + n)) for h, v in BASE.items()}
        row["订单状态"] = status
        row["退款金额"] = "110.50" if n % 4 == 0 else ""
        orders.append(row)
    items = []
    for n, (header, cell) in enumerate(odd):
        no = str(1000 + n)
        plain = {"订单编号": f'="{no}"', "标题": "茶", "价格": "60.25", "购买数量": "2", "外部系统编号": "6001",
                 "商品属性": "净含量:250g", "订单状态": "交易成功", "商家编码": "SJ-1"}  # fmt: skip
        items.append({**plain, header: cell.format(no=no)})
        if n % 2:
            items.append(plain)
    orders_path, items_path = tmp_path / "ExportOrderList.csv", tmp_path / "ExportOrderDetailList.csv"
    orders_path.write_bytes(_csv(ORDER_HEADERS, orders))
    items_path.write_bytes(_csv(ITEM_HEADERS, items))
    by_rows, by_columns = _both(monkeypatch, orders_path, items_path)
    assert by_columns == by_rows
    assert any(type(r).__name__ == "RowError" for r in by_rows)
