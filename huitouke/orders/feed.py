"""The values an import writes for a parsed order, and the process that parses big files next to the database.

Pure (no Django, no ORM), so it runs in a child process that never loads the project:

- `profile_values`, `order_values`, `line_values` and `product_key`: what both writers store for an `OrderRow`
  (truncated to the columns' lengths), in the column orders `PROFILE_FIELDS`, `ORDER_VALUE_FIELDS`,
  `LINE_VALUE_FIELDS`;
- `Encoder`: a batch of rows → what the staged writers put into their two staging tables: the text of
  PostgreSQL's COPY, or SQLite's rows as executemany binds them; `EncodingBatch` and `batched_into` encode each
  row as it is parsed, so a batch never holds its parsed rows;
- `FeedProcess`: a child process that parses the file pair and encodes batch after batch while the parent only
  hands the text to the database. Parsing and encoding are pure Python and hold the GIL; in a thread they would
  take turns with the writer instead of running beside it. With the child, a large import keeps one core on the
  parser and one on the database. Shops are the only thing the child cannot know: the first time a batch names a
  shop, the child asks the parent for its id and waits for the answer.
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, TypeVar

from huitouke.core.pii import name_from_handle
from huitouke.core.pii_crypto import PiiCipher
from huitouke.orders.importers.rows import ImportFileError, LineRow, OrderRow, RowError

#: Profile fields an import fills on a customer when the archive has nothing better.
PROFILE_FIELDS = ("real_name", "phone", "email", "province", "city", "district", "address")
#: The profile as stored: PROFILE_FIELDS (phone, email, real name and street address encrypted, core.pii_crypto)
#: followed by the customer's search digests; `stored_profile` gives the values.
DIGEST_COLUMNS = ("phone_digest", "phone_last4_digest", "email_digest", "real_name_digest")
STORED_PROFILE_FIELDS = (*PROFILE_FIELDS, *DIGEST_COLUMNS)
#: Order columns an import writes, but for the customer (which the writers resolve), in `order_values` order.
ORDER_VALUE_FIELDS = (
    "status",
    "goods_amount",
    "shipping_fee",
    "total_amount",
    "paid_amount",
    "refund_amount",
    "ordered_at",
    "paid_at",
    "shipped_at",
    "delivered_at",
    "confirmed_at",
    "closed_at",
    "logistics_company",
    "tracking_no",
    "gift",
    "buyer_remark",
    "seller_memo",
    "receiver_name",
    "receiver_phone",
    "receiver_address",
)
#: Line columns an import writes, but for the product (resolved by the writers), in `line_values` order.
LINE_VALUE_FIELDS = ("line_no", "title", "sku", "quantity", "unit_price", "amount", "refund_state")

#: The staged writer's staging tables, column by column (see `staging`).
ORDER_STAGE_COLUMNS = (
    "seq", "shop_id", "order_no", "platform", "handle", "name", *STORED_PROFILE_FIELDS, "accepts_marketing",
    "new_products", "summary_lines", *ORDER_VALUE_FIELDS,
)  # fmt: skip
LINE_STAGE_COLUMNS = ("seq", "shop_id", "pkey", *LINE_VALUE_FIELDS)


def _unless_masked(value: str) -> str:
    return "" if "*" in value else value


def customer_name(row: OrderRow) -> str:
    """The display name of a customer created from this order: the buyer handle, unless that is contact data (a
    Shopify/WooCommerce email, a phone), which never becomes a name everyone sees (core.pii.name_from_handle)."""
    return name_from_handle(row.buyer_handle, _unless_masked(row.buyer_name)[:64])[:128]


def profile_values(row: OrderRow) -> tuple[str, ...]:
    """The PROFILE_FIELDS an order offers (a masked name offers none)."""
    return (
        _unless_masked(row.buyer_name)[:64],
        row.phone[:32],
        row.email.lower()[:254],
        row.province[:32],
        row.city[:32],
        row.district[:32],
        row.address[:255],
    )


def stored_profile(cipher: PiiCipher, values: tuple[str, ...]) -> tuple[str, ...]:
    """`profile_values` as stored (STORED_PROFILE_FIELDS): the personal ones sealed, then the search digests."""
    real_name, phone, email, province, city, district, address = values
    return (
        cipher.seal(real_name),
        cipher.seal(phone),
        cipher.seal(email),
        province,
        city,
        district,
        cipher.seal(address),
        *cipher.digests(phone=phone, email=email, real_name=real_name),
    )


#: Positions in ORDER_VALUE_FIELDS of the delivery details, stored as equal tokens for equal values
#: (`PiiCipher.seal_fixed`), so that the staged import's SQL tells an unchanged order.
_RECEIVER = tuple(ORDER_VALUE_FIELDS.index(f) for f in ("receiver_name", "receiver_phone", "receiver_address"))


def order_values(row: OrderRow) -> tuple[Any, ...]:
    """The ORDER_VALUE_FIELDS of an order."""
    return (
        row.status,
        row.goods_amount,
        row.shipping_fee,
        row.total_amount,
        row.paid_amount,
        row.refund_amount,
        row.ordered_at,
        row.paid_at,
        row.shipped_at,
        row.delivered_at,
        row.confirmed_at,
        row.closed_at,
        row.logistics_company[:64],
        row.tracking_no[:64],
        row.gift[:255],
        row.buyer_remark[:1000],
        row.seller_memo[:1000],
        row.buyer_name[:64],
        row.phone[:32],
        (row.province + row.city + row.district + row.address)[:255],
    )


def line_values(line: LineRow) -> tuple[Any, ...]:
    """The LINE_VALUE_FIELDS of a line."""
    return (
        line.line_no,
        line.title[:255],
        line.sku[:128],
        line.quantity,
        line.unit_price,
        line.amount,
        line.refund_state,
    )


#: The member levels an import carries (`--keep-levels`): (shop id, platform, buyer handle) → (the order time,
#: row number and level of the buyer's newest order in the file that names a level).
Levels = dict[tuple[int, str, str], tuple[datetime, int, str]]


def level_note(levels: Levels, shop_id: int, row: OrderRow) -> None:
    """Remember the row's member level for its buyer in its shop, unless a newer order of theirs named one."""
    key = (shop_id, row.platform, row.buyer_handle)
    seen = levels.get(key)
    if seen is None or row.ordered_at >= seen[0]:
        levels[key] = (row.ordered_at, row.row_no, row.member_level[:64])


def levels_merge(into: Levels, other: Levels) -> None:
    """Add a batch's levels to the import's, the newer order winning."""
    for key, value in other.items():
        seen = into.get(key)
        if seen is None or value[0] >= seen[0]:
            into[key] = value


def product_key(line: LineRow) -> str:
    """A product is known by the seller's code (商家编码/外部系统编号), else the SKU, else its title."""
    key = line.external_id or line.sku
    if key:
        return key[:64]
    return "t:" + hashlib.sha1(line.title.encode()).hexdigest()[:20]


# ------------------------------------------------------------------------------------------- COPY text encoding
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
INTEGER_COLUMNS = frozenset({"seq", "shop_id", "line_no", "quantity"})
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


class Encoder:
    """Batches of OrderRow → `Encoded` for `dialect` (POSTGRESQL or SQLITE). `shop_id(name, platform)` gives the
    shop a row is written into; a (shop, order number) named twice in one batch keeps its last row (as
    `OrderWriter` does). The customer's personal data is sealed with `cipher` (`stored_profile`)."""

    def __init__(
        self,
        shop_id: Callable[[str, str], int],
        dialect: str = POSTGRESQL,
        *,
        cipher: PiiCipher,
        keep_levels: bool = False,
    ) -> None:
        if dialect not in (POSTGRESQL, SQLITE):
            raise ValueError(f"unknown dialect {dialect!r}")
        self.cipher = cipher
        self._shop_id = shop_id
        self._shops: dict[tuple[str, str], int] = {}
        self.dialect = dialect
        self.keep_levels = keep_levels

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
        # A buyer's orders repeat their profile and delivery details: each distinct one is sealed once per batch
        # (sealing and digests cost about as much as parsing the row).
        self._profiles: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._receivers: dict[str, str] = {}
        self.levels: Levels = {}

    def __len__(self) -> int:
        return len(self._orders)

    def append(self, row: OrderRow) -> None:
        seq = len(self._orders)
        shop_id = self._encoder.shop_of(row)
        self._latest[(shop_id, row.order_no)] = seq
        handle = row.buyer_handle
        order = (
            seq, shop_id, row.order_no, row.platform, handle, customer_name(row),
            *self._stored_profile(profile_values(row)),
            row.accepts_marketing, row.new_products, row.summary_lines, *self._stored_order(order_values(row)),
        )  # fmt: skip
        lines = [(seq, shop_id, product_key(line), *line_values(line)) for line in row.lines]
        if self._keep_levels and row.member_level:
            level_note(self.levels, shop_id, row)
        if self._sqlite:
            self._orders.append(_ORDER_FORMAT.sqlite(order) or tuple(map(sqlite_cell, order)))
            self._lines.append([_LINE_FORMAT.sqlite(line) or tuple(map(sqlite_cell, line)) for line in lines])
        else:
            self._orders.append(_ORDER_FORMAT.copy(order))
            self._lines.append("".join(map(_LINE_FORMAT.copy, lines)))

    def _stored_profile(self, values: tuple[str, ...]) -> tuple[str, ...]:
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
        if not self._sqlite:
            return Encoded(
                orders="".join(orders).encode(), lines="".join(lines).encode(), count=len(orders), levels=self.levels
            )
        batch = Encoded(count=len(orders), levels=self.levels)
        batch.orders = _sqlite_text(orders, batch.odd_orders)
        batch.lines = _sqlite_text((line for own in lines for line in own), batch.odd_lines)
        return batch


_ORDER_FORMAT = RowFormat(ORDER_STAGE_COLUMNS)
_LINE_FORMAT = RowFormat(LINE_STAGE_COLUMNS)


def _sqlite_text(rows: Iterable[str | tuple[Any, ...]], odd: list[tuple[Any, ...]]) -> str:
    """SQLite text rows joined by ROW_SEP; the rows that are tuples go to `odd`."""
    texts = []
    for row in rows:
        if isinstance(row, str):
            texts.append(row)
        else:
            odd.append(row)
    return ROW_SEP.join(texts)


# ------------------------------------------------------------------------------------------- the child process
@dataclass(frozen=True)
class FeedRequest:
    """What the child parses: the file (pair), format, mapping and time zone, as `parse_orders` takes them; and
    how it hands the rows over: orders per batch, and the database they are encoded for (an import sets both
    from its writer)."""

    path: str
    items_path: str | None
    fmt: str
    mapping: dict[str, str] | None
    tz: str
    batch_size: int = 50_000
    dialect: str = POSTGRESQL
    #: collect the buyers' member levels (`Encoded.levels`)
    keep_levels: bool = False
    #: seals the customers' personal data (the importing writer sets it from settings)
    cipher: PiiCipher | None = None


class _Rows(Protocol):
    """What a batch collects the parsed orders into: a list, or an `EncodingBatch`."""

    def append(self, row: OrderRow, /) -> None: ...

    def __len__(self) -> int: ...


_R = TypeVar("_R", bound=_Rows)


def batched_into(
    stream: Iterable[OrderRow | RowError], new: Callable[[], _R], size: int, *, first: int = 0
) -> Iterator[tuple[_R, list[RowError], int]]:
    """Cut a parsed stream into batches of `size` orders (the first of `first` when given), each collected into
    `new()`: (orders, the rejected rows met on the way, the highest row number read so far). The last batch comes
    even when empty, with the rejected rows after the last order."""
    rows = new()
    errors: list[RowError] = []
    last_row = 1
    limit = max(1, first or size)
    for item in stream:
        last_row = max(last_row, item.row_no)
        if isinstance(item, RowError):
            errors.append(item)
            continue
        rows.append(item)
        if len(rows) >= limit:
            yield rows, errors, last_row
            rows, errors, limit = new(), [], max(1, size)
    yield rows, errors, last_row


def batched(
    stream: Iterable[OrderRow | RowError], size: int, *, first: int = 0
) -> Iterator[tuple[list[OrderRow], list[RowError], int]]:
    """`batched_into` lists of OrderRow."""
    return batched_into(stream, list, size, first=first)


def _child(read: Callable[[], Any], send: Callable[[Any], None]) -> None:
    """The child: read its FeedRequest, parse, encode, send ("batch", Encoded) per batch, then ("done",). Shops
    are asked for with ("shop", name, platform) and answered with an id. A failure is sent as ("failed", class,
    message)."""
    from huitouke.orders.importers import parse_orders

    def ask(name: str, platform: str) -> int:
        send(("shop", name, platform))
        return int(read())

    # The child's objects are acyclic (strings, tuples, lists, row dataclasses) and it holds the whole item report
    # while it parses: the cyclic collector's passes over that heap cost about 15 % of its CPU and free nothing.
    # Reference counting frees everything as before; a young-generation pass per batch bounds what a cycle could
    # hold.
    gc.disable()
    try:
        request: FeedRequest = read()
        _fmt, stream = parse_orders(
            Path(request.path),
            items_path=Path(request.items_path) if request.items_path else None,
            fmt=request.fmt,
            mapping=request.mapping,
            tz=request.tz,
        )
        if request.cipher is None:
            raise ValueError("the feed request carries no cipher for the customers' personal data")
        encoder = Encoder(ask, request.dialect, cipher=request.cipher, keep_levels=request.keep_levels)
        # rows are encoded as they are parsed; a small first batch, so the parent starts writing while the rest
        # is parsed
        size = request.batch_size
        for batch, errors, last_row in batched_into(stream, encoder.batch, size, first=size // 5):
            encoded = batch.encoded()
            encoded.errors, encoded.last_row = errors, last_row
            send(("batch", encoded))
            gc.collect(0)
        send(("done",))
    except ImportFileError as exc:
        send(("failed", "ImportFileError", str(exc)))
    except Exception:  # anything else: the parent raises it with the child's traceback
        send(("failed", "", traceback.format_exc()))


def main() -> None:
    """`python -m huitouke.orders.feed`: the child's side, speaking pickles on stdin/stdout."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer

    def send(message: Any) -> None:
        pickle.dump(message, stdout, protocol=pickle.HIGHEST_PROTOCOL)
        stdout.flush()

    _child(lambda: pickle.load(stdin), send)


class FeedFailed(RuntimeError):
    """The parsing child failed unexpectedly (its traceback is the message)."""


class FeedProcess:
    """Parse `request` in a child process (a fresh interpreter running this module: it never loads Django);
    iterate the parent's side for the encoded batches, answering the child's shop questions with
    `shop_id(name, platform)` on the way."""

    def __init__(self, request: FeedRequest, shop_id: Callable[[str, str], int]) -> None:
        self.request = request
        self.shop_id = shop_id

    def batches(self) -> Iterator[Encoded]:
        root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        process = subprocess.Popen(
            [sys.executable, "-m", "huitouke.orders.feed"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        assert process.stdin is not None
        assert process.stdout is not None
        to_child, from_child = process.stdin, process.stdout

        def send(message: Any) -> None:
            pickle.dump(message, to_child, protocol=pickle.HIGHEST_PROTOCOL)
            to_child.flush()

        try:
            send(self.request)
            while True:
                try:
                    message = pickle.load(from_child)
                except EOFError:
                    code = process.wait()
                    raise FeedFailed(f"the parsing process ended unexpectedly (exit code {code})") from None
                kind = message[0]
                if kind == "shop":
                    send(self.shop_id(message[1], message[2]))
                elif kind == "batch":
                    yield message[1]
                elif kind == "done":
                    return
                elif message[1] == "ImportFileError":
                    raise ImportFileError(message[2])
                else:
                    raise FeedFailed(message[2])
        finally:
            to_child.close()
            from_child.close()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


if __name__ == "__main__":
    # run the module's importable copy, so that pickled classes are named huitouke.orders.feed.…, not __main__.…
    from huitouke.orders.feed import main as feed_main

    feed_main()
