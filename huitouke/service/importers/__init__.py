"""Platform after-sales (refund) export parsers: file → `RefundRow` / `RowError` stream. Pure: no ORM.

`parse_refunds` opens the file with the order importers' table reader and returns the layout, the header each
field was read from (for error reports), and the lazy row stream; the service
(`service.services.aftersales_import`) writes the tickets.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from huitouke.orders.importers.cells import zone
from huitouke.orders.importers.rows import ImportFileError, RowError
from huitouke.orders.importers.table import Table, open_table, read_headers
from huitouke.service.importers import refunds
from huitouke.service.importers.refunds import GENERIC_FIELDS, RefundRow, suggest_mapping

LAYOUTS = ("taobao", "generic")

__all__ = [
    "GENERIC_FIELDS",
    "LAYOUTS",
    "ImportFileError",
    "RefundRow",
    "RefundStream",
    "RowError",
    "parse_refunds",
    "read_headers",
    "suggest_mapping",
]


@dataclass
class RefundStream:
    layout: str
    #: our field → the file's header it is read from ("" when the file has no such column)
    columns: dict[str, str]
    rows: Iterator[RefundRow | RowError]


def parse_refunds(
    path: Path, *, layout: str = "auto", mapping: dict[str, str] | None = None, tz: str = "Asia/Shanghai"
) -> RefundStream:
    """Open a refund export. `layout` 'auto' picks taobao when its columns are there, generic with a given
    mapping, else raises ImportFileError naming the missing columns. Raises ImportFileError before any row
    when the file cannot be read at all."""
    tzinfo = zone(tz)
    table = open_table(Path(path))
    try:
        if layout == "auto":
            layout = "generic" if mapping else refunds.detect(table.headers)
        if layout not in LAYOUTS:
            raise ImportFileError(f"unknown layout {layout!r}; expected auto, taobao or generic")
        stream = refunds.parse(table, layout, mapping, tzinfo)
        if layout == "taobao":
            columns = {f: table.name(table.index(*a)) for f, a in refunds.TAOBAO_FIELDS.items()}
        else:
            used = mapping or suggest_mapping(table.headers)
            columns = {f: used.get(f, "") for f in (*refunds.GENERIC_FIELDS, "buyer_handle")}
    except BaseException:
        table.close()
        raise
    return RefundStream(layout, columns, _closing(stream, table))


def _closing(stream: Iterator[RefundRow | RowError], table: Table) -> Iterator[RefundRow | RowError]:
    try:
        yield from stream
    finally:
        table.close()
