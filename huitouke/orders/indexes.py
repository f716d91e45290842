"""Load first, index after: the order tables' secondary indexes are dropped for a large first import on
PostgreSQL and built once at the end, instead of being maintained row by row during the load.

Only indexes the models declare are deferred (`Order.Meta.indexes`, `OrderLine.Meta.indexes` and the customer
list's sort indexes `customer_sort_*`); the unique constraints the import matches on ((shop, order number),
(order, line number), (platform, handle)) and the customer search indexes stay. When the customer tables are
small against the file too (`customers_defer_worthwhile`: a first import into a new archive), every declared
index of `Customer` and `CustomerIdentity` is deferred as well: the import never reads by them, each new buyer's
row otherwise enters fourteen indexes, and the customer stats the import then writes rewrite each row again
(`orders_import_rows` refreshes them before the indexes are built, so that rewrite enters none). The order
tables' foreign keys (FOREIGN_KEYS) are dropped too and added back at the end, each validated over every row by
one join instead of a trigger per written row at every batch's commit.
`order_indexes_restore()` creates any declared index or key that is missing: at the end of the deferred import (also
when it fails), at the start of every import and in the nightly job, so an import killed half-way cannot leave
the archive without them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import IntegrityError, connection, transaction

from huitouke.customers.models import Customer, CustomerIdentity
from huitouke.orders.models import Order, OrderLine

log = logging.getLogger(__name__)

#: The customer list's sort indexes are deferred too (the import never reads by them).
CUSTOMER_DEFERRED_PREFIX = "customer_sort_"

#: Defer when the archive holds fewer orders than this share of the orders the file will bring.
DEFER_SHARE = 0.5
#: Bytes of an order export per order, at least (Taobao order + item report lines are longer): estimates the
#: orders a file brings from its size on the generous side.
BYTES_PER_ORDER = 400


def _declared(*, customers: bool = True) -> list[tuple[Any, Any]]:
    """The indexes this module may defer: the order tables' and the customer list's sort indexes, then (with
    `customers`) every other declared index of the customer tables."""
    orders = [(model, index) for model in (Order, OrderLine) for index in model._meta.indexes]
    sorts = [(Customer, i) for i in Customer._meta.indexes if i.name.startswith(CUSTOMER_DEFERRED_PREFIX)]
    if not customers:
        return orders + sorts
    rest = [(Customer, i) for i in Customer._meta.indexes if not i.name.startswith(CUSTOMER_DEFERRED_PREFIX)]
    return orders + sorts + rest + [(CustomerIdentity, i) for i in CustomerIdentity._meta.indexes]


#: The foreign keys a large first import drops with the indexes and adds back at the end: each checked row by
#: row at every batch's commit (a trigger per row: about a fifth of the load's database time), against one join
#: per key when it is added back to the filled table. The same constraints, validated over every row, afterwards.
FOREIGN_KEYS: tuple[tuple[Any, str], ...] = (
    (Order, "customer"),
    (Order, "shop"),
    (OrderLine, "order"),
    (OrderLine, "product"),
    (CustomerIdentity, "customer"),
)


def _foreign_keys() -> dict[tuple[str, str], str]:
    """The foreign-key constraints on the FOREIGN_KEYS columns: (table, column) → constraint name."""
    tables = sorted({model._meta.db_table for model, _name in FOREIGN_KEYS})
    with connection.cursor() as cur:
        cur.execute(
            """SELECT t.relname, a.attname, c.conname FROM pg_constraint c
            JOIN pg_class t ON t.oid = c.conrelid
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
            WHERE c.contype = 'f' AND cardinality(c.conkey) = 1 AND t.relname = ANY(%s)
            AND t.relnamespace = current_schema()::regnamespace""",
            [tables],
        )
        return {(table, column): name for table, column, name in cur.fetchall()}


def _missing_foreign_keys() -> list[tuple[Any, Any]]:
    present = _foreign_keys()
    fields = [(model, model._meta.get_field(name)) for model, name in FOREIGN_KEYS]
    return [(model, field) for model, field in fields if (model._meta.db_table, field.column) not in present]


def _present() -> set[str]:
    tables = [Order._meta.db_table, OrderLine._meta.db_table, Customer._meta.db_table, CustomerIdentity._meta.db_table]
    with connection.cursor() as cur:
        cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = ANY(%s)", [tables])
        return {name for (name,) in cur.fetchall()}


def order_indexes_restore(*, analyze: bool = True) -> list[str]:
    """Create the declared indexes of the order and customer tables that are missing; returns their names
    (PostgreSQL; a no-op elsewhere, where nothing is ever deferred). Then, with `analyze`, refresh the statistics
    of their tables (the deferred import's writer has refreshed those of the tables it filled: not again)."""
    if connection.vendor != "postgresql":
        return []
    present = _present()
    missing = [(model, index) for model, index in _declared() if index.name not in present]
    keys = _missing_foreign_keys()
    if not (missing or keys):
        return []
    with connection.cursor() as cur:
        if connection.in_atomic_block:  # CREATE INDEX refuses a table with foreign-key checks still pending
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cur.execute("SET maintenance_work_mem = '256MB'")
    try:
        with connection.schema_editor() as editor:
            for model, index in missing:
                editor.add_index(model, index)
            for model, field in keys:
                _foreign_key_add(editor, model, field)
    finally:
        with connection.cursor() as cur:
            cur.execute("RESET maintenance_work_mem")
            if connection.in_atomic_block:  # Django's foreign keys are INITIALLY DEFERRED: back to that
                cur.execute("SET CONSTRAINTS ALL DEFERRED")
    if analyze and missing:
        with connection.cursor() as cur:
            tables = {model._meta.db_table for model, _index in missing}
            cur.execute(f"ANALYZE {', '.join(sorted(tables))}")
    return [index.name for _model, index in missing] + [
        f"{model._meta.db_table}.{field.column} foreign key" for model, field in keys
    ]


def _foreign_key_add(editor: Any, model: Any, field: Any) -> None:
    """Add a foreign key as migrations name and define it (DEFERRABLE INITIALLY DEFERRED), validated as it is
    added: one join of the table with the one it points to. Should a row break it (a row written while it was
    away pointing to one deleted meanwhile), it is added NOT VALID instead, checking new rows only, and the
    breach is logged: the constraint is back for every later write, and no later import fails on that row."""
    sql = str(editor._create_fk_sql(model, field, "_fk_%(to_table)s_%(to_column)s"))
    try:
        with transaction.atomic():
            editor.execute(sql)
    except IntegrityError:
        log.error("rows of %s break %s: the foreign key is back NOT VALID", model._meta.db_table, field.column)
        editor.execute(f"{sql} NOT VALID")


def _estimated_rows(table: str) -> int:
    """The planner's estimate of a table's rows (no count)."""
    with connection.cursor() as cur:
        cur.execute("SELECT GREATEST(reltuples, 0)::bigint FROM pg_class WHERE oid = %s::regclass", [table])
        row = cur.fetchone()
    return int(row[0]) if row else 0


def defer_worthwhile(file_bytes: int) -> bool:
    """Whether a file of `file_bytes` is large against the archive: PostgreSQL, and fewer orders stored (the
    planner's estimate, no count) than DEFER_SHARE of what the file brings."""
    if connection.vendor != "postgresql":
        return False
    return _estimated_rows(Order._meta.db_table) < DEFER_SHARE * (file_bytes / BYTES_PER_ORDER)


def customers_defer_worthwhile(file_bytes: int) -> bool:
    """Whether the customer tables are small against a file of `file_bytes` too (fewer customers stored than
    DEFER_SHARE of the orders it brings, each a buyer at most), so that building their indexes once costs less
    than maintaining them for the file's new buyers. PostgreSQL only."""
    if connection.vendor != "postgresql":
        return False
    return _estimated_rows(Customer._meta.db_table) < DEFER_SHARE * (file_bytes / BYTES_PER_ORDER)


@contextmanager
def order_indexes_deferred(enabled: bool, *, customers: bool = False) -> Iterator[list[str]]:
    """Within the block the declared secondary indexes of the order tables and the customer list's sort indexes
    are dropped (when `enabled`; with `customers` too, every declared index of the customer tables), and so are
    the FOREIGN_KEYS; all are built again when it ends, however it ends (the keys validated over every row).
    Yields the names of the deferred indexes and keys (empty when not)."""
    order_indexes_restore()
    if not enabled or connection.vendor != "postgresql":
        yield []
        return
    names = [index.name for _model, index in _declared(customers=customers)]
    keys = _foreign_keys()
    with connection.cursor() as cur:
        if connection.in_atomic_block:  # ALTER TABLE refuses a table with foreign-key checks still pending
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for name in names:
            cur.execute(f'DROP INDEX IF EXISTS "{name}"')
        for model, field_name in FOREIGN_KEYS:
            table, column = model._meta.db_table, model._meta.get_field(field_name).column
            constraint = keys.get((table, column))
            if constraint is not None:
                cur.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{constraint}"')
                names.append(f"{table}.{column} foreign key")
        if connection.in_atomic_block:
            cur.execute("SET CONSTRAINTS ALL DEFERRED")
    try:
        yield names
    finally:
        order_indexes_restore(analyze=False)
