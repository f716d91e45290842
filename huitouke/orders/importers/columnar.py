"""A columnar reader for large CSV exports: pyarrow's CSV reader in place of the csv module, where it pays.

`columnar_rows(table, used)` gives a CSV table's rows read by `pyarrow.csv.open_csv` (C++, block by block, every
column as strings; GB18030 transcoded to UTF-8 as it streams) instead of `table.open_table`'s csv.reader. The
format parser sees the same stream: (row number, cells) with the table's width plus the trailing empty cell,
holding the cells of the columns it reads (`used`; the others are empty, the parser never looks at them) and
skipping the rows whose every cell is empty.

Only a file both readers read alike takes this path, checked before the first row (`_plan`): a CSV in UTF-8 or
GB18030 of `min_bytes` or more, its header line without quotes (pyarrow skips it as one line), and, in one pass
over its bytes, no control character (the row reader strips them), no U+FFFD (the row reader reports its row)
and no line longer than a cell may be (`table.MAX_CELL`: the row reader checks the cells of such a line). What
pyarrow meets as it reads and the row reader handles otherwise (bytes that are not valid text, a row with another
number of cells, a blank line among them, more rows than `table.MAX_ROWS`, a row empty in every used column)
hands the rest of the file to the row reader, from the row after the last one given out: the rows are the row
reader's either way (`test_columnar` reads every golden file and each of these cases both ways).

`columnar_batches` gives the same rows as pyarrow's batches (string arrays of the used columns, each batch's
first row number; a `Handover` of the row reader's rest when pyarrow stops), which the Taobao parser converts
column by column (`taobao_columns`); `columnar_rows` turns them back into rows, which is slower than the csv
module on this machine (README: no parser reads so). Only the column-wise Taobao parse reads through pyarrow,
for files of `COLUMNAR_MIN_BYTES` or more (below it, importing pyarrow and its first batch cost more than the
parse saves).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any

from huitouke.orders.importers.table import (
    _CONTROL_BYTES,
    _SAMPLE,
    MAX_CELL,
    MAX_ROWS,
    Table,
    _sniff_encoding,
)

#: files from this size on are read by pyarrow (None: never; see the module's text): a Taobao order report of
#: ~55,000 orders; below ~30,000 (8 MB) importing pyarrow and its first batch cost what the column-wise parse saves
COLUMNAR_MIN_BYTES: int | None = 16 << 20
#: the bytes pyarrow reads per block (each block becomes one batch of rows)
BLOCK_BYTES = 1 << 22
_Rows = Iterator[tuple[int, list[str]]]
_Parts = Iterator["Batch | Handover"]
#: U+FFFD, U+FFFE and U+FFFF as UTF-8 and GB18030 write them
_ODD = (b"\xef\xbf\xbd", b"\xef\xbf\xbe", b"\xef\xbf\xbf", b"\x84\x31\xa4\x37")
_KEEP = bytes(b for b in range(256) if b not in _CONTROL_BYTES)


def columnar_rows(table: Table, used: Collection[int], *, min_bytes: int | None = None) -> None:
    """Read `table`'s rows with pyarrow when the file allows it (see the module's text): `table.rows` is
    replaced, the row reader kept for what pyarrow cannot read. `used`: the column indexes the parser reads;
    `min_bytes`: the smallest file read so (default COLUMNAR_MIN_BYTES)."""
    parts = columnar_batches(table, used, min_bytes=min_bytes)
    if parts is not None:
        table.rows = _rows(parts, table.width)


@dataclass(frozen=True, slots=True)
class Batch:
    """Rows read by pyarrow: the first one's number (the others follow it one by one), and the cells of the used
    columns, by column index, as string arrays of `size` cells (none of them null)."""

    row_no: int
    size: int
    columns: dict[int, Any]


@dataclass(frozen=True, slots=True)
class Handover:
    """The rest of the file, as the row reader reads it (from the row after the last batch's last row)."""

    rows: _Rows


def columnar_batches(
    table: Table, used: Collection[int], *, min_bytes: int | None = None
) -> Iterator[Batch | Handover] | None:
    """`table`'s rows as pyarrow batches (ending with a Handover when pyarrow cannot read the rest alike), or None
    when the file is not read by pyarrow (too small, or a file the row reader reads otherwise: see the module's
    text). The columns a parser converts whole (`taobao_columns`) come from here; `columnar_rows` turns them
    back into rows."""
    threshold = COLUMNAR_MIN_BYTES if min_bytes is None else min_bytes
    if threshold is None:
        return None
    plan = _plan(table.path, threshold)
    if plan is None:
        return None
    columns = sorted({i for i in used if 0 <= i < table.width})
    return _batches(table.path, table.width, columns, plan, table.rows)


def _plan(path: Path, min_bytes: int) -> tuple[str, str, int] | None:
    """(pyarrow's encoding, delimiter, block size) when the file can be read by pyarrow as the row reader reads
    it; a block holds the header line at least (pyarrow skips it within the first block)."""
    try:
        if path.stat().st_size < min_bytes:
            return None
        with path.open("rb") as fh:
            head = fh.read(_SAMPLE)
        encoding = _sniff_encoding(head)
    except Exception:  # the row reader reports what is wrong with the file
        return None
    if encoding not in ("utf-8-sig", "gb18030"):
        return None
    if b"\n" not in head:
        return None
    line = head.split(b"\n", 1)[0]
    first = line.decode(encoding, errors="replace")
    if '"' in first:
        return None
    delimiter = max((",", "\t", ";"), key=first.count)
    if not _plain_bytes(path):
        return None
    return ("utf8" if encoding == "utf-8-sig" else encoding), delimiter, max(BLOCK_BYTES, 2 * len(line) + 2)


def _plain_bytes(path: Path) -> bool:
    """Whether the file has no control character, no U+FFFD/U+FFFE/U+FFFF, and no line longer than MAX_CELL
    bytes (so no line longer than MAX_CELL characters): one pass over its bytes."""
    tail = b""
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            if chunk.translate(None, _KEEP):
                return False
            data = tail + chunk
            if any(odd in data for odd in _ODD):
                return False
            lines = data.split(b"\n")
            tail = lines.pop()
            if len(tail) > MAX_CELL or (lines and max(map(len, lines)) > MAX_CELL):
                return False
            tail = tail[-MAX_CELL - 1 :]
    return True


def _batches(path: Path, width: int, columns: list[int], plan: tuple[str, str, int], fallback: _Rows) -> _Parts:
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import csv as pacsv

    encoding, delimiter, block = plan
    names = [f"c{i}" for i in range(width)]
    row_no = 1  # the header's
    last = MAX_ROWS + 1
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, encoding=encoding, block_size=block),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                include_columns=[names[i] for i in columns],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowException, UnicodeError, ValueError):
        yield Handover(_resume(fallback, row_no))
        return
    try:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except (pa.ArrowException, UnicodeError, ValueError):
                yield Handover(_resume(fallback, row_no))
                return
            if row_no + batch.num_rows > last:
                yield Handover(_resume(fallback, row_no))
                return
            arrays = dict(zip(columns, batch.columns, strict=True))
            size = batch.num_rows
            # a row empty where the parser reads: the row reader knows whether the other cells are (it skips an
            # empty row, hands on one with text); rare, so the rest of the file is its
            empty = None
            for array in arrays.values():
                blank = pc.equal(array, "")
                empty = blank if empty is None else pc.and_(empty, blank)
            cut = pc.index(empty, True).as_py() if empty is not None else -1
            if cut >= 0:
                if cut:
                    yield Batch(row_no + 1, cut, {i: a.slice(0, cut) for i, a in arrays.items()})
                yield Handover(_resume(fallback, row_no + cut))
                return
            if size:
                yield Batch(row_no + 1, size, arrays)
            row_no += size
    finally:
        reader.close()


def _rows(parts: _Parts, width: int) -> _Rows:
    """The batches' rows as the row reader gives them: the used columns' cells in place, "" elsewhere and at
    the end."""
    for part in parts:
        if isinstance(part, Handover):
            yield from part.rows
            return
        columns = sorted(part.columns)
        blank = len(columns)
        spread = itemgetter(*[columns.index(i) if i in columns else blank for i in range(width + 1)])
        cells = [part.columns[i].to_pylist() for i in columns]
        cells.append([""] * part.size)
        for row_no, values in enumerate(zip(*cells, strict=True), part.row_no):
            yield row_no, list(spread(values))


def _resume(fallback: _Rows, after: int) -> _Rows:
    """The row reader's rows after row `after` (the last one pyarrow gave out)."""
    for row_no, row in fallback:
        if row_no > after:
            yield row_no, row
