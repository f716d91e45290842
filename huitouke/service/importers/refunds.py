"""Platform refund / after-sales exports → typed `RefundRow`s or `RowError`s (pure: no ORM, no Django).

Two layouts:
- `taobao`: named after the Taobao open platform's Refund fields (refund_id, tid, oid, status, reason, desc,
  refund_fee, created, modified, good_status, has_good_return, company_name, sid) with the Chinese headers of the
  seller centre's refund list (退款编号, 订单编号, 子订单编号, 退款状态 …) as synonyms.
- `generic`: any CSV/XLSX read through a mapping {our field: their header} (JD 服务单, PDD 售后单, Shopify refunds
  …); `suggest_mapping` proposes one from common headers.

Files are read with the order importers' table reader (encoding sniffing, GB18030, XLSX read-only, streamed) and
cell parsers; the number of data rows is bounded by `MAX_ROWS`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal

from huitouke.orders.importers.cells import (
    CellError,
    parse_amount,
    parse_bool,
    parse_datetime,
    parse_id,
    text,
    unwrap,
)
from huitouke.orders.importers.common import bad_row, cell_error
from huitouke.orders.importers.rows import ImportFileError, RowError
from huitouke.orders.importers.table import BadRow, Table, header_key
from huitouke.service.importers import rules

MAX_ROWS = 1_000_000

#: our field → accepted headers (the open platform's field name first, then the seller centre's Chinese header).
TAOBAO_FIELDS: dict[str, tuple[str, ...]] = {
    "refund_id": ("refund_id", "退款编号", "退款单号", "退款ID"),
    "order_no": ("tid", "订单编号", "订单号", "主订单编号"),
    "sub_order_no": ("oid", "子订单编号", "子订单号"),
    "status": ("status", "退款状态"),
    "reason": ("reason", "退款原因", "买家退款原因"),
    "description": ("desc", "退款说明", "买家退款说明"),
    "refund_fee": ("refund_fee", "退款金额", "买家退款金额", "买家申请退款金额"),
    "created_at": ("created", "申请时间", "退款申请时间", "买家申请退款时间"),
    "modified_at": ("modified", "修改时间", "更新时间", "退款完结时间"),
    "goods_status": ("good_status", "货物状态"),
    "goods_return": ("has_good_return", "是否需要退货", "是否退货"),
    "return_company": ("company_name", "退货物流公司", "物流公司"),
    "return_tracking": ("sid", "退货运单号", "退货物流单号", "运单号"),
    "buyer_handle": ("buyer_nick", "买家会员名", "买家昵称"),
    "title": ("title", "宝贝标题", "商品标题"),
}
#: A Taobao file needs these (any alias each).
TAOBAO_REQUIRED = ("refund_id", "order_no", "status")

#: Fields of the generic mapping and what they mean (shown on the mapping step).
GENERIC_FIELDS: dict[str, str] = {
    "refund_id": "Refund / after-sales number (required)",
    "order_no": "Order number (required)",
    "sub_order_no": "Sub-order / line id",
    "status": "Refund status (required)",
    "reason": "Reason given by the buyer",
    "description": "Buyer's description",
    "refund_fee": "Refund amount",
    "created_at": "Requested at",
    "modified_at": "Last changed at",
    "goods_status": "Goods status (received / not received / returned)",
    "goods_return": "Goods to be returned (yes/no)",
    "return_company": "Return carrier",
    "return_tracking": "Return tracking number",
    "title": "Product title",
}
GENERIC_REQUIRED = ("refund_id", "order_no", "status")

_SUGGEST: dict[str, tuple[str, ...]] = {
    "refund_id": (
        *TAOBAO_FIELDS["refund_id"],
        "服务单号",
        "售后单号",
        "售后编号",
        "售后单编号",
        "售后ID",
        "Refund ID",
        "Refund Number",
        "Return ID",
        "RMA",
    ),
    "order_no": (*TAOBAO_FIELDS["order_no"], "Order", "Order Number", "Order ID", "Order Name", "Name"),
    "sub_order_no": (*TAOBAO_FIELDS["sub_order_no"], "Line Item ID", "商品编号", "SKU编号"),
    "status": (
        *TAOBAO_FIELDS["status"],
        "服务单状态",
        "售后状态",
        "审核状态",
        "Refund Status",
        "Return Status",
        "Status",
    ),
    "reason": (*TAOBAO_FIELDS["reason"], "申请原因", "售后原因", "问题类型", "Reason", "Return Reason"),
    "description": (*TAOBAO_FIELDS["description"], "问题描述", "售后说明", "Note", "Description", "Comment"),
    "refund_fee": (*TAOBAO_FIELDS["refund_fee"], "申请退款金额", "实退金额", "Refund Amount", "Amount", "Refunded"),
    "created_at": (*TAOBAO_FIELDS["created_at"], "申请日期", "售后申请时间", "Created at", "Created", "Requested at"),
    "modified_at": (*TAOBAO_FIELDS["modified_at"], "处理时间", "完成时间", "Updated at", "Processed at"),
    "goods_status": (*TAOBAO_FIELDS["goods_status"], "商品状态"),
    "goods_return": (*TAOBAO_FIELDS["goods_return"], "是否寄回", "Restock", "Return Required"),
    "return_company": (*TAOBAO_FIELDS["return_company"], "寄回快递公司", "Return Carrier"),
    "return_tracking": (*TAOBAO_FIELDS["return_tracking"], "寄回快递单号", "Return Tracking Number", "Tracking Number"),
    "title": (*TAOBAO_FIELDS["title"], "商品名称", "Product", "Lineitem name", "Item"),
}


@dataclass(frozen=True, slots=True)
class RefundRow:
    """One platform refund as read from an export; times are timezone-aware."""

    row_no: int
    refund_id: str
    order_no: str
    sub_order_no: str
    #: the platform's status as one of `rules.PLATFORM_STATUSES` (WAIT_SELLER_AGREE …)
    platform_status: str
    reason: str
    description: str
    refund_fee: Decimal
    created_at: datetime | None
    modified_at: datetime | None
    goods_status: str
    goods_return: bool | None
    return_company: str
    return_tracking: str
    title: str = ""
    buyer_handle: str = ""


def is_taobao(headers: list[str]) -> bool:
    """Whether the header row carries the Taobao layout's required columns."""
    keys = {header_key(h) for h in headers if h}
    return all(any(header_key(a) in keys for a in TAOBAO_FIELDS[f]) for f in TAOBAO_REQUIRED)


def detect(headers: list[str]) -> str:
    """'taobao' when the file has that layout's columns, else ImportFileError naming what is missing."""
    if is_taobao(headers):
        return "taobao"
    keys = {header_key(h) for h in headers if h}
    missing = [TAOBAO_FIELDS[f][1] for f in TAOBAO_REQUIRED if not any(header_key(a) in keys for a in TAOBAO_FIELDS[f])]
    raise ImportFileError(
        f"unrecognised refund export: the Taobao layout also needs the column(s) {', '.join(missing)}; "
        "for JD, Pinduoduo, Shopify or any other table give a column mapping"
    )


def suggest_mapping(headers: list[str]) -> dict[str, str]:
    """{our field: their header} for the headers we recognise (first synonym present wins)."""
    by_key = {header_key(h): h for h in reversed(headers) if h}
    out: dict[str, str] = {}
    for field, aliases in _SUGGEST.items():
        for alias in aliases:
            header = by_key.get(header_key(alias))
            if header is not None and header not in out.values():
                out[field] = header
                break
    return out


def check_mapping(table: Table, mapping: dict[str, str]) -> dict[str, int]:
    """Column index per field of a generic mapping; ImportFileError for unknown fields, absent headers or
    missing required fields."""
    unknown = sorted(set(mapping) - set(GENERIC_FIELDS))
    if unknown:
        raise ImportFileError(f"mapping: unknown field(s) {', '.join(unknown)}")
    missing = [f for f in GENERIC_REQUIRED if not mapping.get(f)]
    if missing:
        raise ImportFileError(f"mapping: the field(s) {', '.join(missing)} need a column")
    cols: dict[str, int] = {}
    for field in (*GENERIC_FIELDS, "buyer_handle"):
        header = mapping.get(field, "")
        if not header:
            cols[field] = table.width
            continue
        if not table.has(header):
            raise ImportFileError(f"mapping: {field} names the column {header!r}, which this file does not have")
        cols[field] = table.index(header)
    return cols


def parse(table: Table, fmt: str, mapping: dict[str, str] | None, tz: tzinfo) -> Iterator[RefundRow | RowError]:
    """Stream the rows of an open table in layout `fmt` ('taobao' or 'generic' with `mapping`)."""
    if fmt == "taobao":
        detect(table.headers)
        cols = {field: table.index(*aliases) for field, aliases in TAOBAO_FIELDS.items()}
    elif fmt == "generic":
        cols = check_mapping(table, mapping or suggest_mapping(table.headers))
    else:
        raise ImportFileError(f"unknown layout {fmt!r}; expected auto, taobao or generic")
    return _rows(table, cols, tz)


def _rows(table: Table, c: dict[str, int], tz: tzinfo) -> Iterator[RefundRow | RowError]:
    seen: dict[str, int] = {}
    count = 0
    for row_no, row in table.rows:
        if not any(row):
            continue
        count += 1
        if count > MAX_ROWS:
            yield RowError(row_no, "", "", f"the file has more than {MAX_ROWS:,} rows; split it and import the rest")
            return
        if isinstance(row, BadRow):
            yield bad_row(table, row_no, row)
            continue
        try:
            yield _row(table, row_no, row, c, tz, seen)
        except _Bad as bad:
            yield bad.error


class _Bad(Exception):
    def __init__(self, error: RowError) -> None:
        self.error = error


def _id(table: Table, row_no: int, row: list[str], col: int, what: str) -> str:
    value = unwrap(row[col])
    if not value:
        raise _Bad(RowError(row_no, table.name(col), "", f"missing {what}"))
    try:
        return parse_id(value)
    except CellError as exc:
        raise _Bad(cell_error(table, row_no, row, col, exc)) from None


def _row(table: Table, row_no: int, row: list[str], c: dict[str, int], tz: tzinfo, seen: dict[str, int]) -> RefundRow:
    refund_id = _id(table, row_no, row, c["refund_id"], "refund number")
    if len(refund_id) > 64:
        raise _Bad(RowError(row_no, table.name(c["refund_id"]), refund_id[:80], "refund number longer than 64"))
    earlier = seen.setdefault(refund_id, row_no)
    if earlier != row_no:
        raise _Bad(
            RowError(row_no, table.name(c["refund_id"]), refund_id, f"refund number already used in row {earlier}")
        )
    order_no = _id(table, row_no, row, c["order_no"], "order number")
    sub = unwrap(row[c["sub_order_no"]])
    status_cell = row[c["status"]]
    status = rules.platform_status(status_cell)
    if status is None:
        raise _Bad(
            RowError(
                row_no,
                table.name(c["status"]),
                text(status_cell),
                "unknown refund status (expected e.g. WAIT_SELLER_AGREE, SUCCESS, CLOSED, 退款成功, 退款关闭)",
            )
        )
    try:
        fee = parse_amount(row[c["refund_fee"]])
    except CellError as exc:
        raise _Bad(cell_error(table, row_no, row, c["refund_fee"], exc)) from None
    times: list[datetime | None] = []
    for field in ("created_at", "modified_at"):
        try:
            times.append(parse_datetime(row[c[field]], tz))
        except CellError as exc:
            raise _Bad(cell_error(table, row_no, row, c[field], exc)) from None
    goods_cell = row[c["goods_status"]]
    goods = rules.goods_status(goods_cell)
    if goods is None:
        raise _Bad(
            RowError(
                row_no,
                table.name(c["goods_status"]),
                text(goods_cell),
                "unknown goods status (expected BUYER_NOT_RECEIVED, BUYER_RECEIVED, BUYER_RETURNED_GOODS or "
                "买家未收到货, 买家已收到货, 买家已退货)",
            )
        )
    try:
        goods_return = parse_bool(row[c["goods_return"]])
    except CellError as exc:
        raise _Bad(cell_error(table, row_no, row, c["goods_return"], exc)) from None
    return RefundRow(
        row_no=row_no,
        refund_id=refund_id,
        order_no=order_no,
        sub_order_no=sub if sub != order_no else "",
        platform_status=status,
        reason=text(row[c["reason"]])[:200],
        description=text(row[c["description"]])[:20_000],
        refund_fee=fee,
        created_at=times[0],
        modified_at=times[1],
        goods_status=goods,
        goods_return=goods_return,
        return_company=text(row[c["return_company"]])[:64],
        return_tracking=unwrap(row[c["return_tracking"]])[:64],
        title=text(row[c["title"]])[:255],
        buyer_handle=text(row[c["buyer_handle"]])[:64],
    )
