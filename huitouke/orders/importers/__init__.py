"""Order-file parsers: platform exports (and any CSV/XLSX with a column mapping) → typed, validated rows.

Pure: no ORM, no Django settings. `parse_orders` returns the detected format and a lazy stream of `OrderRow`
(an order with all its lines) or `RowError` (row, column as in the file, value, reason); the DB writer upserts
the orders and reports the errors. An order and its lines come out together or not at all.

Design notes (throughput and memory; a million-line export pair must stream in well under a minute):
- The orders file is never read whole: `table.open_table` sniffs the encoding from the first 64 KB and feeds the
  decoded stream straight into `csv.reader`; XLSX goes through openpyxl's read-only, values-only iterator.
- Headers are mapped to column indexes once (`Table.index`, tolerant of spaces, BOM, full-width parentheses,
  case and underscores); a missing optional column resolves to an always-empty trailing cell, so the per-row
  code is plain list indexing with no branches or dicts per row.
- Cell parsers take the exact fast form first (`Decimal(s)` after one anchored match; fixed-position slicing
  for `YYYY-MM-DD HH:MM:SS`) and only clean/regex when that fails.
- Only the columns a format uses are parsed; rows are `slots` frozen dataclasses.
- The Taobao item report is the only thing held in memory: order number → list of raw-cell tuples, repeated
  strings (titles, prices, SKUs, statuses) shared through a pool; lines are parsed when their order streams
  past and popped from the dict. Orders without item rows fall back to one line from the order report.
- Grouped formats (JD, Shopify, WooCommerce, generic) group consecutive rows by order number; a number seen
  again later is reported instead of silently overwriting the first order (one dict of numbers → first row).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from huitouke.orders.importers import generic, jd, pdd, shopify, taobao, woocommerce
from huitouke.orders.importers.cells import MAX_AMOUNT, TOO_LARGE, set_clock, zone
from huitouke.orders.importers.detect import detect_format
from huitouke.orders.importers.generic import GENERIC_FIELDS, suggest_mapping
from huitouke.orders.importers.rows import ImportFileError, LineRow, OrderRow, RowError
from huitouke.orders.importers.table import Table, open_table, read_headers

FORMATS = ("taobao", "jd", "pdd", "shopify", "woocommerce", "generic")

__all__ = [
    "FORMATS",
    "GENERIC_FIELDS",
    "ImportFileError",
    "LineRow",
    "OrderRow",
    "RowError",
    "detect_format",
    "parse_orders",
    "read_headers",
    "suggest_mapping",
]


def parse_orders(
    path: Path,
    *,
    items_path: Path | None = None,
    fmt: str = "auto",
    mapping: dict[str, str] | None = None,
    tz: str = "Asia/Shanghai",
) -> tuple[str, Iterator[OrderRow | RowError]]:
    """Open an order export and return (format, lazy stream of OrderRow | RowError).

    `fmt` "auto" detects the platform from the headers (a given `mapping` means generic); "generic" without a
    mapping uses `suggest_mapping`. `items_path` is the Taobao item report (宝贝报表). Naive times are read in
    `tz`. Raises ImportFileError before anything is yielded when the file (or the items file) cannot be read at
    all: empty, binary, undecodable, unknown format (naming the missing columns), bad mapping, mismatched items.
    """
    tzinfo = zone(tz)
    set_clock()
    table = open_table(Path(path))
    items: Table | None = None
    try:
        if fmt == "auto":
            fmt = "generic" if mapping else detect_format(table.headers)
        if fmt not in FORMATS:
            raise ImportFileError(f"unknown format {fmt!r}; expected auto or one of {', '.join(FORMATS)}")
        if items_path is not None and fmt != "taobao":
            raise ImportFileError("an items file is only used with the Taobao/Tmall order report (订单报表)")
        if items_path is not None:
            items = open_table(Path(items_path))
        stream: Iterator[OrderRow | RowError]
        if fmt == "taobao":
            stream = taobao.parse(table, items, tzinfo)
        elif fmt == "jd":
            stream = jd.parse(table, tzinfo)
        elif fmt == "pdd":
            stream = pdd.parse(table, tzinfo)
        elif fmt == "shopify":
            stream = shopify.parse(table, tzinfo)
        elif fmt == "woocommerce":
            stream = woocommerce.parse(table, tzinfo)
        else:
            stream = generic.parse(table, mapping or suggest_mapping(table.headers), tzinfo)
    except BaseException:
        table.close()
        if items is not None:
            items.close()
        raise
    return fmt, _closing(stream, table, items)


def _closing(stream: Iterator[OrderRow | RowError], *tables: Table | None) -> Iterator[OrderRow | RowError]:
    """The stream with every order's computed amounts checked (`_too_large`), closing the files at the end."""
    top = MAX_AMOUNT
    try:
        for item in stream:
            if type(item) is OrderRow:
                # a comparison per amount: the cells were checked as read, these may be computed from them
                if (
                    item.goods_amount > top
                    or item.total_amount > top
                    or item.paid_amount > top
                    or item.shipping_fee > top
                    or item.refund_amount > top
                ):
                    yield _too_large(item)
                    continue
                for line in item.lines:
                    if line.amount > top:
                        yield _too_large(item)
                        break
                else:
                    yield item
            else:
                yield item
    finally:
        for t in tables:
            if t is not None:
                t.close()


_ORDER_AMOUNTS = (
    ("goods_amount", "goods amount"),
    ("shipping_fee", "shipping fee"),
    ("total_amount", "total amount"),
    ("paid_amount", "paid amount"),
    ("refund_amount", "refund amount"),
)


def _too_large(row: OrderRow) -> RowError:
    """The error for an order one of whose amounts, as computed from its cells (price × quantity, a sum of
    lines), is beyond what the archive holds (`cells.MAX_AMOUNT`); each cell was checked as it was read."""
    top = MAX_AMOUNT
    for attr, label in _ORDER_AMOUNTS:
        value = getattr(row, attr)
        if value > top:
            return RowError(row.row_no, "", str(value), f"{label}: {TOO_LARGE}")
    line = next(ln for ln in row.lines if ln.amount > top)
    return RowError(row.row_no, "", str(line.amount), f"line {line.line_no} amount: {TOO_LARGE}")
