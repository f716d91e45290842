"""Review files → typed rows. Pure: no ORM, no settings.

Two layouts: `traderate`, named after the Taobao open platform's TradeRate fields (tid, oid, role, nick, result,
created, item_title, num_iid, content, reply, anony) with the Chinese headers of the seller centre's export as
synonyms, and `generic`, any CSV/XLSX read through a mapping {our field: their header}. The file is opened with
the order importers' reader (encoding sniffing, XLSX streaming, undecodable rows flagged) and its cells are parsed
with their cell parsers, so an id written `="123"` or a date resaved by Excel reads the same as in an order file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

from huitouke.orders.importers.cells import CellError, parse_bool, parse_datetime, parse_id, text, unwrap, zone
from huitouke.orders.importers.common import bad_row
from huitouke.orders.importers.rows import ImportFileError, RowError
from huitouke.orders.importers.table import BadRow, Table, header_key, open_table, shown

#: rows one file may hold; the rest of the file is refused with one error
MAX_ROWS = 1_000_000
#: longest review, follow-up or explanation text kept
MAX_TEXT = 2_000

#: field → header synonyms (the TradeRate name first)
FIELDS: dict[str, tuple[str, ...]] = {
    "tid": ("tid", "订单编号", "订单号", "主订单编号", "Order number", "order_no"),
    "oid": ("oid", "子订单编号", "子订单号", "Sub-order number"),
    "role": ("role", "评价角色", "评价方", "Role"),
    "nick": ("nick", "买家昵称", "买家会员名", "评价人", "Buyer nick"),
    "result": ("result", "评价结果", "评价", "Rating"),
    "created": ("created", "评价时间", "Rated at", "created_at"),
    "item_title": ("item_title", "宝贝标题", "商品标题", "Item title"),
    "num_iid": ("num_iid", "宝贝ID", "商品ID", "宝贝id", "Item id"),
    "content": ("content", "评价内容", "Review text"),
    "reply": ("reply", "解释", "回复", "解释内容", "商家回复", "Reply"),
    "reply_time": ("reply_time", "解释时间", "回复时间", "Reply time"),
    "anony": ("anony", "是否匿名", "匿名", "Anonymous"),
    "follow_up": ("append_content", "追评", "追加评论", "追评内容", "Follow-up"),
    "follow_up_time": ("append_time", "追评时间", "Follow-up time"),
    "pictures": ("pictures", "图片数", "晒图数", "Pictures"),
    "is_default": ("is_default", "系统默认好评", "默认好评", "Default rating"),
    "dsr_description": ("dsr_description", "描述相符", "As described"),
    "dsr_service": ("dsr_service", "服务态度", "Service"),
    "dsr_logistics": ("dsr_logistics", "物流服务", "Delivery"),
}
REQUIRED = ("tid", "result", "created")
FIELD_NAMES = tuple(FIELDS)

_RESULTS = {
    "good": "good",
    "好评": "good",
    "好": "good",
    "neutral": "neutral",
    "中评": "neutral",
    "中": "neutral",
    "bad": "bad",
    "差评": "bad",
    "差": "bad",
}
_ROLES = {
    "buyer": "buyer",
    "买家": "buyer",
    "买家评价": "buyer",
    "seller": "seller",
    "卖家": "seller",
    "卖家评价": "seller",
}


@dataclass(frozen=True, slots=True)
class ReviewRow:
    """One review as read from a file; datetimes are timezone-aware."""

    row_no: int
    tid: str
    oid: str
    role: str
    result: str
    created_at: datetime
    nick: str = ""
    item_title: str = ""
    num_iid: str = ""
    content: str = ""
    reply: str = ""
    reply_at: datetime | None = None
    anonymous: bool = False
    follow_up: str = ""
    follow_up_at: datetime | None = None
    pictures: int = 0
    is_default: bool = False
    dsr_description: int | None = None
    dsr_service: int | None = None
    dsr_logistics: int | None = None


def detect(headers: list[str]) -> str:
    """`traderate` when every required field has a column, else raise naming what is missing."""
    keys = {header_key(h) for h in headers}
    missing = [f for f in REQUIRED if not any(header_key(a) in keys for a in FIELDS[f])]
    if missing:
        names = ", ".join(f"{f} ({FIELDS[f][1]})" for f in missing)
        raise ImportFileError(f"not a review file: missing column(s) {names}; upload it with a column mapping")
    return "traderate"


#: file field → the Review column it fills
COLUMN_OF = {
    "result": "result",
    "created": "created_at",
    "content": "content",
    "pictures": "pictures",
    "anony": "anonymous",
    "is_default": "is_default",
    "follow_up": "follow_up",
    "follow_up_time": "follow_up_at",
    "reply": "reply",
    "reply_time": "reply_at",
    "dsr_description": "dsr_description",
    "dsr_service": "dsr_service",
    "dsr_logistics": "dsr_logistics",
    "num_iid": "num_iid",
    "item_title": "item_title",
    "nick": "nick",
}


@dataclass(frozen=True)
class ReviewFile:
    """An opened review file: its layout, the Review columns it has (a later export that lacks a column leaves
    that column of stored reviews alone) and the lazy stream of rows."""

    layout: str
    columns: frozenset[str]
    rows: Iterator[ReviewRow | RowError]
    #: the header of the order-number column as written in the file (errors found when storing name it)
    tid_header: str = "tid"


def parse_reviews(path: Path, *, mapping: dict[str, str] | None = None, tz: str = "Asia/Shanghai") -> ReviewFile:
    """Open a review file; its rows stream as ReviewRow | RowError. Raises ImportFileError when the file cannot
    be read at all or lacks a required column (naming it)."""
    tzinfo = zone(tz)
    table = open_table(Path(path))
    try:
        if mapping:
            cols = _mapped(table, mapping)
            layout = "generic"
        else:
            layout = detect(table.headers)
            cols = {f: table.index(*aliases) for f, aliases in FIELDS.items()}
    except BaseException:
        table.close()
        raise
    columns = frozenset(col for f, col in COLUMN_OF.items() if cols[f] < table.width)
    return ReviewFile(
        layout=layout, columns=columns, rows=_rows(table, cols, tzinfo), tid_header=table.name(cols["tid"])
    )


def _mapped(table: Table, mapping: dict[str, str]) -> dict[str, int]:
    unknown = sorted(set(mapping) - set(FIELDS))
    if unknown:
        raise ImportFileError(f"mapping: unknown field(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}")
    cols: dict[str, int] = {}
    for f in FIELDS:
        header = mapping.get(f, "")
        if header and not table.has(header):
            raise ImportFileError(f"mapping: {f} → column {header!r} is not in the file")
        cols[f] = table.index(header) if header else table.width
    missing = [f for f in REQUIRED if cols[f] == table.width]
    if missing:
        raise ImportFileError(f"mapping: the required field(s) {', '.join(missing)} have no column")
    return cols


def _rows(table: Table, cols: dict[str, int], tz: tzinfo) -> Iterator[ReviewRow | RowError]:
    seen: dict[tuple[str, str, str], int] = {}
    try:
        for n, (row_no, row) in enumerate(table.rows):
            if n >= MAX_ROWS:
                yield RowError(row_no, "", "", f"the file has more than {MAX_ROWS:,} rows; split it")
                return
            if isinstance(row, BadRow):
                yield bad_row(table, row_no, row)
                continue
            try:
                parsed = _row(row_no, row, cols, tz)
            except _Bad as bad:
                yield RowError(row_no, table.name(cols[bad.field]), shown(row[cols[bad.field]]), bad.reason)
                continue
            key = (parsed.tid, parsed.oid, parsed.role)
            first = seen.setdefault(key, row_no)
            if first != row_no:
                yield RowError(row_no, table.name(cols["tid"]), parsed.tid, f"the same review is in row {first}")
                continue
            yield parsed
    finally:
        table.close()


class _Bad(Exception):
    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason


def _cell(row: list[str], cols: dict[str, int], field: str) -> str:
    return row[cols[field]]


def _text(row: list[str], cols: dict[str, int], field: str, limit: int = MAX_TEXT) -> str:
    value = text(_cell(row, cols, field))
    if len(value) > limit:
        raise _Bad(field, f"longer than {limit} characters")
    return value


def _time(row: list[str], cols: dict[str, int], field: str, tz: tzinfo) -> datetime | None:
    try:
        return parse_datetime(_cell(row, cols, field), tz)
    except CellError as exc:
        raise _Bad(field, exc.reason) from None


def _small(row: list[str], cols: dict[str, int], field: str, low: int, high: int) -> int | None:
    raw = text(_cell(row, cols, field))
    if not raw:
        return None
    try:
        value = int(float(raw)) if raw.replace(".", "", 1).isdigit() else int(raw)
    except ValueError:
        raise _Bad(field, f"expected a whole number from {low} to {high}") from None
    if not low <= value <= high:
        raise _Bad(field, f"expected a whole number from {low} to {high}")
    return value


def _flag(row: list[str], cols: dict[str, int], field: str) -> bool:
    try:
        return bool(parse_bool(_cell(row, cols, field)))
    except CellError as exc:
        raise _Bad(field, exc.reason) from None


def _row(row_no: int, row: list[str], cols: dict[str, int], tz: tzinfo) -> ReviewRow:
    try:
        tid = parse_id(_cell(row, cols, "tid"))
    except CellError as exc:
        raise _Bad("tid", exc.reason) from None
    oid = unwrap(text(_cell(row, cols, "oid")))
    if len(tid) > 64 or len(oid) > 64:
        raise _Bad("tid" if len(tid) > 64 else "oid", "longer than 64 characters")
    result_raw = text(_cell(row, cols, "result")).lower()
    result = _RESULTS.get(result_raw)
    if result is None:
        raise _Bad("result", "expected good, neutral or bad (好评, 中评, 差评)")
    role_raw = text(_cell(row, cols, "role")).lower()
    role = _ROLES.get(role_raw, "buyer" if not role_raw else "")
    if not role:
        raise _Bad("role", "expected buyer or seller (买家, 卖家)")
    created = _time(row, cols, "created", tz)
    if created is None:
        raise _Bad("created", "missing rating time")
    return ReviewRow(
        row_no=row_no,
        tid=tid,
        oid=oid,
        role=role,
        result=result,
        created_at=created,
        nick=_text(row, cols, "nick", 128),
        item_title=_text(row, cols, "item_title", 255),
        num_iid=unwrap(_text(row, cols, "num_iid", 64)),
        content=_text(row, cols, "content"),
        reply=_text(row, cols, "reply"),
        reply_at=_time(row, cols, "reply_time", tz),
        anonymous=_flag(row, cols, "anony"),
        follow_up=_text(row, cols, "follow_up"),
        follow_up_at=_time(row, cols, "follow_up_time", tz),
        pictures=_small(row, cols, "pictures", 0, 100) or 0,
        is_default=_flag(row, cols, "is_default"),
        dsr_description=_small(row, cols, "dsr_description", 1, 5),
        dsr_service=_small(row, cols, "dsr_service", 1, 5),
        dsr_logistics=_small(row, cols, "dsr_logistics", 1, 5),
    )
