"""Any CSV/XLSX, read through a mapping {our field: their header}: a seller's own order archive.

Rows sharing an order number (consecutive) form one order with one line per row; order-level cells come from the
order's first row. Without an order number column each row is one order whose number is derived from its content
(date + a digest of buyer, product and amount, plus a counter for identical rows), so re-importing the same file
yields the same numbers. `suggest_mapping` recognises the archive headers of seed 004 (交易日期, 顾客ID, 真实姓名 …)
and their English equivalents.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime, tzinfo

from huitouke.orders.importers import jd, pdd, taobao, woocommerce
from huitouke.orders.importers import rows as r
from huitouke.orders.importers.cells import (
    ZERO,
    CellError,
    parse_amount,
    parse_bool,
    parse_datetime,
    parse_id,
    parse_phone,
    parse_quantity,
    split_address,
    status_key,
    text,
    unit_price,
    unwrap,
)
from huitouke.orders.importers.common import Seen, bad_row, cell_error, grouped, nonneg
from huitouke.orders.importers.rows import ImportFileError, LineRow, OrderRow, RowError
from huitouke.orders.importers.table import BadRow, Table, header_key

#: field → description; "(required)" marks the fields a mapping must fill (one of paid_amount/total_amount).
GENERIC_FIELDS: dict[str, str] = {
    "order_no": "Order number (required when orders have several rows; else derived from date, buyer and product)",
    "buyer_handle": "Buyer account / customer ID (required)",
    "ordered_at": "Order date and time (required)",
    "paid_amount": "Amount paid (required: this or total_amount)",
    "total_amount": "Order total (required: this or paid_amount)",
    "status": "Order status (optional; completed when absent)",
    "buyer_name": "Buyer or receiver name",
    "phone": "Phone number",
    "email": "Email address",
    "address": "Full address, split into province/city/district/street",
    "province": "Province / state",
    "city": "City",
    "district": "District",
    "street": "Street address",
    "postcode": "Postcode",
    "title": "Product title",
    "sku": "SKU / seller code (商家编码)",
    "quantity": "Quantity (1 when absent)",
    "unit_price": "Unit price",
    "line_amount": "Line amount",
    "shipping_fee": "Shipping fee",
    "refund_amount": "Refunded amount",
    "paid_at": "Payment time",
    "shipped_at": "Shipping time",
    "tracking_no": "Tracking number",
    "logistics_company": "Carrier",
    "remark": "Buyer's remark",
    "seller_memo": "Seller's memo",
    "gift": "Gift sent with the order",
    "member_level": "Member level (会员级别)",
    "new_products": "Agrees to new-product and promotion notices (是/否)",
    "shop_name": "Shop name",
    "platform": "Platform (淘宝/天猫/京东/拼多多/Shopify/WooCommerce; other when absent)",
}
REQUIRED_FIELDS = ("buyer_handle", "ordered_at")

_SUGGEST: dict[str, tuple[str, ...]] = {
    "order_no": ("订单编号", "订单号", "主订单编号", "Order No", "Order Number", "Order ID", "Order"),
    "buyer_handle": (
        "顾客ID", "客户ID", "买家会员名", "买家ID", "会员名", "客户账号", "买家账号", "旺旺", "Customer ID",
        "Buyer ID", "Customer", "Buyer", "Username", "Account",
    ),
    "ordered_at": (
        "交易日期", "下单时间", "订单创建时间", "成交时间", "日期", "时间", "Date", "Order Date", "Created at",
    ),
    "buyer_name": ("真实姓名", "姓名", "收货人姓名", "收货人", "客户姓名", "Name", "Customer Name", "Full Name"),
    "email": ("电子邮箱", "邮箱", "Email", "E-mail", "Email Address"),
    "phone": ("联系电话", "电话", "手机", "联系手机", "手机号", "Phone", "Mobile", "Telephone"),
    "address": ("收货地址", "地址", "Address", "Shipping Address"),
    "province": ("省", "省份", "Province", "State"),
    "city": ("市", "城市", "City"),
    "district": ("区", "区县", "District"),
    "street": ("街道", "详细地址", "Street"),
    "postcode": ("邮编", "Postcode", "Zip", "Postal Code"),
    "title": ("购买商品", "商品", "商品名称", "宝贝标题", "标题", "Product", "Item", "Product Name", "Item Name"),
    "sku": ("商家编码", "SKU", "货号"),
    "quantity": ("数量", "购买数量", "Quantity", "Qty"),
    "unit_price": ("单价", "价格", "Unit Price", "Price"),
    "line_amount": ("商品金额", "Line Amount", "Line Total"),
    "paid_amount": ("成交金额", "实付金额", "买家实际支付金额", "支付金额", "Amount", "Paid", "Amount Paid"),
    "total_amount": ("订单金额", "总金额", "Total", "Order Total"),
    "shipping_fee": ("运费", "邮费", "Shipping"),
    "refund_amount": ("退款金额", "Refund", "Refunded"),
    "status": ("订单状态", "状态", "Status", "Order Status"),
    "paid_at": ("付款时间", "支付时间", "Paid at"),
    "shipped_at": ("发货时间", "Shipped at"),
    "tracking_no": ("物流单号", "快递单号", "运单号", "Tracking Number", "Tracking"),
    "logistics_company": ("物流公司", "快递公司", "Carrier"),
    "remark": ("买家留言", "备注", "Remark", "Note", "Notes"),
    "seller_memo": ("卖家备注", "商家备注", "Memo"),
    "gift": ("购物赠品", "赠品", "Gift"),
    "member_level": ("会员级别", "会员等级", "Member Level", "Level", "Tier"),
    "new_products": ("新品通知", "接收新品通知", "愿意接收新品通知", "新品及促销通知", "New products opt-in"),
    "shop_name": ("店铺名称", "店铺", "Shop", "Store"),
    "platform": ("平台", "来源平台", "Platform", "Channel"),
}  # fmt: skip

_PLATFORMS = {
    "淘宝": r.TAOBAO, "天猫": r.TAOBAO, "taobao": r.TAOBAO, "tmall": r.TAOBAO, "京东": r.JD, "jd": r.JD,
    "拼多多": r.PDD, "pdd": r.PDD, "pinduoduo": r.PDD, "shopify": r.SHOPIFY, "woocommerce": r.WOOCOMMERCE,
    "woo": r.WOOCOMMERCE,
}  # fmt: skip

_OWN = {
    r.PENDING: ("待付款", "未付款", "awaiting payment", "unpaid"),
    r.PAID: ("已付款", "已支付", "待发货", "processing"),
    r.SHIPPED: ("已发货", "运输中", "in transit", "fulfilled"),
    r.DELIVERED: ("已签收", "已送达"),
    r.COMPLETED: ("已完成", "完成", "交易成功", "成功", "done", "complete"),
    r.CLOSED: ("已关闭", "关闭", "已取消", "取消", "cancelled", "canceled"),
    r.REFUNDED: ("已退款", "退款成功", "全额退款"),
}


def _status_table() -> dict[str, str]:
    table = {status_key(s): s for s in r.STATUSES}
    for status, texts in _OWN.items():
        for t in texts:
            table.setdefault(status_key(t), status)
    for other in (taobao.STATUS, jd.STATUS, pdd.STATUS):
        for key, status in other.items():
            table.setdefault(key, status)
    return table


#: every status text the generic importer understands (our own values, Chinese, English, all platforms' texts)
STATUS = _status_table()


def parse_generic_status(s: str) -> str:
    """Our status for a free-form status cell; empty → completed (an archive lists finished purchases)."""
    key = status_key(s)
    if not key:
        return r.COMPLETED
    status = STATUS.get(key)
    if status is None:
        try:
            return woocommerce.normalise_status(s)
        except CellError:
            raise CellError("unknown order status") from None
    return status


def suggest_mapping(headers: list[str]) -> dict[str, str]:
    """A mapping {field: header} guessed from header names; each header is used for at most one field."""
    by_key: dict[str, str] = {}
    for h in headers:
        if h.strip():
            by_key.setdefault(header_key(h), h.strip())
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for field, candidates in _SUGGEST.items():
        for candidate in candidates:
            header = by_key.get(header_key(candidate))
            if header is not None and header not in used:
                mapping[field] = header
                used.add(header)
                break
    return mapping


def check_mapping(table: Table, mapping: dict[str, str]) -> dict[str, int]:
    """Validate a mapping against the file; returns field → column index. Raises ImportFileError."""
    unknown = sorted(set(mapping) - set(GENERIC_FIELDS))
    if unknown:
        raise ImportFileError(f"unknown field(s) in the column mapping: {', '.join(unknown)}")
    mapping = {f: h for f, h in mapping.items() if h and h.strip()}
    absent = [h for h in mapping.values() if not table.has(h)]
    if absent:
        raise ImportFileError(f"the file has no column(s) {', '.join(absent)} named in the mapping")
    missing = [f for f in REQUIRED_FIELDS if f not in mapping]
    if "paid_amount" not in mapping and "total_amount" not in mapping:
        missing.append("paid_amount or total_amount")
    if missing:
        raise ImportFileError(f"the column mapping lacks required field(s): {', '.join(missing)}")
    return {field: table.index(mapping[field]) if field in mapping else table.width for field in GENERIC_FIELDS}


def parse(table: Table, mapping: dict[str, str], tz: tzinfo) -> Iterator[OrderRow | RowError]:
    c = check_mapping(table, mapping)
    return _parse(table, c, tz)


def _groups(table: Table, c: dict[str, int]) -> Iterator[tuple[str, list[tuple[int, list[str]]]]]:
    if c["order_no"] < table.width:
        yield from grouped(table, c["order_no"])
    else:
        for row_no, row in table.rows:
            yield "", [(row_no, row)]


def _derived_no(ordered_at: datetime, parts: tuple[str, ...], counts: dict[str, int]) -> str:
    """Order number for a row of a file without one: the same row content gives the same number (CSV or XLSX)."""
    digest = hashlib.sha1("\x1f".join(parts).encode(), usedforsecurity=False).hexdigest()[:10]
    key = f"{ordered_at:%Y%m%d%H%M%S}-{digest}"
    n = counts[key] = counts.get(key, 0) + 1
    return key if n == 1 else f"{key}-{n}"


def _parse(table: Table, c: dict[str, int], tz: tzinfo) -> Iterator[OrderRow | RowError]:
    seen = Seen()
    counts: dict[str, int] = {}
    derive = c["order_no"] >= table.width
    has_line_amounts = c["line_amount"] < table.width or c["unit_price"] < table.width
    for _key, group in _groups(table, c):
        row_no, row = group[0]
        bad = next(((n, rw) for n, rw in group if isinstance(rw, BadRow)), None)
        if bad is not None:
            yield bad_row(table, bad[0], bad[1])
            continue
        lines: list[LineRow] = []
        col = c["order_no"]
        try:
            order_no = "" if derive else parse_id(row[col])
            col = c["buyer_handle"]
            buyer = unwrap(row[col])
            if not buyer:
                raise CellError("missing buyer")
            col = c["ordered_at"]
            ordered_at = parse_datetime(row[col], tz)
            if ordered_at is None:
                raise CellError("missing order time")
            col = c["paid_amount"]
            paid = parse_amount(row[col]) if col < table.width else None
            col = c["total_amount"]
            total = parse_amount(row[col]) if col < table.width else None
            col = c["shipping_fee"]
            shipping = parse_amount(row[col])
            col = c["refund_amount"]
            refund = parse_amount(row[col])
            col = c["status"]
            status = parse_generic_status(row[col])
            col = c["paid_at"]
            paid_at = parse_datetime(row[col], tz)
            col = c["shipped_at"]
            shipped_at = parse_datetime(row[col], tz)
            col = c["new_products"]
            new_products = parse_bool(row[col])
            paid = paid if paid is not None else total or ZERO
            total = total if total is not None else paid
            for row_no, row in group:  # noqa: B007 - row_no/row name the failing row in the except clause
                title, sku = text(row[c["title"]]), unwrap(row[c["sku"]])
                if not (title or sku):
                    continue
                col = c["quantity"]
                quantity = parse_quantity(row[col]) if row[col].strip() else 1
                col = c["unit_price"]
                price = parse_amount(row[col]) if row[col].strip() else None
                col = c["line_amount"]
                amount = parse_amount(row[col]) if row[col].strip() else None
                if amount is None:
                    if price is not None:
                        amount = price * quantity
                    elif len(group) == 1:
                        amount = nonneg(total - shipping)
                    else:
                        amount = ZERO
                lines.append(
                    LineRow(
                        line_no=len(lines) + 1,
                        title=title,
                        sku=sku,
                        external_id="",
                        quantity=quantity,
                        unit_price=price if price is not None else unit_price(amount, quantity),
                        amount=amount,
                        attributes="",
                        refund_state=r.REFUND_REFUNDED if status == r.REFUNDED else r.REFUND_NONE,
                    )
                )
        except CellError as exc:
            yield cell_error(table, row_no, row, col, exc)
            continue
        first_no, first = group[0]
        if derive:
            parts = (buyer, text(first[c["title"]]), f"{paid:.2f}", f"{total:.2f}")
            order_no = _derived_no(ordered_at, parts, counts)
        repeat = seen.repeat(order_no, first_no)
        if repeat is not None:
            yield repeat
            continue
        if c["address"] < table.width:
            province, city, district, street, postcode = split_address(text(first[c["address"]]))
        else:
            province, city, district = text(first[c["province"]]), text(first[c["city"]]), text(first[c["district"]])
            street, postcode = text(first[c["street"]]), ""
        goods = sum((line.amount for line in lines), start=ZERO) if has_line_amounts else nonneg(total - shipping)
        platform_text = text(first[c["platform"]]).lower()
        yield OrderRow(
            row_no=first_no,
            order_no=order_no,
            platform=_PLATFORMS.get(platform_text, platform_text if platform_text in r.PLATFORMS else r.OTHER),
            shop_name=text(first[c["shop_name"]]),
            buyer_handle=buyer,
            buyer_name=text(first[c["buyer_name"]]),
            phone=parse_phone(first[c["phone"]]),
            email=text(first[c["email"]]).lower(),
            province=province,
            city=city,
            district=district,
            address=street,
            postcode=unwrap(first[c["postcode"]]) or postcode,
            status=status,
            goods_amount=goods,
            shipping_fee=shipping,
            total_amount=total,
            paid_amount=paid,
            refund_amount=refund or (paid if status == r.REFUNDED else ZERO),
            ordered_at=ordered_at,
            paid_at=paid_at,
            shipped_at=shipped_at,
            confirmed_at=None,
            logistics_company=text(first[c["logistics_company"]]),
            tracking_no=unwrap(first[c["tracking_no"]]),
            buyer_remark=text(first[c["remark"]]),
            seller_memo=text(first[c["seller_memo"]]),
            gift=text(first[c["gift"]]),
            member_level=text(first[c["member_level"]]),
            new_products=new_products,
            lines=tuple(lines),
        )
