"""The process that parses a big file next to the database, and the batching of a parsed stream.

Parsing and encoding are pure Python and hold the GIL; in a thread they would take turns with the writer instead of
running beside it. `FeedProcess` runs them in a child process (`python -m huitouke.orders.feed`, which never loads
Django) while the parent only hands the text to the database: a large import keeps one core on the parser and one
on the database. Shops are the only thing the child cannot know: the first time a batch names a shop, the child
asks the parent for its id and waits for the answer.
"""

from __future__ import annotations

import gc
import os
import pickle
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from huitouke.core.pii_crypto import PiiCipher
from huitouke.orders.feed.encoding import POSTGRESQL, Encoded, Encoder
from huitouke.orders.importers.rows import ImportFileError, OrderRow, RowError


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
    batch_size: int = 10_000
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
        encoder = Encoder(
            ask,
            request.dialect,
            cipher=request.cipher,
            keep_levels=request.keep_levels,
            defer_profiles=True,  # the staged writer seals the profiles of the buyers it stores
        )
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
        root = str(Path(__file__).resolve().parents[3])
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
