"""Helpers the format modules share: column resolution, required-column checks, grouping rows into orders."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal

from huitouke.orders.importers.cells import CellError, parse_id, unwrap
from huitouke.orders.importers.rows import ImportFileError, RowError
from huitouke.orders.importers.table import BadRow, Table, shown

Row = list[str]
Fields = dict[str, tuple[str, ...]]
#: A required column: any one of the alternative header names.
Required = Sequence[tuple[str, ...]]

#: The optional member-level column a seller's previous tool (or the platform's CRM export) may add to any format.
MEMBER_LEVEL = ("会员级别", "会员等级", "客户等级", "Member level", "Membership level", "Customer tier")


def resolve(table: Table, fields: Fields) -> dict[str, int]:
    """Column index per field (the first alias present; `table.width`, an always-empty cell, when absent)."""
    return {field: table.index(*aliases) for field, aliases in fields.items()}


def missing_columns(headers_present: set[str], required: Required) -> list[str]:
    """The required columns (first alias of each) with no alias among `headers_present` (header_key form)."""
    from huitouke.orders.importers.table import header_key

    return [alts[0] for alts in required if not any(header_key(a) in headers_present for a in alts)]


def require(table: Table, required: Required, label: str) -> None:
    """Raise ImportFileError naming the required columns this file lacks."""
    missing = missing_columns(set(table.keys), required)
    if missing:
        raise ImportFileError(f"not a {label}: missing required column(s) {', '.join(missing)}")


def bad_row(table: Table, row_no: int, row: BadRow) -> RowError:
    """The error of a row the table could not read (undecodable bytes, an oversized cell, a broken record)."""
    if row.column < 0:
        return RowError(row_no, "", "", row.reason)
    return RowError(row_no, table.name(row.column), shown(row[row.column]), row.reason)


def cell_error(table: Table, row_no: int, row: Row, col: int, exc: CellError) -> RowError:
    return RowError(row_no, table.name(col), shown(row[col]), exc.reason)


class Seen:
    """Remembers where each order number first appeared, to reject repeats that would overwrite an order."""

    __slots__ = ("first",)

    def __init__(self) -> None:
        self.first: dict[str, int] = {}

    def repeat(self, order_no: str, row_no: int) -> RowError | None:
        earlier = self.first.setdefault(order_no, row_no)
        if earlier == row_no:
            return None
        return RowError(row_no, "", order_no, f"order number already used by the order in row {earlier}")


def grouped(table: Table, key_col: int) -> Iterator[tuple[str, list[tuple[int, Row]]]]:
    """Consecutive rows sharing the same order number, as (order_no, [(row_no, row), …])."""
    current: str | None = None
    group: list[tuple[int, Row]] = []
    for row_no, row in table.rows:
        key = unwrap(row[key_col])
        if key != current or not key:
            if group:
                yield current or "", group
            current, group = key, []
        group.append((row_no, row))
    if group:
        yield current or "", group


def order_key(table: Table, group: list[tuple[int, Row]], key_col: int, seen: Seen) -> tuple[str, RowError | None]:
    """Validate a group's order number and uniqueness; returns (order_no, the error rejecting the group or None)."""
    row_no, row = group[0]
    for r_no, r in group:
        if isinstance(r, BadRow):
            return "", bad_row(table, r_no, r)
    try:
        order_no = parse_id(row[key_col])
    except CellError as exc:
        return "", cell_error(table, row_no, row, key_col, exc)
    return order_no, seen.repeat(order_no, row_no)


def join(*parts: str, sep: str = " ") -> str:
    return sep.join(p for p in parts if p)


def nonneg(a: Decimal) -> Decimal:
    return a if a > 0 else Decimal(0)
