"""A deterministic generator of Taobao/Tmall export pairs (订单报表 + 宝贝报表) in their real shape, any size.

    write_export_pair(folder, lines=1_000_000, seed=4) -> ExportPair

Writes ExportOrderList<stamp>.csv (the 71-column layout, headers with the trailing spaces Taobao writes) and
ExportOrderDetailList<stamp>.csv in GB18030, streaming (constant memory). "lines" counts item-report lines;
orders average ~1.43 lines (70% one line, 20% two, 7% three, 3% four), so 1M lines ≈ 700k orders, and buyers
are ~3/7 of the orders (1M lines ≈ 300k buyers, a few hundred thousand of them repeat customers). Cells look
like the real ones: `="1930679858170647123"` ids, masked (`138****5678`) and full (`'13912345678`) phones, masked
and full names, "省 市 区 详细地址(邮编)" addresses, the status texts, `2025-06-18 00:00:12` times, and amounts that
add up (goods = Σ price × quantity, total = goods + postage, paid = total − discount; unpaid orders pay 0).

Used by benchmarks/import_orders.py and by the orders tests (at a few hundred lines) so it cannot rot.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

ORDER_HEADERS = [
    "订单编号",
    "买家会员名",
    "买家支付宝账号",
    "买家应付货款",
    "买家应付邮费",
    "买家支付积分",
    "总金额",
    "返点积分",
    "买家实际支付金额",
    "买家实际支付积分",
    "订单状态",
    "买家留言",
    "收货人姓名",
    "收货地址 ",
    "运送方式",
    "联系电话 ",
    "联系手机",
    "订单创建时间",
    "订单付款时间 ",
    "宝贝标题 ",
    "宝贝种类 ",
    "物流单号 ",
    "物流公司",
    "订单备注",
    "宝贝总数量",
    "店铺Id",
    "店铺名称",
    "订单关闭原因",
    "卖家服务费",
    "买家服务费",
    "发票抬头",
    "是否手机订单",
    "分阶段订单信息",
    "特权订金订单id",
    "是否上传合同照片",
    "是否上传小票",
    "是否代付",
    "定金排名",
    "修改后的sku",
    "修改后的收货地址",
    "异常信息",
    "天猫卡券抵扣",
    "集分宝抵扣",
    "是否是O2O交易",
    "新零售交易类型",
    "新零售导购门店id",
    "新零售导购门店名称",
    "新零售发货门店id",
    "新零售发货门店名称",
    "退款金额",
    "预约门店",
    "确认收货时间",
    "打款商家金额",
    "含应开票给个人的个人红包",
    "发货时间",
    "商家备忘",
    "是否信用购",
    "前N有礼",
    "支付单号",
    "订单类型",
    "是否海外直邮",
    "预售尾款支付时间",
    "定金支付时间",
    "是否超时发货",
    "商品类型",
    "分期付款信息",
    "花呗分期",
    "是否品牌新享",
    "是否商家承担运费险",
    "收货地址是否修改",
    "订单标签",
]
ITEM_HEADERS = (
    "订单编号",
    "标题",
    "价格",
    "购买数量",
    "外部系统编号",
    "商品属性",
    "套餐信息",
    "联系方式备注",
    "订单状态",
    "商家编码",
)

SHOP = "回头客旗舰店"
_REGIONS = (
    ("浙江省", "杭州市", ("西湖区", "余杭区", "拱墅区", "滨江区"), "310000"),
    ("浙江省", "宁波市", ("鄞州区", "海曙区"), "315000"),
    ("江苏省", "南京市", ("鼓楼区", "玄武区", "江宁区"), "210000"),
    ("江苏省", "苏州市", ("姑苏区", "工业园区"), "215000"),
    ("广东省", "广州市", ("天河区", "越秀区", "海珠区"), "510000"),
    ("广东省", "深圳市", ("南山区", "福田区", "宝安区"), "518000"),
    ("四川省", "成都市", ("武侯区", "锦江区", "高新区"), "610000"),
    ("湖北省", "武汉市", ("洪山区", "江汉区"), "430000"),
    ("北京", "北京市", ("朝阳区", "海淀区", "东城区"), "100000"),
    ("上海", "上海市", ("浦东新区", "徐汇区", "静安区"), "200000"),
    ("山东省", "济南市", ("历下区", "市中区"), "250000"),
    ("福建省", "厦门市", ("思明区", "湖里区"), "361000"),
)
_STREETS = (
    "文三路",
    "人民南路",
    "中山路",
    "解放路",
    "建设大道",
    "长江路",
    "学院路",
    "滨江大道",
    "南京东路",
    "科技园路",
)
_SURNAMES = "张王李赵刘陈杨黄周吴徐孙马朱胡郭何高林罗"
_GIVEN = ("伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "霞", "平", "刚")
_HANDLE_WORDS = ("小鱼儿", "tb_", "茶香", "sunny", "阿狸", "lucky", "江南", "cat", "星星", "momo")
_CARRIERS = ("中通快递", "圆通速递", "韵达快递", "顺丰速运", "申通快递", "邮政EMS")
_PRODUCT_WORDS = (
    ("桂花龙井", "明前特级", "250g"),
    ("紫砂杯", "手工", "朱泥"),
    ("白茶饼", "福鼎", "357g"),
    ("铁观音", "浓香型", "500g"),
    ("普洱熟茶", "勐海", "200g"),
    ("茶具套装", "家用", "6件"),
    ("红茶", "正山小种", "礼盒装"),
    ("茉莉花茶", "飘雪", "100g"),
)
# (status text, weight, paid?, shipped?, confirmed?)
_STATUSES = (
    ("交易成功", 62, True, True, True),
    ("卖家已发货，等待买家确认", 12, True, True, False),
    ("买家已付款，等待卖家发货", 8, True, False, False),
    ("交易关闭", 10, False, False, False),
    ("等待买家付款", 5, False, False, False),
    ("买家已签收", 3, True, True, False),
)


@dataclass(frozen=True)
class ExportPair:
    """The two files written and what they hold (item lines, orders, distinct buyers)."""

    orders_path: Path
    items_path: Path
    lines: int
    orders: int
    buyers: int


def _products(rnd: random.Random, n: int = 2000) -> list[tuple[str, str, str, str]]:
    """(title, price, 外部系统编号, 商家编码) of a shop's catalogue."""
    out = []
    for i in range(n):
        a, b, c = _PRODUCT_WORDS[i % len(_PRODUCT_WORDS)]
        title = f"{a} {b} {c} 第{i // len(_PRODUCT_WORDS) + 1}款"
        price = f"{rnd.randint(9, 899)}.{rnd.choice(('00', '00', '90', '50', '99'))}"
        out.append((title, price, f"{600000000000 + i * 37}", f"SJ-{i:05d}-{rnd.choice('ABCDEFG')}"))
    return out


def _buyer(rnd: random.Random, i: int) -> tuple[str, str, str, str]:
    """(handle, receiver name, phone cell, address) of buyer number i (stable for that buyer)."""
    word = _HANDLE_WORDS[i % len(_HANDLE_WORDS)]
    handle = f"{word}{i:06d}" if word != "tb_" else f"tb_{8800000 + i * 7}"
    name = rnd.choice(_SURNAMES) + (rnd.choice(_GIVEN) + rnd.choice(("", *_GIVEN)))
    if rnd.random() < 0.6:
        name = name[0] + "**"
    digits = f"1{rnd.choice('3456789')}{rnd.randrange(10**9):09d}"
    phone = f"{digits[:3]}****{digits[7:]}" if rnd.random() < 0.55 else f"'{digits}"
    province, city, districts, postcode = rnd.choice(_REGIONS)
    street = f"{rnd.choice(_STREETS)}{rnd.randint(1, 999)}号{rnd.randint(1, 30)}幢{rnd.randint(101, 2808)}室"
    address = f"{province} {city} {rnd.choice(districts)} {street}({postcode})"
    return handle, name, phone, address


def _line_count(rnd: random.Random) -> int:
    x = rnd.random()
    return 1 if x < 0.70 else 2 if x < 0.90 else 3 if x < 0.97 else 4


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def write_export_pair(folder: Path, *, lines: int = 1_000_000, seed: int = 4) -> ExportPair:
    """Write a Taobao order report + item report with `lines` item lines into `folder` (GB18030)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    orders_path = folder / "ExportOrderList202506191200.csv"
    items_path = folder / "ExportOrderDetailList202506191200.csv"
    rnd = random.Random(seed)
    products = _products(rnd)
    n_buyers = max(1, round(lines * 0.3))
    buyer_cache: dict[int, tuple[str, str, str, str]] = {}
    statuses = [s for s in _STATUSES for _ in range(s[1])]
    start = datetime(2023, 1, 1)
    span = 900 * 86400
    buyers_seen: set[int] = set()
    written = orders = 0
    with (
        orders_path.open("w", encoding="gb18030", newline="") as fo,
        items_path.open("w", encoding="gb18030", newline="") as fi,
    ):
        wo, wi = csv.writer(fo), csv.writer(fi)
        wo.writerow(ORDER_HEADERS)
        wi.writerow(ITEM_HEADERS)
        while written < lines:
            orders += 1
            order_no = f"{3812345678901234567 + orders * 7919}"
            # the first buyers each order once; later orders mostly come back from a smaller loyal core
            b = orders - 1 if orders <= n_buyers else int(n_buyers * rnd.random() ** 1.6)
            buyers_seen.add(b)
            buyer = buyer_cache.get(b)
            if buyer is None:
                buyer = _buyer(random.Random(seed * 1_000_003 + b), b)
                if len(buyer_cache) < 200_000:
                    buyer_cache[b] = buyer
            handle, name, phone, address = buyer
            k = min(_line_count(rnd), lines - written)
            items = [(products[int(len(products) * rnd.random() ** 2)], rnd.choice((1, 1, 1, 2, 3))) for _ in range(k)]
            goods = sum(round(float(p[1]) * 100) * q for p, q in items)
            postage = rnd.choice((0, 0, 0, 600, 1000))
            discount = min(goods // 10, rnd.choice((0, 0, 500, 1000, 2000)))
            total = goods + postage
            status, _w, paid, shipped, confirmed = rnd.choice(statuses)
            created = start + timedelta(seconds=int(span * (orders / (lines / 1.43 + 1))) + rnd.randint(0, 3600))
            paid_at = created + timedelta(seconds=rnd.randint(5, 900)) if paid else None
            shipped_at = paid_at + timedelta(hours=rnd.randint(2, 72)) if shipped and paid_at else None
            confirmed_at = shipped_at + timedelta(days=rnd.randint(2, 10)) if confirmed and shipped_at else None
            row = [""] * len(ORDER_HEADERS)
            row[0] = f'="{order_no}"'
            row[1] = handle
            row[2] = f"{handle[:3]}***@163.com"
            row[3] = _money(goods)
            row[4] = _money(postage)
            row[5] = "0"
            row[6] = _money(total)
            row[7] = "0"
            row[8] = _money(total - discount) if paid else "0.00"
            row[9] = "0"
            row[10] = status
            row[11] = rnd.choice(("", "", "", "", "请尽快发货", "送人的，不要放发票"))
            row[12] = name
            row[13] = address
            row[14] = "快递"
            row[16] = phone
            row[17] = created.strftime("%Y-%m-%d %H:%M:%S")
            row[18] = paid_at.strftime("%Y-%m-%d %H:%M:%S") if paid_at else ""
            row[19] = "，".join(p[0] for p, _q in items)
            row[20] = str(k)
            if shipped_at:
                row[21] = f'="7730{orders:011d}"'
                row[22] = rnd.choice(_CARRIERS)
            row[24] = str(sum(q for _p, q in items))
            row[25] = "0"
            row[26] = SHOP
            row[27] = "订单未关闭" if status != "交易关闭" else "买家不想买了"
            row[28] = "0"
            row[29] = "0元"
            row[31] = rnd.choice(("手机订单", "手机订单", ""))
            row[34] = row[35] = row[36] = "否"
            row[49] = "0.00"
            row[51] = confirmed_at.strftime("%Y-%m-%d %H:%M:%S") if confirmed_at else ""
            row[54] = shipped_at.strftime("%Y-%m-%d %H:%M:%S") if shipped_at else ""
            row[55] = rnd.choice(("", "", "", "", "", "618 大促", "老客户，送小样"))
            wo.writerow(row)
            for (title, price, external_id, code), qty in items:
                attrs = rnd.choice(("净含量:250g;包装:罐装", "颜色分类:朱泥", "规格:标准装", ""))
                wi.writerow((f'="{order_no}"', title, price, qty, external_id, attrs, "", "", status, code))
            written += k
    return ExportPair(orders_path, items_path, written, orders, len(buyers_seen))
