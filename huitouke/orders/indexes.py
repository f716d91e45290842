"""Load first, index after: the order tables' secondary indexes are dropped for a large first import on
PostgreSQL and built once at the end, instead of being maintained row by row during the load.

Only indexes the models declare are deferred (`Order.Meta.indexes`, `OrderLine.Meta.indexes` and the customer
list's sort indexes `customer_sort_*`); the unique constraints the import matches on ((shop, order number),
(order, line number), (platform, handle)) and the customer search indexes stay. `order_indexes_restore()`
creates any declared index that is missing: at the end of the deferred import (also when it fails), at the start
of every import and in the nightly job, so an import killed half-way cannot leave the archive without them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection

from huitouke.customers.models import Customer
from huitouke.orders.models import Order, OrderLine

#: The customer list's sort indexes are deferred too (the import never reads by them).
CUSTOMER_DEFERRED_PREFIX = "customer_sort_"

#: Defer when the archive holds fewer orders than this share of the orders the file will bring.
DEFER_SHARE = 0.5
#: Bytes of an order export per order, at least (Taobao order + item report lines are longer): estimates the
#: orders a file brings from its size on the generous side.
BYTES_PER_ORDER = 400


def _declared() -> list[tuple[Any, Any]]:
    orders = [(model, index) for model in (Order, OrderLine) for index in model._meta.indexes]
    sorts = [(Customer, i) for i in Customer._meta.indexes if i.name.startswith(CUSTOMER_DEFERRED_PREFIX)]
    return orders + sorts


def _present() -> set[str]:
    tables = [Order._meta.db_table, OrderLine._meta.db_table, Customer._meta.db_table]
    with connection.cursor() as cur:
        cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = ANY(%s)", [tables])
        return {name for (name,) in cur.fetchall()}


def order_indexes_restore() -> list[str]:
    """Create the declared indexes of the order tables that are missing; returns their names (PostgreSQL; a
    no-op elsewhere, where nothing is ever deferred)."""
    if connection.vendor != "postgresql":
        return []
    present = _present()
    missing = [(model, index) for model, index in _declared() if index.name not in present]
    if not missing:
        return []
    with connection.cursor() as cur:
        if connection.in_atomic_block:  # CREATE INDEX refuses a table with foreign-key checks still pending
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cur.execute("SET maintenance_work_mem = '256MB'")
    try:
        with connection.schema_editor() as editor:
            for model, index in missing:
                editor.add_index(model, index)
    finally:
        with connection.cursor() as cur:
            cur.execute("RESET maintenance_work_mem")
            if connection.in_atomic_block:  # Django's foreign keys are INITIALLY DEFERRED: back to that
                cur.execute("SET CONSTRAINTS ALL DEFERRED")
    with connection.cursor() as cur:
        cur.execute(f"ANALYZE {Order._meta.db_table}, {OrderLine._meta.db_table}, {Customer._meta.db_table}")
    return [index.name for _model, index in missing]


def defer_worthwhile(file_bytes: int) -> bool:
    """Whether a file of `file_bytes` is large against the archive: PostgreSQL, and fewer orders stored (the
    planner's estimate, no count) than DEFER_SHARE of what the file brings."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cur:
        cur.execute(
            "SELECT GREATEST(reltuples, 0)::bigint FROM pg_class WHERE oid = %s::regclass", [Order._meta.db_table]
        )
        row = cur.fetchone()
    stored = int(row[0]) if row else 0
    return stored < DEFER_SHARE * (file_bytes / BYTES_PER_ORDER)


@contextmanager
def order_indexes_deferred(enabled: bool) -> Iterator[list[str]]:
    """Within the block the declared secondary indexes of the order tables are dropped (when `enabled`), and
    built again when it ends, however it ends. Yields the names of the deferred indexes (empty when not)."""
    order_indexes_restore()
    if not enabled or connection.vendor != "postgresql":
        yield []
        return
    names = [index.name for _model, index in _declared()]
    with connection.cursor() as cur:
        for name in names:
            cur.execute(f'DROP INDEX IF EXISTS "{name}"')
    try:
        yield names
    finally:
        order_indexes_restore()
