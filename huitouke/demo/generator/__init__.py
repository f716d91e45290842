"""Pure, deterministic generation of the demo shop's rows from a seed (no ORM, no settings).

`DemoGenerator(customers=N, seed=S, today=D, ids=IdStart(...)).chunks()` yields `Chunk`s of plain tuples whose
fields follow the `*_COLUMNS` tuples below, primary keys already assigned (starting after `ids`) so that rows link
up without a round trip to the database. The same (N, seed, today, ids) always gives the same rows.

Values are already in database text form: timestamps "YYYY-MM-DD HH:MM:SS" in UTC, dates "YYYY-MM-DD", money
"123.45", booleans as bool, None for NULL. Both the PostgreSQL COPY writer and SQLite accept them unchanged.
"""

from __future__ import annotations

import hashlib
import itertools
import traceback
from collections.abc import Iterator
from multiprocessing import Queue

from huitouke.core.pii_crypto import PiiCipher
from huitouke.demo.generator.calendar import HISTORY_DAYS, lunar_new_year, mid_autumn
from huitouke.demo.generator.people import People
from huitouke.demo.generator.rows import (
    CONSENT_COLUMNS,
    CUSTOMER_COLUMNS,
    CUSTOMERTAG_COLUMNS,
    IDENTITY_COLUMNS,
    LINE_COLUMNS,
    NOTE_COLUMNS,
    ORDER_COLUMNS,
    PRODUCT_COLUMNS,
    SHOP_COLUMNS,
    STORED_CUSTOMER_COLUMNS,
    Chunk,
    IdStart,
    Row,
    copy_text,
    seal_customers,
    seal_orders,
)

__all__ = [
    "CONSENT_COLUMNS",
    "CUSTOMERTAG_COLUMNS",
    "CUSTOMER_COLUMNS",
    "HISTORY_DAYS",
    "IDENTITY_COLUMNS",
    "LINE_COLUMNS",
    "NOTE_COLUMNS",
    "ORDER_COLUMNS",
    "PRODUCT_COLUMNS",
    "SHOP_COLUMNS",
    "STORED_CUSTOMER_COLUMNS",
    "Chunk",
    "DemoGenerator",
    "IdStart",
    "Row",
    "copy_chunks_produce",
    "copy_text",
    "lunar_new_year",
    "mid_autumn",
    "rows_digest",
    "seal_customers",
    "seal_orders",
]

_BLOCK = 50
_SEGMENTS = ["one"] * 28 + ["occasional"] * 14 + ["loyal"] * 8
_PLATFORMS = ["taobao"] * 45 + ["shopify"] * 5


class DemoGenerator(People):
    """Generates a tea-and-snacks seller's shops, catalogue, customers and two years of orders."""

    def chunks(self, chunk_size: int = 10_000) -> Iterator[Chunk]:
        """Yield the customer-side rows in chunks of `chunk_size` customers."""
        chunk = Chunk()
        segments: list[str] = []
        platforms: list[str] = []
        for i in range(self.n):
            if i % _BLOCK == 0:
                segments = _SEGMENTS[:]
                platforms = _PLATFORMS[:]
                self.rng.shuffle(segments)
                self.rng.shuffle(platforms)
            self._customer(chunk, platforms[i % _BLOCK], segments[i % _BLOCK])
            if (i + 1) % chunk_size == 0:
                yield chunk
                chunk = Chunk()
        if chunk.customers:
            yield chunk


def rows_digest(gen: DemoGenerator, chunks: Iterator[Chunk]) -> str:
    """SHA-256 over every generated row, to check that a seed reproduces the same shop."""
    h = hashlib.sha256()
    for row in itertools.chain(gen.shop_rows, gen.product_rows):
        h.update(repr(row).encode())
    for chunk in chunks:
        for table in Chunk.TABLES:
            for row in getattr(chunk, table):
                h.update(repr(row).encode())
    return h.hexdigest()


def copy_chunks_produce(options: dict[str, object], chunk_size: int, out: Queue, cipher: PiiCipher) -> None:
    """Child-process entry point: generate with `options` and put one {table: COPY text} dict per chunk on `out`
    (then None), so that generation runs on one core while the database loads on the other. Customers' personal
    data is sealed with `cipher` (their rows follow STORED_CUSTOMER_COLUMNS). A failure is put as an ("error",
    text) tuple."""
    try:
        gen = DemoGenerator(**options)  # type: ignore[arg-type]  # keyword arguments of DemoGenerator
        for chunk in gen.chunks(chunk_size):
            chunk.customers = seal_customers(chunk.customers, cipher)
            chunk.orders = seal_orders(chunk.orders, cipher)
            texts = {table: copy_text(getattr(chunk, table)) for table in Chunk.TABLES}
            out.put((len(chunk.customers), len(chunk.orders), len(chunk.lines), texts))
        out.put(None)
    except BaseException:
        out.put(("error", traceback.format_exc()))
