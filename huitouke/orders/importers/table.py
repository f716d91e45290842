"""Read a CSV or XLSX file as a header row plus a lazy stream of (row_no, cells).

CSV encoding is sniffed from the first 64 KB: strict UTF-8 (BOM optional), else GB18030 (a superset of GBK, what
Taobao/JD/PDD write), else the file is refused; a character cut off by the end of the sample (or of the file) does
not count against an encoding. The rest is decoded as it streams; bytes that still do not decode are replaced,
and the record they fall in is flagged (`BadRow`, naming the column) so it becomes a RowError instead of wrong
text; a file that ends in the middle of a character is reported as cut off at its last row.

The work a file can cause is bounded (`MAX_ROWS`, `MAX_COLUMNS`, `MAX_CELL`): a cell longer than Excel's own
limit is a row error naming its column (the rows after it are still read); a CSV record the csv module cannot
read is a row error and reading goes on with the next record. An XLSX is checked before openpyxl reads it (the
size of its XML and its longest text run, streamed: a 200 MB cell is refused without being held), and its rows
are read by the cells that exist, never by the dimension the sheet declares.
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

from huitouke.core.text import CONTROLS, strip_controls
from huitouke.orders.importers.rows import ImportFileError

_SAMPLE = 64 * 1024
#: the most characters a cell may hold (Excel's own limit)
MAX_CELL = 32_767
#: the most data rows a file may have (5 million: far above any export, a bound on the work)
MAX_ROWS = 5_000_000
#: the most columns a header may have
MAX_COLUMNS = 1_000
#: XLSX: the most uncompressed XML a workbook may hold, and the longest run of text between two tags (a cell of
#: MAX_CELL characters in UTF-8 takes at most 4 bytes each)
MAX_XLSX_XML = 2 * 1024**3
_MAX_XML_RUN = 4 * MAX_CELL
#: the csv module's limit on one field: far above MAX_CELL so that an oversized cell is named by its column (the
#: limit is the module's, process-wide; beyond it the record is still reported, without the column)
_CSV_FIELD_LIMIT = 16 * 1024 * 1024
csv.field_size_limit(max(csv.field_size_limit(), _CSV_FIELD_LIMIT))
#: shown value of a rejected cell at most this long (a 10 MB cell is not copied into the error report)
_SHOWN = 60

BAD_BYTES = "the row contains bytes that are not valid text in the file's encoding"
TRUNCATED = "the file ends in the middle of a character: it was cut off here (upload the complete file)"
CELL_TOO_LONG = f"the cell is longer than {MAX_CELL:,} characters"
_HEADER_DROP = str.maketrans(
    {" ": None, "\u3000": None, "\xa0": None, "\ufeff": None, "\t": None, "_": None, "（": "(", "）": ")"}
)
_MAX_EXACT_FLOAT = 2**53


def header_key(header: str) -> str:
    """The matching form of a header: no spaces (incl. full-width, BOM) or underscores, ASCII parentheses, lower."""
    return header.translate(_HEADER_DROP).lower()


class BadRow(list[str]):
    """A row that cannot be read as it stands: undecodable bytes (the replacement character marks them), a cell
    over MAX_CELL, a record the csv module rejected. `column` is the index of the cell at fault (-1: unknown),
    `reason` what is wrong; the format modules turn it into a RowError (`common.bad_row`)."""

    column = -1
    reason = BAD_BYTES


def bad_row(row: list[str], reason: str, column: int = -1) -> BadRow:
    bad = row if isinstance(row, BadRow) else BadRow(row)
    bad.reason = reason
    bad.column = column
    return bad


def shown(value: str) -> str:
    """A cell's value as an error report shows it: at most _SHOWN characters."""
    return value if len(value) <= _SHOWN else value[:_SHOWN] + f"… ({len(value):,} characters)"


def _check_cells(row: list[str], width: int) -> BadRow | None:
    """The row as a BadRow when a cell (within the header's width) is over MAX_CELL; None when all fit."""
    for i, cell in enumerate(row[:width]):
        if len(cell) > MAX_CELL:
            return bad_row(row, CELL_TOO_LONG, i)
    return None


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
                # not final: a character cut off at the end (of the sample, or of a truncated file) is no verdict
                # on the encoding; the streaming decode reports a truncated file at its last row
                codecs.getincrementaldecoder(candidate)("strict").decode(head, final=False)
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
        feed = _LineFeed(fh, scrub=encoding == "utf-16" or _has_control_bytes(path))
        reader = csv.reader(feed, delimiter=delimiter)
        headers = [h.strip(" \u3000\xa0\ufeff\t\r\n") for h in next(reader, [])]
        feed.bad = feed.long = False
    except csv.Error as exc:
        fh.close()
        raise ImportFileError(f"the file is not a readable CSV table: {exc}") from None
    if not any(headers):
        fh.close()
        raise ImportFileError("the first row is empty; it must hold the column headers")
    if len(headers) > MAX_COLUMNS or max(map(len, headers)) > MAX_CELL:
        fh.close()
        raise ImportFileError(f"the header row has more than {MAX_COLUMNS:,} columns or an over-long header")
    return Table(path, headers, _csv_rows(reader, feed, len(headers)), fh)


class _LineFeed:
    """Feeds lines to csv.reader, dropping control characters (`core.text`) and noting whether the record being
    read had undecodable bytes (`bad`), a line long enough to hold an oversized cell (`long`), or was cut off in
    the middle of a character (`truncated`: only the file's last line can lack its newline)."""

    def __init__(self, fh: IO[str], *, scrub: bool) -> None:
        self.fh = fh
        self.scrub = scrub
        self.bad = False
        self.long = False
        self.truncated = False

    def __iter__(self) -> Iterator[str]:
        controls = CONTROLS.search if self.scrub else None
        for line in self.fh:
            if controls is not None and controls(line) is not None:  # NUL, \x07, \x0b …: core.text
                line = strip_controls(line)
            if "\ufffd" in line:
                self.bad = True
                if line[-1:] == "\ufffd":
                    self.truncated = True
            if len(line) > MAX_CELL:
                self.long = True
            yield line


def _csv_rows(reader: Any, feed: _LineFeed, width: int) -> Iterator[tuple[int, list[str]]]:
    """The records as rows; one that cannot be read becomes a BadRow and the next record is read on."""
    row_no = 1
    last = MAX_ROWS + 1  # the row number (header = 1) of the last data row allowed
    too_many = f"the file has more than {MAX_ROWS:,} rows; split it"
    while True:
        try:
            for row in reader:
                row_no += 1
                if row_no > last:
                    yield row_no, bad_row([""] * (width + 1), too_many)
                    return
                if feed.bad:
                    feed.bad = False
                    at = next((i for i, cell in enumerate(row[:width]) if "\ufffd" in cell), -1)
                    row = bad_row(row, TRUNCATED if feed.truncated else BAD_BYTES, at)
                if feed.long:
                    feed.long = False
                    row = _check_cells(row, width) or row
                if not any(row):
                    continue
                if len(row) != width:
                    row = _fit(row, width)
                row.append("")
                yield row_no, row
            return
        except csv.Error as exc:  # the reader starts afresh at the next line
            row_no += 1
            feed.bad = feed.long = False
            yield row_no, bad_row([""] * (width + 1), too_many if row_no > last else f"unreadable CSV record: {exc}")
            if row_no > last:
                return


#: the bytes of the control characters (core.text) as UTF-8 and GB18030 write them: single bytes below 0x20
#: that never occur inside a multi-byte character
_CONTROL_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
_KEEP_BYTES = bytes(b for b in range(256) if b not in _CONTROL_BYTES)


def _has_control_bytes(path: Path) -> bool:
    """Whether the file holds a control character at all: one pass over its bytes in C (bytes.translate), so
    that the lines of the usual file need no per-line search."""
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            if chunk.translate(None, _KEEP_BYTES) or b"\xef\xbf\xbe" in chunk or b"\xef\xbf\xbf" in chunk:
                return True  # a control byte, or U+FFFE/U+FFFF in UTF-8
    return False


def _open_xlsx(path: Path) -> Table:
    import zipfile

    from openpyxl import load_workbook

    try:
        _check_xlsx(path)
    except zipfile.BadZipFile:
        raise ImportFileError("the file is not a readable XLSX workbook (BadZipFile)") from None
    fh = path.open("rb")  # a file object: openpyxl refuses paths without an .xlsx suffix (uploads have none)
    try:
        wb = load_workbook(fh, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        fh.close()
        raise ImportFileError(f"the file is not a readable XLSX workbook ({exc.__class__.__name__})") from None
    ws = wb.active if wb.active is not None else wb.worksheets[0]
    # read the cells that exist: the declared dimension (`A1:XFD1048576`) would make openpyxl fill every row to
    # every declared column
    ws.reset_dimensions()  # read-only worksheets have it
    row_no = 0
    headers: list[str] = []
    for raw in ws.iter_rows(max_row=_HEADER_ROWS, max_col=MAX_COLUMNS + 1, values_only=True):
        row_no += 1
        cells = [_xlsx_cell(v) for v in raw]
        if any(cells):
            headers = [h.strip(" \u3000\xa0\ufeff\t\r\n") for h in cells]
            break
    while headers and not headers[-1]:
        headers.pop()
    problem = ""
    if not headers:
        problem = f"the workbook's first sheet is empty (no header row in its first {_HEADER_ROWS} rows)"
    elif len(headers) > MAX_COLUMNS or max(map(len, headers)) > MAX_CELL:
        problem = f"the header row has more than {MAX_COLUMNS:,} columns or an over-long header"
    if problem:
        wb.close()
        fh.close()
        raise ImportFileError(problem)
    # the data rows, each cut to the header's width as openpyxl reads it (cells past it are never built)
    values = ws.iter_rows(min_row=row_no + 1, max_col=len(headers), values_only=True)
    return Table(path, headers, _xlsx_rows(values, row_no, len(headers)), _Closer(wb, fh))


#: the rows of a sheet searched for its header row
_HEADER_ROWS = 100


def _check_xlsx(path: Path) -> None:
    """Refuse a workbook whose XML would take more than MAX_XLSX_XML, or that holds a run of text longer than a
    cell may be, before openpyxl reads it (it holds the shared strings whole): the XML is streamed in 1 MB pieces
    and the longest stretch between two `<` measured (text inside a tag cannot contain a raw `<`)."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        members = [m for m in archive.infolist() if m.filename.endswith((".xml", ".rels"))]
        if sum(m.file_size for m in members) > MAX_XLSX_XML:
            raise ImportFileError(
                f"the workbook unpacks to more than {MAX_XLSX_XML // 1024**3} GB; save it as CSV and upload that"
            )
        for member in members:
            with archive.open(member) as xml:
                run = 0  # the length of the text run the previous piece ended in
                read = 0
                while piece := xml.read(1 << 20):
                    read += len(piece)
                    if read > MAX_XLSX_XML:  # the sizes the zip declares are not to be trusted
                        raise ImportFileError(
                            f"the workbook unpacks to more than {MAX_XLSX_XML // 1024**3} GB; save it as CSV"
                        )
                    parts = piece.split(b"<")
                    longest = max(run + len(parts[0]), max(map(len, parts[1:]), default=0))
                    run = len(parts[-1]) if len(parts) > 1 else run + len(piece)
                    if longest > _MAX_XML_RUN:
                        raise ImportFileError(
                            f"the workbook holds a cell longer than {MAX_CELL:,} characters (in {member.filename});"
                            " it is not an order export"
                        )


class _Closer:
    def __init__(self, *things: Any) -> None:
        self.things = things

    def close(self) -> None:
        for thing in self.things:
            thing.close()


def _xlsx_rows(values: Iterator[tuple[Any, ...]], row_no: int, width: int) -> Iterator[tuple[int, list[str]]]:
    first = row_no
    for raw in values:
        row_no += 1
        if row_no - first > MAX_ROWS:  # rows a sheet only claims (r="99999999") are counted too
            yield row_no, bad_row([""] * (width + 1), f"the sheet has more than {MAX_ROWS:,} rows; split it")
            return
        row = [_xlsx_cell(v) for v in raw]
        if not any(row):
            continue
        for i, cell in enumerate(row):
            if len(cell) > MAX_CELL:
                row = bad_row(row, CELL_TOO_LONG, i)
                break
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
    return bad_row(fitted, row.reason, row.column) if isinstance(row, BadRow) else fitted


def _xlsx_cell(v: object) -> str:
    """A workbook value as the text a CSV export would hold (dates ISO, whole floats without `.0`)."""
    if v is None:
        return ""
    if isinstance(v, str):
        return strip_controls(v)
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
