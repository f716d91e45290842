"""A batch of parsed orders as the staged writers' staging rows: PostgreSQL's COPY text, or SQLite's rows.

Pure (no Django, no ORM). `EncodingBatch` encodes each row as it is appended, so a batch never holds its parsed
rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from huitouke.core.pii_crypto import MASKED_MARK, PiiCipher
from huitouke.orders.feed.values import (
    _RECEIVER,
    DIGEST_COLUMNS,
    LINE_STAGE_COLUMNS,
    ORDER_STAGE_COLUMNS,
    ORDER_VALUE_FIELDS,
    PROFILE_FIELDS,
    Levels,
    customer_name,
    fingerprint_key,
    level_note,
    line_values,
    order_values,
    product_key,
    profile_values,
    stored_profile,
)
from huitouke.orders.importers.rows import OrderRow, RowError

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_cell(value: Any) -> str:
    """One value in PostgreSQL's COPY text format (NULL is \\N; backslash, tab, newline and CR escaped)."""
    if value is None:
        return "\\N"
    if type(value) is str:
        return value.translate(_ESCAPES)
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a naive datetime cannot be staged")
        return value.isoformat(" ")
    if isinstance(value, int | Decimal):
        return str(value)
    raise TypeError(f"cannot stage a {type(value).__name__}")


def copy_line(values: tuple[Any, ...]) -> str:
    """One row in COPY text format, newline included."""
    return "\t".join(map(copy_cell, values)) + "\n"


def _utc_text(value: datetime) -> str:
    offset = value.utcoffset()
    if offset is None:
        raise ValueError("a naive datetime cannot be staged")
    return (value.replace(tzinfo=None) - offset).isoformat(" ")


def sqlite_cell(value: Any) -> Any:
    """One value as Django's SQLite backend binds it: booleans as 1/0, an aware datetime as naive UTC text
    (`2024-02-25 14:00:54`, microseconds only when there are some), a Decimal as its text."""
    if value is None or type(value) is str or type(value) is int:
        return value
    if value is True:
        return 1
    if value is False:
        return 0
    if isinstance(value, datetime):
        return _utc_text(value)
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot stage a {type(value).__name__}")


#: the databases an `Encoder` prepares batches for
POSTGRESQL, SQLITE = "postgresql", "sqlite"
#: SQLite batches travel as text: cells joined by the unit separator, rows by the record separator (a row whose
#: text holds either goes as a tuple instead)
CELL_SEP, ROW_SEP = "\x1f", "\x1e"
#: the staging columns by kind (the rest are text; times end in _at)
INTEGER_COLUMNS = frozenset({"seq", "shop_id", "line_no", "quantity", "fingerprint"})
DECIMAL_COLUMNS = frozenset({"goods_amount", "shipping_fee", "total_amount", "paid_amount", "refund_amount",
                              "unit_price", "amount"})  # fmt: skip
FLAG_COLUMNS = frozenset({"accepts_marketing", "new_products", "summary_lines"})


class RowFormat:
    """Staging rows of one table (ORDER_STAGE_COLUMNS or LINE_STAGE_COLUMNS) as text, the column kinds known in
    advance so that only the cells that need it are converted. A row the fast path cannot carry (something to
    escape for COPY; a separator inside a cell for SQLite) takes the general one."""

    def __init__(self, columns: tuple[str, ...]) -> None:
        self.width = len(columns)
        self.numbers = [i for i, c in enumerate(columns) if c in INTEGER_COLUMNS or c in DECIMAL_COLUMNS]
        self.times = [i for i, c in enumerate(columns) if c.endswith("_at")]
        self.flags = [i for i, c in enumerate(columns) if c in FLAG_COLUMNS]

    def copy(self, record: tuple[Any, ...]) -> str:
        """The row in PostgreSQL's COPY text, newline included: what `copy_line(record)` gives."""
        v = list(record)
        nulls = 0
        for k in self.numbers:
            v[k] = str(v[k])
        for k in self.times:
            t = v[k]
            if t is None:
                v[k] = "\\N"
                nulls += 1
            elif t.tzinfo is None:
                raise ValueError("a naive datetime cannot be staged")
            else:
                v[k] = t.isoformat(" ")
        for k in self.flags:
            b = v[k]
            if b is None:
                v[k] = "\\N"
                nulls += 1
            else:
                v[k] = "t" if b else "f"
        line = "\t".join(v)
        if line.count("\t") != self.width - 1 or line.count("\\") != nulls or "\n" in line or "\r" in line:
            return copy_line(record)  # a cell needs escaping
        return line + "\n"

    def sqlite(self, record: tuple[Any, ...]) -> str | None:
        """The row as SQLite text (NULL as an empty cell: only times and flags are nullable), or None when a
        cell holds a separator."""
        v = list(record)
        for k in self.numbers:
            v[k] = str(v[k])
        for k in self.times:
            t = v[k]
            v[k] = "" if t is None else _utc_text(t)
        for k in self.flags:
            b = v[k]
            v[k] = "" if b is None else "1" if b else "0"
        line = CELL_SEP.join(v)
        if line.count(CELL_SEP) != self.width - 1 or ROW_SEP in line:
            return None
        return line


@dataclass
class Encoded:
    """A batch for the two staging tables, with what the parser found on the way. For PostgreSQL `orders` and
    `lines` are the text of one COPY each; for SQLite they are text rows (CELL_SEP, ROW_SEP), and the rows that
    text cannot carry travel in `odd_orders` and `odd_lines` as tuples of bound values."""

    orders: bytes | str = b""
    lines: bytes | str = b""
    count: int = 0
    errors: list[RowError] = field(default_factory=list)
    last_row: int = 1
    odd_orders: list[tuple[Any, ...]] = field(default_factory=list)
    odd_lines: list[tuple[Any, ...]] = field(default_factory=list)
    #: the batch's member levels (only when the import keeps them, see `level_note`)
    levels: Levels = field(default_factory=dict)
    #: with the profiles left to the writer (`Encoder(defer_profiles=True)`): the batch's distinct clear
    #: PROFILE_FIELDS, and per appended row (its seq) the index of its profile there. The staged rows then carry
    #: only each profile's shape (`profile_shape`); the writer seals the profiles its buyers need.
    profiles: list[tuple[str, ...]] | None = None
    profile_of: list[int] = field(default_factory=list)


class Encoder:
    """Batches of OrderRow → `Encoded` for `dialect` (POSTGRESQL or SQLITE). `shop_id(name, platform)` gives the
    shop a row is written into; a (shop, order number) named twice in one batch keeps its last row (as
    `OrderWriter` does). The customer's personal data is sealed with `cipher` (`stored_profile`), or, with
    `defer_profiles`, left to the writer: the batch carries the clear profiles (`Encoded.profiles`) and the staged
    rows their shapes, and the writer seals only the profiles of the buyers the archive lacks or will fill in (a
    re-import's buyers are all archived: sealing them, AES and four HMAC digests per buyer and batch, cost about
    a fifth of the parsing child's time for nothing). The delivery details are sealed here either way: they are
    part of the order's fingerprint."""

    def __init__(
        self,
        shop_id: Callable[[str, str], int],
        dialect: str = POSTGRESQL,
        *,
        cipher: PiiCipher,
        keep_levels: bool = False,
        defer_profiles: bool = False,
    ) -> None:
        if dialect not in (POSTGRESQL, SQLITE):
            raise ValueError(f"unknown dialect {dialect!r}")
        self.cipher = cipher
        self.fingerprint_key = fingerprint_key(cipher)
        self._shop_id = shop_id
        self._shops: dict[tuple[str, str], int] = {}
        self.dialect = dialect
        self.keep_levels = keep_levels
        self.defer_profiles = defer_profiles
        # Sealed delivery details (SIV: the same token for the same value, so one import's batches can share
        # them; a buyer's orders spread over several batches), emptied when it grows past RECEIVERS_KEPT.
        self.receivers: dict[str, str] = {}

    def shop_of(self, row: OrderRow) -> int:
        key = (row.shop_name, row.platform)
        found = self._shops.get(key)
        if found is None:
            found = self._shops[key] = self._shop_id(*key)
        return found

    def batch(self) -> EncodingBatch:
        """An empty batch that encodes each row as it is appended."""
        return EncodingBatch(self)

    def encode(self, rows: Iterable[OrderRow]) -> Encoded:
        """The batch of `rows`, encoded."""
        batch = self.batch()
        for row in rows:
            batch.append(row)
        return batch.encoded()


class EncodingBatch:
    """A batch being encoded row by row: each appended row becomes its staging rows (ORDER_STAGE_COLUMNS,
    LINE_STAGE_COLUMNS) in the encoder's format at once, so the parsed rows are not kept (50,000 of them held
    about 130 MB). A (shop, order number) appended again replaces the earlier row."""

    def __init__(self, encoder: Encoder) -> None:
        self._encoder = encoder
        self._sqlite = encoder.dialect == SQLITE
        self._latest: dict[tuple[int, str], int] = {}
        #: per appended row: its order (COPY line; SQLite text row, or a tuple of bound values when the text
        #: cannot carry it) and its lines (COPY text; SQLite a list of text rows or tuples)
        self._orders: list[Any] = []
        self._lines: list[Any] = []
        self._keep_levels = encoder.keep_levels
        self._cipher = encoder.cipher
        self._fingerprint_key = encoder.fingerprint_key
        # A buyer's orders repeat their profile and delivery details: each distinct one is sealed once per batch
        # (sealing and digests cost about as much as parsing the row), the delivery details once per import.
        self._profiles: dict[tuple[str, ...], tuple[str, ...]] = {}
        receivers = encoder.receivers
        if len(receivers) > RECEIVERS_KEPT:
            receivers.clear()
        self._receivers = receivers
        self._deferred = encoder.defer_profiles
        #: deferred: each distinct profile's index in `_clear`, per appended row its profile's index
        self._profile_ids: dict[tuple[str, ...], int] = {}
        self._clear: list[tuple[str, ...]] = []
        self._shapes: list[tuple[str, ...]] = []
        self._profile_of: list[int] = []
        self.levels: Levels = {}

    def __len__(self) -> int:
        return len(self._orders)

    def append(self, row: OrderRow) -> None:
        seq = len(self._orders)
        shop_id = self._encoder.shop_of(row)
        self._latest[(shop_id, row.order_no)] = seq
        handle = row.buyer_handle
        stored = self._stored_order(order_values(row))
        # the order's values and lines in COPY text, which its fingerprint digests (and PostgreSQL's rows reuse)
        values_text = _VALUES_FORMAT.copy(stored)
        tails = [(product_key(line), *line_values(line)) for line in row.lines]
        tails_text = [_LINE_TAIL_FORMAT.copy(tail) for tail in tails]
        fingerprint = fingerprint_digest(self._fingerprint_key, values_text, "".join(tails_text))
        head = (
            seq, shop_id, row.order_no, row.platform, handle, customer_name(row),
            *self._stored_profile(profile_values(row)), row.accepts_marketing, row.new_products, row.summary_lines,
        )  # fmt: skip
        if self._keep_levels and row.member_level:
            level_note(self.levels, shop_id, row)
        if self._sqlite:
            order = (*head, *stored, fingerprint)
            lines = [(seq, shop_id, *tail) for tail in tails]
            self._orders.append(_ORDER_FORMAT.sqlite(order) or tuple(map(sqlite_cell, order)))
            self._lines.append([_LINE_FORMAT.sqlite(line) or tuple(map(sqlite_cell, line)) for line in lines])
        else:
            # the COPY row of the order is its head's, its values' and its fingerprint's cells (each part escaped
            # on its own, as `_ORDER_FORMAT.copy` would)
            self._orders.append(f"{_HEAD_FORMAT.copy(head)[:-1]}\t{values_text[:-1]}\t{fingerprint}\n")
            prefix = f"{seq}\t{shop_id}\t"
            self._lines.append("".join([prefix + text for text in tails_text]))

    def _stored_profile(self, values: tuple[str, ...]) -> tuple[str, ...]:
        """The profile's cells in the staged row: sealed, or (deferred) its shape, the clear values kept aside."""
        if self._deferred:
            index = self._profile_ids.get(values)
            if index is None:
                index = self._profile_ids[values] = len(self._clear)
                self._clear.append(values)
                self._shapes.append(profile_shape(values))
            self._profile_of.append(index)
            return self._shapes[index]
        found = self._profiles.get(values)
        if found is None:
            found = self._profiles[values] = stored_profile(self._cipher, values)
        return found

    def _stored_order(self, values: tuple[Any, ...]) -> tuple[Any, ...]:
        out = list(values)
        for i in _RECEIVER:
            clear = out[i]
            sealed = self._receivers.get(clear)
            if sealed is None:
                sealed = self._receivers[clear] = self._cipher.seal_fixed(clear)
            out[i] = sealed
        return tuple(out)

    def encoded(self) -> Encoded:
        """The batch as `Encoded`: each (shop, order number) with the last row appended for it, in order."""
        orders, lines = self._orders, self._lines
        if len(self._latest) < len(orders):
            keep = sorted(self._latest.values())
            orders, lines = [orders[i] for i in keep], [lines[i] for i in keep]
        profiles = self._clear if self._deferred else None
        if not self._sqlite:
            return Encoded(
                orders="".join(orders).encode(),
                lines="".join(lines).encode(),
                count=len(orders),
                levels=self.levels,
                profiles=profiles,
                profile_of=self._profile_of,
            )
        batch = Encoded(count=len(orders), levels=self.levels, profiles=profiles, profile_of=self._profile_of)
        batch.orders = _sqlite_text(orders, batch.odd_orders)
        batch.lines = _sqlite_text((line for own in lines for line in own), batch.odd_lines)
        return batch


#: delivery details an encoder keeps sealed across batches (about 200 bytes each) before it starts again
RECEIVERS_KEPT = 300_000

#: positions in PROFILE_FIELDS of the values `stored_profile` seals
_SEALED = tuple(PROFILE_FIELDS.index(f) for f in ("real_name", "phone", "email", "address"))
_NO_DIGESTS = ("",) * len(DIGEST_COLUMNS)


def profile_shape(values: tuple[str, ...]) -> tuple[str, ...]:
    """What a staged row carries for a profile the writer seals later (STORED_PROFILE_FIELDS): the unsealed
    fields as they are, for each sealed one what the merge compares of a token (`staging`: emptiness, and the
    mark of a masked value), "" for an empty value, "*" for a masked one, "-" for any other; no digests. A
    profile filled in from its shape is always one its sealed form would fill in too, so the writer seals those
    and no fewer."""
    out = list(values)
    for i in _SEALED:
        value = out[i]
        if value:
            out[i] = MASKED_MARK if MASKED_MARK in value else "-"
    return (*out, *_NO_DIGESTS)


_ORDER_FORMAT = RowFormat(ORDER_STAGE_COLUMNS)
_LINE_FORMAT = RowFormat(LINE_STAGE_COLUMNS)
#: the parts of an order's COPY row: before its values, its values (ORDER_VALUE_FIELDS); a line's after seq and shop
_HEAD_FORMAT = RowFormat(ORDER_STAGE_COLUMNS[: ORDER_STAGE_COLUMNS.index(ORDER_VALUE_FIELDS[0])])
_VALUES_FORMAT = RowFormat(ORDER_VALUE_FIELDS)
_LINE_TAIL_FORMAT = RowFormat(LINE_STAGE_COLUMNS[2:])


def fingerprint_digest(key: bytes, values_text: str, lines_text: str) -> int:
    """An order's fingerprint (`Order.fingerprint`): the signed 64-bit keyed digest (`fingerprint_key`) of what
    an import writes for it, in COPY text (escaped: no two orders give the same text): its values
    (ORDER_VALUE_FIELDS, the delivery details sealed as stored, `PiiCipher.seal_fixed`), then per line the
    product key and the line's values. Equal content gives an equal digest on every run; content written
    differently ("10" for "10.00", a time in another offset) or sealed with another key gives another, which
    only costs the re-import a comparison field by field."""
    hasher = _HASHERS.get(key)
    if hasher is None:
        hasher = _HASHERS[key] = hashlib.blake2b(digest_size=8, key=key)
    hasher = hasher.copy()  # keyed once: a copy costs less than keying each digest
    hasher.update((values_text + lines_text).encode())
    return int.from_bytes(hasher.digest(), "big", signed=True)


_HASHERS: dict[bytes, Any] = {}


def order_fingerprint(key: bytes, cipher: PiiCipher, row: OrderRow) -> int:
    """`fingerprint_digest` of a parsed order (the encoder computes it from the text it writes anyway)."""
    stored = list(order_values(row))
    for i in _RECEIVER:
        stored[i] = cipher.seal_fixed(stored[i])
    lines = "".join(_LINE_TAIL_FORMAT.copy((product_key(line), *line_values(line))) for line in row.lines)
    return fingerprint_digest(key, _VALUES_FORMAT.copy(tuple(stored)), lines)


def _sqlite_text(rows: Iterable[str | tuple[Any, ...]], odd: list[tuple[Any, ...]]) -> str:
    """SQLite text rows joined by ROW_SEP; the rows that are tuples go to `odd`."""
    texts = []
    for row in rows:
        if isinstance(row, str):
            texts.append(row)
        else:
            odd.append(row)
    return ROW_SEP.join(texts)
