"""JD POP order export (京东商家后台 订单导出): one row per order line, the same 订单号 on consecutive rows.

Order-level cells are read from the first row of each order. Amounts: 订单金额 → total, 运费金额 → shipping,
paid = 应付金额 + 余额支付 (the balance part is paid from the buyer's JD wallet), goods = Σ 京东价 × 订购数量.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import tzinfo

from huitouke.orders.importers import rows as r
from huitouke.orders.importers.cells import (
    ZERO,
    CellError,
    parse_amount,
    parse_datetime,
    parse_phone,
    parse_quantity,
    parse_status,
    split_address,
    status_key,
    text,
    unwrap,
)
from huitouke.orders.importers.common import (
    MEMBER_LEVEL,
    Fields,
    Seen,
    cell_error,
    grouped,
    order_key,
    require,
    resolve,
)
from huitouke.orders.importers.rows import LineRow, OrderRow, RowError
from huitouke.orders.importers.table import Table

LABEL = "JD order export (京东订单)"
REQUIRED = (
    ("订单号",),
    ("商品名称",),
    ("订购数量",),
    ("京东价",),
    ("下单时间",),
    ("订单状态",),
    ("应付金额",),
    ("下单帐号", "下单账号", "客户账号", "用户账号"),
)

FIELDS: Fields = {
    "member_level": MEMBER_LEVEL,
    "order_no": ("订单号",),
    "item_id": ("商品ID", "商品编号", "SKU"),
    "title": ("商品名称",),
    "quantity": ("订购数量",),
    "created": ("下单时间",),
    "price": ("京东价",),
    "total": ("订单金额",),
    "balance": ("余额支付",),
    "payable": ("应付金额",),
    "status": ("订单状态",),
    "buyer": ("下单帐号", "下单账号", "客户账号", "用户账号"),
    "name": ("客户姓名", "收货人姓名"),
    "address": ("客户地址", "收货地址"),
    "phone": ("联系电话", "联系手机", "手机号"),
    "remark": ("订单备注", "买家备注"),
    "memo": ("商家备注",),
    "shipping": ("运费金额", "运费"),
    "paid_at": ("付款确认时间", "付款时间"),
    "sku": ("商家SKUID", "货号", "商家编码"),
    "shipped": ("出库时间",),
    "completed": ("订单完成时间", "完成时间"),
    "shop": ("店铺名称",),
    "carrier": ("承运商", "快递公司", "物流公司"),
    "tracking": ("运单号", "快递单号", "物流单号"),
    "refund": ("退款金额",),
}

_STATUS_TEXTS = {
    r.PENDING: ("等待付款", "等待付款确认", "待付款"),
    r.PAID: ("等待出库", "等待打印", "等待发货", "等待厂商处理", "暂停", "锁定", "已锁定", "待出库", "等待确认"),
    r.SHIPPED: ("等待确认收货", "已出库", "配送中", "已发货", "待收货"),
    r.DELIVERED: ("已妥投", "已签收"),
    r.COMPLETED: ("完成", "已完成", "订单完成", "交易完成"),
    r.CLOSED: ("已取消", "取消", "订单已取消", "删除", "已删除", "(删除)已取消", "交易关闭"),
    r.REFUNDED: ("退款成功", "已退款", "退款完成"),
}
STATUS: dict[str, str] = {status_key(t): status for status, texts in _STATUS_TEXTS.items() for t in texts}


def parse(table: Table, tz: tzinfo) -> Iterator[OrderRow | RowError]:
    require(table, REQUIRED, LABEL)
    return _parse(table, tz)


def _parse(table: Table, tz: tzinfo) -> Iterator[OrderRow | RowError]:
    c = resolve(table, FIELDS)
    seen = Seen()
    for _key, group in grouped(table, c["order_no"]):
        order_no, error = order_key(table, group, c["order_no"], seen)
        if error is not None:
            yield error
            continue
        row_no, row = group[0]
        lines: list[LineRow] = []
        col = c["buyer"]
        try:
            buyer = text(row[col])
            if not buyer:
                raise CellError("missing buyer account")
            col = c["status"]
            status = parse_status(row[col], STATUS)
            col = c["total"]
            total = parse_amount(row[col])
            col = c["payable"]
            paid = parse_amount(row[col])
            col = c["balance"]
            paid += parse_amount(row[col])
            col = c["shipping"]
            shipping = parse_amount(row[col])
            col = c["refund"]
            refund = parse_amount(row[col])
            col = c["created"]
            ordered_at = parse_datetime(row[col], tz)
            if ordered_at is None:
                raise CellError("missing order time")
            col = c["paid_at"]
            paid_at = parse_datetime(row[col], tz)
            col = c["shipped"]
            shipped_at = parse_datetime(row[col], tz)
            col = c["completed"]
            confirmed_at = parse_datetime(row[col], tz)
            for row_no, row in group:  # noqa: B007 - row_no/row name the failing row in the except clause
                col = c["price"]
                price = parse_amount(row[col])
                col = c["quantity"]
                quantity = parse_quantity(row[col])
                lines.append(
                    LineRow(
                        line_no=len(lines) + 1,
                        title=text(row[c["title"]]),
                        sku=unwrap(row[c["sku"]]),
                        external_id=unwrap(row[c["item_id"]]),
                        quantity=quantity,
                        unit_price=price,
                        amount=price * quantity,
                        attributes="",
                        refund_state=r.REFUND_REFUNDED if status == r.REFUNDED else r.REFUND_NONE,
                    )
                )
        except CellError as exc:
            yield cell_error(table, row_no, row, col, exc)
            continue
        if status == r.REFUNDED and not refund:
            refund = paid
        first_no, first = group[0]
        province, city, district, street, postcode = split_address(text(first[c["address"]]))
        yield OrderRow(
            row_no=first_no,
            order_no=order_no,
            platform=r.JD,
            shop_name=text(first[c["shop"]]),
            buyer_handle=buyer,
            buyer_name=text(first[c["name"]]),
            phone=parse_phone(first[c["phone"]]),
            email="",
            province=province,
            city=city,
            district=district,
            address=street,
            postcode=postcode,
            status=status,
            goods_amount=sum((line.amount for line in lines), start=ZERO),
            shipping_fee=shipping,
            total_amount=total,
            paid_amount=paid,
            refund_amount=refund,
            ordered_at=ordered_at,
            paid_at=paid_at,
            shipped_at=shipped_at,
            confirmed_at=confirmed_at,
            logistics_company=text(first[c["carrier"]]),
            tracking_no=unwrap(first[c["tracking"]]),
            buyer_remark=text(first[c["remark"]]),
            seller_memo=text(first[c["memo"]]),
            member_level=text(first[c["member_level"]]),
            lines=tuple(lines),
        )
