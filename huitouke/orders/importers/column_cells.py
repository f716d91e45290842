"""Cell parsers over whole columns (pyarrow.compute) for `taobao_columns`: each gives the values `cells` gives
for the cells it reads, and says (or leaves to the cell parser itself) which cells those are."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from itertools import repeat
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from huitouke.orders.importers import cells
from huitouke.orders.importers.cells import MAX_QUANTITY, CellError, parse_phone, split_address, unwrap

#: an amount parse_amount reads as Decimal(cell) (its fast path, within MAX_AMOUNT), or an empty cell (ZERO)
_FAST_AMOUNT = r"^([0-9]{1,8}(\.[0-9]{1,2})?)?$"
#: a time parse_datetime reads with fromisoformat (its fast path); the hours, minutes and seconds in range so
#: that pyarrow's strptime cannot roll them over (the day read must also be the day written)
_FAST_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2} ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$"
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
#: an id unwrap leaves as it is, or the `="…"` Taobao wraps every id in (inner text unwrap returns)
_PLAIN_ID = r"^[0-9A-Za-z]+$"
_WRAPPED_ID = r'^="[0-9A-Za-z]+"$'
#: a quantity parse_quantity reads as int(cell) (within 1…MAX_QUANTITY, checked apart)
_FAST_QUANTITY = r"^[0-9]{1,7}$"
_Column = list[Any]


def _quantity(cell: str) -> int:
    """A summary line's quantity as parse_quantity reads a plain count (an empty cell: 1); 0 when the row
    parser is to say what is wrong."""
    if not cell:
        return 1
    if cell.isascii() and cell.isdigit():
        n = int(cell)
        if 1 <= n <= MAX_QUANTITY:
            return n
    return 0


def _tracking(cell: str) -> str:
    return unwrap(cell).removeprefix("No:").strip()


def _each_distinct(column: Any, parse: Callable[[str], Any]) -> tuple[_Column, Any]:
    """`parse` on each distinct cell of `column`, spread over the cells: (the values, None where it raised
    CellError; whether it did not, as a boolean array)."""
    encoded = pc.dictionary_encode(column)
    values: _Column = []
    read: list[bool] = []
    for cell in encoded.dictionary.to_pylist():
        try:
            values.append(parse(cell))
            read.append(True)
        except CellError:
            values.append(None)
            read.append(False)
    indices = encoded.indices
    return list(map(values.__getitem__, indices.to_pylist())), pc.take(pa.array(read, pa.bool_()), indices)


def _ids(column: Any, parse: Callable[[str], str]) -> list[str]:
    """An id column (`unwrap` or a function starting with it): `="…"` and plain ids converted whole, the other
    cells by `parse`."""
    wrapped = pc.match_substring_regex(column, _WRAPPED_ID)
    plain = pc.or_(wrapped, pc.match_substring_regex(column, _PLAIN_ID))
    values = pc.if_else(wrapped, pc.utf8_slice_codeunits(column, 2, -1), column).to_pylist()
    odd = pc.indices_nonzero(pc.invert(plain)).to_pylist()
    if odd:
        cells_ = column.to_pylist()
        for i in odd:
            values[i] = parse(cells_[i])
    return values


#: whitespace other than the space: str.split() and the regexes' \\s split or strip at it, so split_address reads
#: an address holding it
_OTHER_SPACE = r"[\t\n\x0b\x0c\r\x1c-\x1f\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
#: "省 市 [区] 街道…(邮编)" as split_address reads it (single spaces; each part as short as it may be, so the
#: postcode is never taken into the street)
_SPACED_ADDRESS = (
    r"^(?P<province>[^ ]+) (?P<city>[^ ]+) (?P<third>[^ ]+?)(?: (?P<rest>[^ ]+?(?: [^ ]+?)*?))?"
    r"(?: ?[(（](?P<postcode>[0-9]{6})[)）])?$"
)
_POSTCODE_END = r"[(（][0-9]{6}[)）]$"
_ANY_POSTCODE_END = r"[(（]\p{Nd}{6}[)）]$"  # Python's \d: any decimal digit
_DISTRICT = r"^.{1,12}(自治县|自治旗|新区|区|县|旗|市)$"  # cells._DISTRICT, fullmatch
#: the first parts split_address takes for a province (_province_prefix(part) == part)
_PROVINCE_PARTS = pa.array(
    sorted(
        {
            name + suffix
            for name in cells._PROVINCES
            for suffix in ("", *cells._PROVINCE_SUFFIXES)
            if cells._province_prefix(name + suffix) == name + suffix
        }
    )
)


def _addresses(column: Any) -> _Column:
    """split_address over a column of trimmed addresses: Taobao's "省 市 区 街道(邮编)" split by pyarrow, the
    other forms by split_address itself (once per distinct address)."""
    parts = pc.extract_regex(column, _SPACED_ADDRESS)
    province = parts.field("province")
    fast = pc.fill_null(
        pc.and_(
            pc.and_(pc.is_valid(parts), pc.is_in(province, value_set=_PROVINCE_PARTS)),
            pc.and_(
                pc.invert(pc.match_substring_regex(column, _OTHER_SPACE)),
                pc.invert(pc.match_substring(column, "  ")),
            ),
        ),
        False,
    )
    postcode = pc.fill_null(parts.field("postcode"), "")
    # a postcode the pattern left in the street, or one of other digits: split_address's
    ends = pc.match_substring_regex(column, _ANY_POSTCODE_END)
    fast = pc.and_(
        fast,
        pc.or_(pc.invert(ends), pc.and_(pc.match_substring_regex(column, _POSTCODE_END), pc.not_equal(postcode, ""))),
    )
    third = pc.fill_null(parts.field("third"), "")
    rest = pc.fill_null(parts.field("rest"), "")
    district = pc.and_(pc.not_equal(rest, ""), pc.match_substring_regex(third, _DISTRICT))
    street = pc.if_else(
        district, rest, pc.if_else(pc.equal(rest, ""), third, pc.binary_join_element_wise(third, rest, " "))
    )
    values = list(
        zip(
            pc.fill_null(province, "").to_pylist(),
            pc.fill_null(parts.field("city"), "").to_pylist(),
            pc.if_else(district, third, "").to_pylist(),
            street.to_pylist(),
            postcode.to_pylist(),
            strict=True,
        )
    )
    odd = pc.indices_nonzero(pc.invert(fast)).to_pylist()
    if odd:
        texts = column.to_pylist()
        split: dict[str, tuple[str, str, str, str, str]] = {}
        for i in odd:
            text = texts[i]
            found = split.get(text)
            if found is None:
                found = split[text] = split_address(text)
            values[i] = found
    return values


#: a phone parse_phone leaves as it is (a mobile number, maybe masked), or one it takes the apostrophe from
_PLAIN_PHONE = r"^(1[0-9*]{10})?$"
_QUOTED_PHONE = r"^'1[0-9]{10}$"


def _phones(column: Any) -> _Column:
    """parse_phone over a column: mobile numbers (masked, or behind Excel's apostrophe) by pyarrow, the others by
    parse_phone itself."""
    quoted = pc.match_substring_regex(column, _QUOTED_PHONE)
    fast = pc.or_(quoted, pc.match_substring_regex(column, _PLAIN_PHONE))
    values = pc.if_else(quoted, pc.utf8_slice_codeunits(column, 1, 12), column).to_pylist()
    odd = pc.indices_nonzero(pc.invert(fast)).to_pylist()
    if odd:
        texts = column.to_pylist()
        for i in odd:
            values[i] = parse_phone(texts[i])
    return values


def _times(column: Any, tz: Any) -> tuple[_Column, Any]:
    """parse_datetime over a column: (the times, None for empty cells and the cells not read here; whether the
    cell was read so: empty, or a `_FAST_TIME` text that strptime reads to the same day (it rolls a 30 February
    over into March), within the plausible range). Each time is made as datetime(…, tzinfo=tz) from the parts
    pyarrow reads, the same value as parse_datetime's fromisoformat(cell).replace(tzinfo=tz), at a third of its
    cost."""
    shaped = pc.match_substring_regex(column, _FAST_TIME)
    stamps = pc.strptime(column, format=_TIME_FORMAT, unit="s", error_is_null=True)
    written_day = pc.cast(pc.utf8_slice_codeunits(pc.if_else(shaped, column, "0000-00-00"), 8, 10), pa.int64())
    micro = stamps.cast(pa.timestamp("us"))
    read = pc.fill_null(
        pc.and_(
            pc.and_(shaped, pc.equal(pc.day(stamps), written_day)),
            pc.and_(
                pc.greater_equal(micro, pa.scalar(cells.EARLIEST, pa.timestamp("us"))),
                pc.less_equal(micro, pa.scalar(cells._latest, pa.timestamp("us"))),
            ),
        ),
        False,
    )
    known = pc.if_else(read, stamps, pa.scalar(cells.EARLIEST, pa.timestamp("s")))
    parts = [part(known).to_pylist() for part in (pc.year, pc.month, pc.day, pc.hour, pc.minute, pc.second)]
    values: _Column = list(map(datetime, *parts, repeat(0), repeat(tz)))
    for i in pc.indices_nonzero(pc.invert(read)).to_pylist():
        values[i] = None
    return values, pc.or_(pc.equal(column, ""), read)
