"""Pinduoduo order export (拼多多商家后台 订单查询 → 导出): one row per order (one SKU per order).

Headers carry units in half- or full-width parentheses (`商品总价(元)`, `商品总价（元）`); both match. The export
has no buyer account column in most layouts; the buyer handle is 买家ID/用户ID/买家昵称 when present, else the
unmasked 用户购买手机号, else "收货人|手机" (masked values are stable per buyer address book entry).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import tzinfo

from huitouke.orders.importers import rows as r
from huitouke.orders.importers.cells import (
    CellError,
    parse_amount,
    parse_datetime,
    parse_id,
    parse_phone,
    parse_quantity,
    parse_status,
    split_address,
    status_key,
    text,
    unit_price,
    unwrap,
)
from huitouke.orders.importers.common import MEMBER_LEVEL, Fields, Seen, bad_row, cell_error, join, require, resolve
from huitouke.orders.importers.rows import LineRow, OrderRow, RowError
from huitouke.orders.importers.table import BadRow, Table

LABEL = "Pinduoduo order export (拼多多订单)"
REQUIRED = (
    ("订单号",),
    ("订单状态",),
    ("商品总价(元)",),
    ("用户实付金额(元)",),
    ("商品数量(件)",),
    ("订单成交时间", "支付时间", "拼单成功时间"),
)

FIELDS: Fields = {
    "member_level": MEMBER_LEVEL,
    "order_no": ("订单号",),
    "title": ("商品", "商品名称"),
    "status": ("订单状态",),
    "goods": ("商品总价(元)",),
    "shipping": ("邮费(元)",),
    "paid": ("用户实付金额(元)",),
    "quantity": ("商品数量(件)",),
    "name": ("收货人", "收货人姓名"),
    "phone": ("手机", "收货人手机号", "联系电话"),
    "buyer_phone": ("用户购买手机号",),
    "buyer": ("买家ID", "用户ID", "买家昵称", "用户昵称"),
    "province": ("省",),
    "city": ("市",),
    "district": ("区",),
    "street": ("街道", "详细地址"),
    "address": ("收货地址",),
    "paid_at": ("支付时间",),
    "grouped_at": ("拼单成功时间",),
    "created": ("订单成交时间",),
    "shipped": ("发货时间",),
    "confirmed": ("确认收货时间",),
    "item_id": ("商品id",),
    "spec": ("商品规格",),
    "sku": ("商家编码-SKU维度", "商家编码-商品维度", "样式ID"),
    "tracking": ("快递单号", "运单号"),
    "carrier": ("快递公司",),
    "memo": ("商家备注",),
    "after_sale": ("售后状态",),
    "remark": ("买家留言",),
    "refund": ("退款金额(元)",),
}

_STATUS_TEXTS = {
    r.PENDING: ("待付款", "未支付", "待支付"),
    r.PAID: ("待发货", "已支付，待发货", "待成团", "已成团，待发货", "未发货"),
    r.SHIPPED: ("已发货，待收货", "已发货，待签收", "已发货", "待收货"),
    r.DELIVERED: ("已签收",),
    r.COMPLETED: ("已收货", "交易成功", "已完成"),
    r.CLOSED: ("已取消", "已关闭", "交易关闭", "已取消，未成团", "未发货，已取消"),
    r.REFUNDED: ("未发货，退款成功", "已发货，退款成功", "已收货，退款成功", "已签收，退款成功", "退款成功"),
}
STATUS: dict[str, str] = {status_key(t): status for status, texts in _STATUS_TEXTS.items() for t in texts}
_LIVE = frozenset({r.PAID, r.SHIPPED, r.DELIVERED, r.COMPLETED})


def parse(table: Table, tz: tzinfo) -> Iterator[OrderRow | RowError]:
    require(table, REQUIRED, LABEL)
    return _parse(table, tz)


def _after_sale(s: str) -> str:
    s = s.strip()
    if not s or s.startswith("无售后") or "取消" in s or "关闭" in s or "驳回" in s:
        return r.REFUND_NONE
    if "成功" in s:
        return r.REFUND_REFUNDED
    return r.REFUND_REQUESTED


def _parse(table: Table, tz: tzinfo) -> Iterator[OrderRow | RowError]:
    c = resolve(table, FIELDS)
    seen = Seen()
    for row_no, row in table.rows:
        if isinstance(row, BadRow):
            yield bad_row(table, row_no, row)
            continue
        col = c["order_no"]
        try:
            order_no = parse_id(row[col])
            repeat = seen.repeat(order_no, row_no)
            if repeat is not None:
                yield repeat
                continue
            col = c["status"]
            status = parse_status(row[col], STATUS)
            col = c["goods"]
            goods = parse_amount(row[col])
            col = c["shipping"]
            shipping = parse_amount(row[col])
            col = c["paid"]
            paid = parse_amount(row[col])
            col = c["refund"]
            refund = parse_amount(row[col])
            col = c["quantity"]
            quantity = parse_quantity(row[col])
            col = c["created"]
            created = parse_datetime(row[col], tz)
            col = c["paid_at"]
            paid_at = parse_datetime(row[col], tz)
            col = c["grouped_at"]
            grouped_at = parse_datetime(row[col], tz)
            col = c["shipped"]
            shipped_at = parse_datetime(row[col], tz)
            col = c["confirmed"]
            confirmed_at = parse_datetime(row[col], tz)
            ordered_at = created or paid_at or grouped_at
            if ordered_at is None:
                col = c["created"] if table.has("订单成交时间") else c["paid_at"]
                raise CellError("missing order time")
            name = text(row[c["name"]])
            phone = parse_phone(row[c["phone"]])
            buyer_phone = parse_phone(row[c["buyer_phone"]])
            buyer = text(row[c["buyer"]]) or (buyer_phone if buyer_phone.isdigit() else "")
            buyer = buyer or (join(name, phone, sep="|") if name or phone else "")
            if not buyer:
                col = c["name"]
                raise CellError("no buyer identity (买家ID, 用户购买手机号, 收货人 and 手机 are all empty)")
        except CellError as exc:
            yield cell_error(table, row_no, row, col, exc)
            continue
        refund_state = _after_sale(row[c["after_sale"]])
        if refund_state == r.REFUND_REFUNDED and status in _LIVE:
            status = r.REFUNDED
        if status == r.REFUNDED:
            refund_state = r.REFUND_REFUNDED
            refund = refund or paid
        province, city, district = text(row[c["province"]]), text(row[c["city"]]), text(row[c["district"]])
        street, postcode = text(row[c["street"]]), ""
        if not (province or street):
            province, city, district, street, postcode = split_address(text(row[c["address"]]))
        yield OrderRow(
            row_no=row_no,
            order_no=order_no,
            platform=r.PDD,
            shop_name="",
            buyer_handle=buyer,
            buyer_name=name,
            phone=phone or buyer_phone,
            email="",
            province=province,
            city=city,
            district=district,
            address=street,
            postcode=postcode,
            status=status,
            goods_amount=goods,
            shipping_fee=shipping,
            total_amount=goods + shipping,
            paid_amount=paid,
            refund_amount=refund,
            ordered_at=ordered_at,
            paid_at=paid_at or grouped_at,
            shipped_at=shipped_at,
            confirmed_at=confirmed_at,
            logistics_company=text(row[c["carrier"]]),
            tracking_no=unwrap(row[c["tracking"]]),
            buyer_remark=text(row[c["remark"]]),
            seller_memo=text(row[c["memo"]]),
            member_level=text(row[c["member_level"]]),
            lines=(
                LineRow(
                    line_no=1,
                    title=text(row[c["title"]]),
                    sku=unwrap(row[c["sku"]]),
                    external_id=unwrap(row[c["item_id"]]),
                    quantity=quantity,
                    unit_price=unit_price(goods, quantity),
                    amount=goods,
                    attributes=text(row[c["spec"]]),
                    refund_state=refund_state,
                ),
            ),
        )
