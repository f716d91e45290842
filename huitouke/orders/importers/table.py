"""Read a CSV or XLSX file as a header row plus a lazy stream of (row_no, cells).

CSV encoding is sniffed from the first 64 KB: strict UTF-8 (BOM optional), else GB18030 (a superset of GBK, what
Taobao/JD/PDD write), else the file is refused. The rest is decoded as it streams; bytes that still do not decode
are replaced, and the record they fall in is flagged (`BadRow`) so it becomes a RowError instead of wrong text.
Rows are plain lists padded to the header width plus one always-empty cell: the format modules look cells up by
column index, resolved once from the header names (`Table.index`), never by position in a layout; a column the
file lacks resolves to that trailing empty cell, so lookups need no branch.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from huitouke.orders.importers.rows import ImportFileError

_SAMPLE = 64 * 1024
_HEADER_DROP = str.maketrans(
    {" ": None, "\u3000": None, "\xa0": None, "\ufeff": None, "\t": None, "_": None, "（": "(", "）": ")"}
)
_MAX_EXACT_FLOAT = 2**53


def header_key(header: str) -> str:
    """The matching form of a header: no spaces (incl. full-width, BOM) or underscores, ASCII parentheses, lower."""
    return header.translate(_HEADER_DROP).lower()


class BadRow(list[str]):
    """A row in which some bytes could not be decoded (the replacement character marks them)."""


class Table:
    """An open table file: `headers` as written (trimmed), `keys` for matching, `rows` streamed once."""

    def __init__(self, path: Path, headers: list[str], rows: Iterator[tuple[int, list[str]]], closer: Any) -> None:
        self.path = path
        self.headers = headers
        self.keys = [header_key(h) for h in headers]
        self.rows = rows
        self._closer = closer
        self.width = len(headers)
        self._names = [*headers, ""]
        self._index: dict[str, int] = {}
        for i, key in enumerate(self.keys):
            self._index.setdefault(key, i)

    def index(self, *aliases: str) -> int:
        """Column index of the first alias present (matched in `header_key` form); `width` (an empty cell) if none."""
        for alias in aliases:
            i = self._index.get(header_key(alias), -1)
            if i >= 0:
                return i
        return self.width

    def has(self, *aliases: str) -> bool:
        """Whether any of the aliases is a column of this file."""
        return self.index(*aliases) < self.width

    def name(self, i: int) -> str:
        """The header of column `i` as written in the file ("" for a missing column)."""
        return self._names[i]

    def close(self) -> None:
        if self._closer is not None:
            self._closer.close()
            self._closer = None

    def __enter__(self) -> Table:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def read_headers(path: Path) -> list[str]:
    """The header row of a CSV/XLSX file, trimmed (for the column-mapping step)."""
    with open_table(path) as table:
        return list(table.headers)


def open_table(path: Path) -> Table:
    """Open `path` as a table; raises ImportFileError when it is empty, binary, undecodable or not a table."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(_SAMPLE)
    except OSError as exc:
        raise ImportFileError(f"cannot open the file: {exc.strerror or exc}") from None
    if not head.strip(b" \t\r\n\xef\xbb\xbf"):
        raise ImportFileError("the file is empty")
    if head.startswith(b"PK\x03\x04"):
        return _open_xlsx(path)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError("this is an old Excel .xls workbook; save it as .xlsx or CSV and upload that")
    encoding = _sniff_encoding(head)
    return _open_csv(path, encoding)


def _sniff_encoding(head: bytes) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif b"\x00" in head:
        raise ImportFileError("the file is binary, not a CSV or XLSX table")
    else:
        encoding = ""
        for candidate in ("utf-8-sig", "gb18030"):
            try:
                codecs.getincrementaldecoder(candidate)("strict").decode(head, final=len(head) < _SAMPLE)
            except UnicodeDecodeError:
                continue
            encoding = candidate
            break
        if not encoding:
            raise ImportFileError("the file's text encoding is neither UTF-8 nor GBK/GB18030; save it as UTF-8 CSV")
    sample = head.decode(encoding, errors="replace")
    controls = sum(1 for ch in sample if ch < " " and ch not in "\t\r\n")
    if controls > max(8, len(sample) // 100):
        raise ImportFileError("the file is binary, not a CSV or XLSX table")
    return encoding


def _open_csv(path: Path, encoding: str) -> Table:
    fh: IO[str] = path.open(encoding=encoding, errors="replace", newline="")
    try:
        first = fh.readline()
        delimiter = max((",", "\t", ";"), key=first.count)
        fh.seek(0)
        feed = _LineFeed(fh)
        reader = csv.reader(feed, delimiter=delimiter)
        headers = [h.strip(" \u3000\xa0\ufeff\t\r\n") for h in next(reader, [])]
        feed.bad = False
    except csv.Error as exc:
        fh.close()
        raise ImportFileError(f"the file is not a readable CSV table: {exc}") from None
    if not any(headers):
        fh.close()
        raise ImportFileError("the first row is empty; it must hold the column headers")
    return Table(path, headers, _csv_rows(reader, feed, len(headers)), fh)


class _LineFeed:
    """Feeds lines to csv.reader, dropping NULs and noting whether the record being read had undecodable bytes."""

    def __init__(self, fh: IO[str]) -> None:
        self.fh = fh
        self.bad = False

    def __iter__(self) -> Iterator[str]:
        for line in self.fh:
            if "\x00" in line:
                line = line.replace("\x00", "")
            if "\ufffd" in line:
                self.bad = True
            yield line


def _csv_rows(reader: Any, feed: _LineFeed, width: int) -> Iterator[tuple[int, list[str]]]:
    row_no = 1
    try:
        for row in reader:
            row_no += 1
            if feed.bad:
                feed.bad = False
                row = BadRow(row)
            if not any(row):
                continue
            if len(row) != width:
                row = _fit(row, width)
            row.append("")
            yield row_no, row
    except csv.Error as exc:
        yield row_no + 1, BadRow([f"unreadable CSV: {exc}", *([""] * width)])


def _open_xlsx(path: Path) -> Table:
    import zipfile

    from openpyxl import load_workbook

    fh = path.open("rb")  # a file object: openpyxl refuses paths without an .xlsx suffix (uploads have none)
    try:
        wb = load_workbook(fh, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        fh.close()
        raise ImportFileError(f"the file is not a readable XLSX workbook ({exc.__class__.__name__})") from None
    ws = wb.active if wb.active is not None else wb.worksheets[0]
    values = ws.iter_rows(values_only=True)
    row_no = 0
    headers: list[str] = []
    for raw in values:
        row_no += 1
        cells = [_xlsx_cell(v) for v in raw]
        if any(cells):
            headers = [h.strip(" \u3000\xa0\ufeff\t\r\n") for h in cells]
            break
    while headers and not headers[-1]:
        headers.pop()
    if not headers:
        wb.close()
        fh.close()
        raise ImportFileError("the workbook's first sheet is empty")
    return Table(path, headers, _xlsx_rows(values, row_no, len(headers)), _Closer(wb, fh))


class _Closer:
    def __init__(self, *things: Any) -> None:
        self.things = things

    def close(self) -> None:
        for thing in self.things:
            thing.close()


def _xlsx_rows(values: Iterator[tuple[Any, ...]], row_no: int, width: int) -> Iterator[tuple[int, list[str]]]:
    for raw in values:
        row_no += 1
        row = [_xlsx_cell(v) for v in raw]
        if not any(row):
            continue
        if len(row) != width:
            row = _fit(row, width)
        row.append("")
        yield row_no, row


def _fit(row: list[str], width: int) -> list[str]:
    """Pad a short row; drop cells past the last header (they have no name to be looked up by)."""
    if len(row) < width:
        row.extend([""] * (width - len(row)))
        return row
    fitted = row[:width]
    return BadRow(fitted) if isinstance(row, BadRow) else fitted


def _xlsx_cell(v: object) -> str:
    """A workbook value as the text a CSV export would hold (dates ISO, whole floats without `.0`)."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v.is_integer() and abs(v) < _MAX_EXACT_FLOAT:
            return str(int(v))
        return repr(v)
    if isinstance(v, datetime):
        return v.replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")
    if isinstance(v, date | time):
        return v.isoformat()
    return str(v)
