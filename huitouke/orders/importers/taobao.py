"""Taobao/Tmall order report (订单报表, ExportOrderList*.csv) joined with the item report (宝贝报表).

The order report has had 41-, 54- and 71-column layouts; all are read by header name, optional columns may be
absent. Without an item report, each order gets one line from 宝贝标题/宝贝总数量/买家应付货款. The item report is
read first into a dict order number → compact tuples of raw cells (strings interned, parsed only at join time);
the order report is then streamed and each order takes (pops) its lines. A line from the order report is marked
`summary_lines`: the writers never let it replace the lines an archived order has (#14: re-importing the order
report alone turned 200 item lines into 148 summaries).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import tzinfo
from decimal import Decimal

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
from huitouke.orders.importers.columnar import columnar_batches
from huitouke.orders.importers.common import MEMBER_LEVEL, Fields, Seen, bad_row, cell_error, join, require, resolve
from huitouke.orders.importers.rows import LineRow, OrderRow, RowError
from huitouke.orders.importers.table import BadRow, Table, shown

LABEL = "Taobao/Tmall order report (订单报表)"
ITEMS_LABEL = "Taobao/Tmall item report (宝贝报表)"

REQUIRED = (("订单编号",), ("买家会员名",), ("订单状态",), ("订单创建时间",), ("买家实际支付金额",))
ITEMS_REQUIRED = (("主订单编号", "订单编号"), ("标题", "商品标题", "宝贝标题"), ("价格", "商品价格"), ("购买数量",))

FIELDS: Fields = {
    "member_level": MEMBER_LEVEL,
    "order_no": ("订单编号",),
    "buyer": ("买家会员名", "买家昵称"),
    "goods": ("买家应付货款",),
    "shipping": ("买家应付邮费",),
    "total": ("总金额",),
    "paid": ("买家实际支付金额",),
    "status": ("订单状态",),
    "remark": ("买家留言",),
    "name": ("收货人姓名",),
    "address": ("收货地址",),
    "new_address": ("修改后的收货地址",),
    "tel": ("联系电话",),
    "mobile": ("联系手机",),
    "created": ("订单创建时间",),
    "paid_at": ("订单付款时间",),
    "title": ("宝贝标题",),
    "tracking": ("物流单号",),
    "carrier": ("物流公司",),
    "memo": ("订单备注",),
    "memo2": ("商家备忘",),
    "quantity": ("宝贝总数量",),
    "shop": ("店铺名称",),
    "close_reason": ("订单关闭原因",),
    "refund": ("退款金额",),
    "confirmed": ("确认收货时间",),
    "shipped": ("发货时间",),
}

ITEM_FIELDS: Fields = {
    "order_no": ("主订单编号", "订单编号"),
    "title": ("标题", "商品标题", "宝贝标题"),
    "price": ("价格", "商品价格"),
    "quantity": ("购买数量",),
    "external_id": ("外部系统编号", "商品ID", "宝贝ID"),
    "attributes": ("商品属性", "宝贝属性", "SKU属性"),
    "package": ("套餐信息",),
    "status": ("订单状态",),
    "sku": ("商家编码", "商家编码-SKU", "商品编码"),
    "refund": ("退款状态",),
}

_STATUS_TEXTS = {
    r.PENDING: (
        "等待买家付款",
        "等待付款",
        "等待买家付款定金",
        "等待买家付尾款",
        "等待付款确认",
        "买家已付定金，等待付尾款",
    ),
    r.PAID: ("买家已付款，等待卖家发货", "买家已付款", "等待卖家发货", "已付款", "等待发货", "卖家已接单"),
    r.SHIPPED: (
        "卖家已发货，等待买家确认",
        "卖家已发货",
        "部分发货",
        "卖家部分发货",
        "等待买家确认收货",
        "已发货",
        "等待买家确认收货，卖家已发货",
    ),
    r.DELIVERED: ("买家已签收", "买家已签收，货到付款专用", "已签收"),
    r.COMPLETED: ("交易成功", "交易完成"),
    r.CLOSED: (
        "交易关闭",
        "付款以前，卖家或买家主动关闭交易",
        "交易自动关闭",
        "交易被淘宝关闭",
        "买家已付款，交易关闭",
    ),
}
#: status text (status_key form) → normalised status
STATUS: dict[str, str] = {status_key(t): status for status, texts in _STATUS_TEXTS.items() for t in texts}
_CLOSED_KEYS = frozenset(status_key(t) for t in _STATUS_TEXTS[r.CLOSED])

#: an item report line's raw cells: (title, price, quantity, external_id, attributes, status, sku, refund); equal
#: cells share one tuple, so a product's lines are parsed once per order status (`_item_lines`)
_ItemValues = tuple[str, str, str, str, str, str, str, str]
_Item = tuple[int, _ItemValues]  # (items file row number, cells)
#: a line's parsed values (title, sku, external_id, quantity, unit price, amount, attributes, refund state), or
#: why it was rejected: (header, value, reason)
_Parsed = tuple[str, str, str, int, Decimal, Decimal, str, str] | tuple[str, str, str]
#: the first cell of an item row the table could not read; the cells after it: reason, header, value
_BAD_ITEM = "\ufffd(unreadable item row)"


def parse(table: Table, items: Table | None, tz: tzinfo) -> Iterator[OrderRow | RowError]:
    """Stream the orders of an order report, joined with its item report when given."""
    require(table, REQUIRED, LABEL)
    if items is not None:
        require(items, ITEMS_REQUIRED, ITEMS_LABEL)
    return _parse(table, items, tz)


class _Context:
    """What the parse of one order report needs at every row: its columns, the item report's lines by order
    number, the order numbers seen, the parsed item lines (shared by the row parser and `taobao_columns`)."""

    def __init__(self, table: Table, items: Table | None, tz: tzinfo) -> None:
        self.table, self.items, self.tz = table, items, tz
        self.c = resolve(table, FIELDS)
        self.by_order: dict[str, list[_Item]] | None = None
        self.item_headers = ("", "")
        if items is not None:
            self.item_headers = (
                items.name(items.index(*ITEM_FIELDS["price"])),
                items.name(items.index(*ITEM_FIELDS["quantity"])),
            )
        self.line_cache: dict[tuple[_ItemValues, str], _Parsed] = {}
        #: `taobao_columns`: the item lines the columns read, by cells (all but the refund state), and the refund
        #: states by (refund, item status, order status)
        self.item_base: dict[_ItemValues, tuple[str, str, str, int, Decimal, Decimal, str]] = {}
        self.refund_states: dict[tuple[str, str, str], str] = {}
        self.has_refund = table.has("退款金额")
        self.seen = Seen()


def _parse(table: Table, items: Table | None, tz: tzinfo) -> Iterator[OrderRow | RowError]:
    ctx = _Context(table, items, tz)
    # large files are read by pyarrow and their cells converted column by column (`taobao_columns`: the same
    # orders and errors, the rows it cannot convert alike parsed here, one by one)
    from huitouke.orders.importers import taobao_columns

    if items is not None:
        item_parts = columnar_batches(items, resolve(items, ITEM_FIELDS).values())
        ctx.by_order = (
            _load_items(items, items.rows)
            if item_parts is None
            else taobao_columns.load_items(items, item_parts, ctx.item_base)
        )
    parts = columnar_batches(table, ctx.c.values())
    if parts is not None:
        yield from taobao_columns.orders(ctx, parts)
    else:
        yield from _rows(ctx, table.rows)
    if ctx.by_order:
        yield from _orphans(ctx.by_order, items)  # type: ignore[arg-type]  # by_order ⇒ items set


def _rows(ctx: _Context, rows: Iterator[tuple[int, list[str]]]) -> Iterator[OrderRow | RowError]:
    """The row parser: each row's cells turned into values one by one."""
    table, c, tz, by_order, seen, has_refund = ctx.table, ctx.c, ctx.tz, ctx.by_order, ctx.seen, ctx.has_refund
    item_headers, line_cache = ctx.item_headers, ctx.line_cache
    # the columns as locals: this loop runs once per order of million-line files
    k_no, k_buyer, k_goods, k_shipping, k_total, k_paid, k_refund, k_status = (
        c["order_no"], c["buyer"], c["goods"], c["shipping"], c["total"], c["paid"], c["refund"], c["status"]
    )  # fmt: skip
    k_created, k_paid_at, k_shipped, k_confirmed = c["created"], c["paid_at"], c["shipped"], c["confirmed"]
    k_address, k_new_address, k_shop, k_name, k_mobile, k_tel = (
        c["address"], c["new_address"], c["shop"], c["name"], c["mobile"], c["tel"]
    )  # fmt: skip
    k_carrier, k_tracking, k_remark, k_memo, k_memo2, k_close = (
        c["carrier"], c["tracking"], c["remark"], c["memo"], c["memo2"], c["close_reason"]
    )  # fmt: skip
    for row_no, row in rows:
        if isinstance(row, BadRow):
            yield bad_row(table, row_no, row)
            continue
        col = k_no
        try:
            order_no = parse_id(row[col])
            repeat = seen.repeat(order_no, row_no)
            if repeat is not None:
                yield repeat
                continue
            col = k_buyer
            buyer = text(row[col])
            if not buyer:
                raise CellError("missing buyer")
            col = k_goods
            goods = parse_amount(row[col])
            col = k_shipping
            shipping = parse_amount(row[col])
            col = k_total
            total = parse_amount(row[col])
            col = k_paid
            paid = parse_amount(row[col])
            col = k_refund
            refund = parse_amount(row[col])
            col = k_status
            status = parse_status(row[col], STATUS)
            if status == r.CLOSED and has_refund and refund > 0 and refund >= paid:
                status = r.REFUNDED  # a trade closes itself after a full refund
            col = k_created
            ordered_at = parse_datetime(row[col], tz)
            if ordered_at is None:
                raise CellError("missing order time")
            col = k_paid_at
            paid_at = parse_datetime(row[col], tz)
            col = k_shipped
            shipped_at = parse_datetime(row[col], tz)
            col = k_confirmed
            confirmed_at = parse_datetime(row[col], tz)
        except CellError as exc:
            yield cell_error(table, row_no, row, col, exc)
            if by_order is not None:
                by_order.pop(unwrap(row[k_no]), None)
            continue

        own = by_order.pop(order_no, None) if by_order is not None else None
        if own:
            lines_or_error = _item_lines(own, item_headers, row_no, status, line_cache)
        else:
            lines_or_error = _summary_line(table, c, row_no, row, goods, status)
        summary = not own
        if isinstance(lines_or_error, RowError):
            yield lines_or_error
            continue

        province, city, district, street, postcode = split_address(text(row[k_new_address]) or text(row[k_address]))
        yield OrderRow(
            row_no=row_no,
            order_no=order_no,
            platform=r.TAOBAO,
            shop_name=text(row[k_shop]),
            buyer_handle=buyer,
            buyer_name=text(row[k_name]),
            phone=parse_phone(row[k_mobile]) or parse_phone(row[k_tel]),
            email="",
            province=province,
            city=city,
            district=district,
            address=street,
            postcode=postcode,
            status=status,
            goods_amount=goods,
            shipping_fee=shipping,
            total_amount=total,
            paid_amount=paid,
            refund_amount=refund,
            ordered_at=ordered_at,
            paid_at=paid_at,
            shipped_at=shipped_at,
            confirmed_at=confirmed_at,
            logistics_company=text(row[k_carrier]),
            tracking_no=unwrap(row[k_tracking]).removeprefix("No:").strip(),
            buyer_remark=text(row[k_remark]),
            seller_memo=join(text(row[k_memo]), text(row[k_memo2]), sep="; "),
            close_reason=text(row[k_close]),
            member_level=text(row[c["member_level"]]),
            lines=lines_or_error,
            summary_lines=summary,
        )


def _summary_line(
    table: Table, c: dict[str, int], row_no: int, row: list[str], goods: Decimal, status: str
) -> tuple[LineRow, ...] | RowError:
    title = text(row[c["title"]])
    raw_qty = row[c["quantity"]]
    try:
        quantity = parse_quantity(raw_qty) if raw_qty.strip() else 1
    except CellError as exc:
        return cell_error(table, row_no, row, c["quantity"], exc)
    refund_state = r.REFUND_REFUNDED if status == r.REFUNDED else r.REFUND_NONE
    return (LineRow(1, title, "", "", quantity, unit_price(goods, quantity), goods, "", refund_state),)


def _load_items(
    items: Table,
    rows: Iterator[tuple[int, list[str]]],
    by_order: dict[str, list[_Item]] | None = None,
    pool: dict[_ItemValues, _ItemValues] | None = None,
) -> dict[str, list[_Item]]:
    """One pass over the item report's `rows`: order number → (row number, cells) (equal cells stored once, not
    copied), added to `by_order` (and `pool`, the cells stored) when given."""
    c = resolve(items, ITEM_FIELDS)
    ko, kt, kp, kq, ke, ka, kk, ks, ku, kr = (
        c["order_no"],
        c["title"],
        c["price"],
        c["quantity"],
        c["external_id"],
        c["attributes"],
        c["package"],
        c["status"],
        c["sku"],
        c["refund"],
    )
    if pool is None:
        pool = {}
    intern = pool.setdefault
    if by_order is None:
        by_order = {}
    for row_no, row in rows:
        order_no = unwrap(row[ko])
        if isinstance(row, BadRow):
            at = row.column
            header, value = (items.name(at), shown(row[at])) if at >= 0 else ("", "")
            by_order.setdefault(order_no, []).append((row_no, (_BAD_ITEM, row.reason, header, value, "", "", "", "")))
            continue
        package = row[kk]
        attributes = join(text(row[ka]), text(package), sep="; ") if package else text(row[ka])
        values = (row[kt], row[kp], row[kq], row[ke], attributes, row[ks], row[ku], row[kr])
        item = (row_no, intern(values, values))
        lines = by_order.get(order_no)
        if lines is None:
            by_order[order_no] = [item]
        else:
            lines.append(item)
    return by_order


def _item_lines(
    own: list[_Item], headers: tuple[str, str], row_no: int, status: str, cache: dict[tuple[_ItemValues, str], _Parsed]
) -> tuple[LineRow, ...] | RowError:
    lines = []
    for n, (i_row, values) in enumerate(own, 1):
        if values[0] is _BAD_ITEM:
            return RowError(row_no, values[2], values[3], f"{values[1]} (items file row {i_row})")
        key = (values, status)
        parsed = cache.get(key)
        if parsed is None:
            parsed = cache[key] = _parse_item(values, headers, status)
        if len(parsed) == 3:
            header, value, reason = parsed
            return RowError(row_no, header, value, f"{reason} (items file row {i_row})")
        lines.append(LineRow(n, *parsed))
    return tuple(lines)


def _parse_item(values: _ItemValues, headers: tuple[str, str], status: str) -> _Parsed:
    title, price, qty, external_id, attributes, i_status, sku, refund = values
    header, value = headers[0], price
    try:
        unit = parse_amount(price)
        header, value = headers[1], qty
        quantity = parse_quantity(qty)
    except CellError as exc:
        return (header, value, exc.reason)
    refund_state = _refund_state(refund, i_status, status)
    return (text(title), unwrap(sku), unwrap(external_id), quantity, unit, unit * quantity, attributes, refund_state)


def _refund_state(refund: str, item_status: str, order_status: str) -> str:
    if order_status == r.REFUNDED:
        return r.REFUND_REFUNDED
    refund = refund.strip()
    if refund:
        if "退款成功" in refund:
            return r.REFUND_REFUNDED
        if refund in ("没有申请退款", "退款关闭", "无") or "拒绝" in refund:
            return r.REFUND_NONE
        return r.REFUND_REQUESTED
    if order_status != r.CLOSED and status_key(item_status) in _CLOSED_KEYS:
        return r.REFUND_REFUNDED  # one line closed inside a live order: that line was refunded
    return r.REFUND_NONE


def _orphans(by_order: dict[str, list[_Item]], items: Table) -> Iterator[RowError]:
    header = items.name(items.index(*ITEM_FIELDS["order_no"]))
    for order_no, lines in by_order.items():
        reason = "no order with this number in the order report (or that order was rejected)"
        yield RowError(lines[0][0], header, order_no, f"{reason} (items file row {lines[0][0]})")
