"""Writing parsed order rows into the archive: an idempotent upsert by (shop, order number).

The parsers (`orders.importers`) turn a file into OrderRow/RowError values without touching the database; this
module writes them in batches. Each batch is one transaction, so an order and its lines land together or not at
all, and a failure never leaves half a batch behind. Per batch it runs a fixed number of statements: look up
identities, products and existing orders with their lines; insert what is new with COPY (PostgreSQL) or
executemany (SQLite); update only orders whose values changed. Re-importing the same file writes nothing.

That is the portable writer (`OrderWriter`, in `importing.writer`), the reference the others are tested
against. By default the batches go through the staged writers, which do the same upsert with set-based SQL over
staging tables (`staging.StagedOrderWriter` on PostgreSQL, `staging_sqlite.SQLiteStagedWriter` on SQLite), and
large files are parsed in a child process (`feed`). The counts and the error report are in `importing.result`.

Customer stats and member levels are not refreshed here: the caller (huitouke/jobs.py) does that for the
customers this import touched (`ImportResult.customer_ids`), so `orders` never calls an app above it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Protocol, runtime_checkable

from django.db import connection

from huitouke.core.bulk import update_from_supported
from huitouke.core.pii_fields import pii_cipher
from huitouke.core.readahead import read_ahead
from huitouke.customers.models import Customer
from huitouke.orders.feed import Encoded, FeedProcess, FeedRequest, batched, level_note, levels_merge
from huitouke.orders.importers.rows import OrderRow, RowError
from huitouke.orders.importing.result import IMPORT_JOB_KIND, ErrorReport, ImportResult
from huitouke.orders.importing.writer import (
    BATCH_ORDERS,
    CONSENT_ANSWERS,
    LINE_FIELDS,
    ORDER_FIELDS,
    OrderWriter,
)
from huitouke.orders.indexes import customers_defer_worthwhile, defer_worthwhile, order_indexes_deferred
from huitouke.orders.models import Shop
from huitouke.orders.services import customer_stats_refresh

__all__ = [
    "BATCH_ORDERS",
    "CONSENT_ANSWERS",
    "FEED_MIN_BYTES",
    "IMPORT_JOB_KIND",
    "LINE_FIELDS",
    "ORDER_FIELDS",
    "EncodedBatchWriter",
    "ErrorReport",
    "ImportResult",
    "OrderWriter",
    "orders_import_rows",
]


def orders_import_rows(
    *,
    stream: Iterable[OrderRow | RowError],
    result: ImportResult,
    report: ErrorReport,
    shop: Shop | None = None,
    default_shop: str = "",
    progress: Callable[[int], None] | None = None,
    batch_size: int = 0,
    writer_class: type[OrderWriter] | None = None,
    feed: FeedRequest | None = None,
    feed_min_bytes: int | None = None,
    keep_levels: bool = False,
) -> ImportResult:
    """Write a parsed stream into the archive, `batch_size` orders per transaction; rejected rows go to `report`.

    `result.rows` counts the file's data rows seen (the highest row number less the header). Progress is
    reported after each batch with that count. The batches go through the database's staged writer
    (`staging.StagedOrderWriter` on PostgreSQL, `staging_sqlite.SQLiteStagedWriter` on SQLite: staging tables
    merged by SQL), on any other database through `OrderWriter`; `writer_class` forces one (the tests comparing
    them) and `batch_size` 0 takes the writer's own. The stream is parsed in a background thread
    (`read_ahead`) so that parsing the next batch overlaps with the database writing this one; the writes stay in
    the caller's thread. Given `feed` (the same file described for a child process; its batch size and dialect
    are set here from the writer), a writer taking encoded
    batches and a file of `feed_min_bytes` or more (default FEED_MIN_BYTES), the stream is closed unread and the
    file is parsed in a child process instead (`feed.FeedProcess`): parser and database then use a core each.
    With `keep_levels` the buyers' member levels are collected into `result.member_levels` on either path (the
    writers never see them; the caller stores them once the orders are in).
    """
    if writer_class is None:
        writer_class = OrderWriter
        if connection.vendor == "postgresql":
            from huitouke.orders.staging import StagedOrderWriter

            writer_class = StagedOrderWriter
        elif connection.vendor == "sqlite" and update_from_supported():
            from huitouke.orders.staging_sqlite import SQLiteStagedWriter

            writer_class = SQLiteStagedWriter
    batch_size = batch_size or writer_class.BATCH
    result.keep_levels = keep_levels
    writer = writer_class(result=result, shop=shop, default_shop=default_shop or "默认店铺")
    threshold = FEED_MIN_BYTES if feed_min_bytes is None else feed_min_bytes
    if feed is not None and isinstance(writer, EncodedBatchWriter) and _feed_size(feed) >= threshold:
        close = getattr(stream, "close", None)
        if close is not None:
            close()  # the child parses the file itself
        feed = replace(
            feed,
            batch_size=batch_size,
            dialect=writer.dialect,
            keep_levels=keep_levels,
            cipher=pii_cipher(),
        )
        # a large first import loads the rows, then builds the order tables' secondary indexes once (and the
        # customer tables', when they are small too)
        size = _feed_size(feed)
        defer = defer_worthwhile(size)
        with order_indexes_deferred(defer, customers=defer and customers_defer_worthwhile(size)) as deferred:
            result.indexes_deferred = len(deferred)
            analyzed = getattr(writer, "analyzed", None)
            if deferred and analyzed is not None:  # the stats below rewrite the customers: analysed after that
                writer.analyzed = tuple(name for name in analyzed if name != "customer")  # type: ignore[attr-defined]
            _import_fed(feed, writer, result=result, report=report, progress=progress)
            if deferred:
                _stats_before_indexes(result)
            return result
    last_row = 1
    # room for a whole batch ahead, so the next batch is parsed while the database writes this one
    for rows, errors, last_row in batched(read_ahead(stream, chunk=1000, depth=batch_size // 1000 + 2), batch_size):
        for error in errors:
            report.add(error)
        writer.write(rows)
        if keep_levels:
            levels, shop_named = result.member_levels, writer.shop_named
            for row in rows:
                if row.member_level:
                    level_note(levels, shop_named(row.shop_name, row.platform).pk, row)
        if progress and rows:
            progress(last_row - 1)
    return _finished(writer, result, report, progress, last_row)


def _finished(
    writer: OrderWriter | EncodedBatchWriter,
    result: ImportResult,
    report: ErrorReport,
    progress: Callable[[int], None] | None,
    last_row: int,
) -> ImportResult:
    """The end of an import, however it was parsed: the writer's last step, the counts, the error report."""
    writer.finish()
    result.rows = max(result.rows, last_row - 1)
    result.errors = report.count
    result.error_report = report.close()
    if progress:
        progress(result.rows)
    return result


def _stats_before_indexes(result: ImportResult) -> None:
    """The touched customers' stats, refreshed while their sort indexes (and with the customer tables deferred,
    every index but the primary key) are not there to be maintained by the rewrite of each row; then their
    statistics, which the writer's `finish` took before. The caller's refresh then leaves these customers be
    (`ImportResult.stats_refreshed`)."""
    if not result.customer_ids:
        return
    customer_stats_refresh(customer_ids=result.customer_ids)
    result.stats_refreshed = True
    with connection.cursor() as cur:
        cur.execute(f"ANALYZE {connection.ops.quote_name(Customer._meta.db_table)}")


@runtime_checkable
class EncodedBatchWriter(Protocol):
    """A writer that also takes batches already encoded by `feed.Encoder` (the staged writers)."""

    dialect: str  # what `feed.Encoder` encodes its batches for

    def shop_id(self, name: str, platform: str) -> int: ...

    def write_encoded(self, batch: Encoded) -> None: ...

    def finish(self) -> None: ...


#: Files (orders plus items) from this size on are parsed in a child process when the writer takes encoded
#: batches (the staged writers): below it, starting the process costs more than it saves.
FEED_MIN_BYTES = 8 * 1024 * 1024


def _feed_size(feed: FeedRequest) -> int:
    paths = [feed.path, *([feed.items_path] if feed.items_path else [])]
    return sum(Path(p).stat().st_size for p in paths)


def _import_fed(
    feed: FeedRequest,
    writer: EncodedBatchWriter,
    *,
    result: ImportResult,
    report: ErrorReport,
    progress: Callable[[int], None] | None,
) -> ImportResult:
    """`orders_import_rows` with the parsing in a child process (`feed.FeedProcess`) and this process writing."""
    last_row = 1
    result.parser = "process"
    for batch in FeedProcess(feed, writer.shop_id).batches():
        for error in batch.errors:
            report.add(error)
        writer.write_encoded(batch)
        if batch.levels:
            levels_merge(result.member_levels, batch.levels)
        last_row = max(last_row, batch.last_row)
        if progress:
            progress(last_row - 1)
    return _finished(writer, result, report, progress, last_row)
