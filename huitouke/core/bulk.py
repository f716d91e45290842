"""Bulk writes for the paths that move hundreds of thousands of rows (imports, the demo shop).

`bulk_insert` uses PostgreSQL's COPY (psycopg 3, binary-safe `write_row`) and SQLite's executemany; both run
inside the caller's transaction. `ids_allocate` hands out primary keys up front so that parent and child rows
can be linked before anything is written: from the sequence on PostgreSQL (safe with concurrent writers), from
MAX(id) on SQLite (safe because SQLite has one writer and our transactions begin IMMEDIATE).

Hot paths build rows as tuples in a fixed column order (`TableWriter.insert_tuples`): the named values first, then
the constant defaults, with only the columns that need it adapted (datetimes on SQLite), so a row costs one tuple
concatenation instead of a Python loop over every field. Look-ups of thousands of keys use `values_in`: one
parameter (a PostgreSQL array, a SQLite JSON array) instead of chunked IN lists.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from django.db import connection, models
from django.db.models.expressions import RawSQL

from huitouke.core.pii_fields import EncryptedTextField

Row = Sequence[Any]


def _qn(name: str) -> str:
    return connection.ops.quote_name(name)


def bulk_insert(model: type[models.Model], columns: Sequence[str], rows: Iterable[Row]) -> int:
    """Insert `rows` (tuples in `columns` order, database values) into the model's table; returns the count."""
    table = _qn(model._meta.db_table)
    cols = ", ".join(_qn(c) for c in columns)
    n = 0
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            raw = cur.cursor  # the psycopg cursor behind Django's wrapper
            with raw.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    n += 1
        else:
            batch = list(rows)
            n = len(batch)
            if batch:
                marks = ", ".join(["%s"] * len(columns))
                cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", batch)
    return n


def ids_allocate(model: type[models.Model], count: int) -> list[int]:
    """`count` fresh primary keys for the model's table. Call inside the transaction that inserts them."""
    if count <= 0:
        return []
    table = model._meta.db_table
    pk = str(model._meta.pk.column)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # Draw the values server-side and ship only their range when they are consecutive (no concurrent
            # writer: the common case); the values themselves only when they are not.
            cur.execute(
                "SELECT MIN(v), MAX(v), CASE WHEN MAX(v) - MIN(v) + 1 = COUNT(*) THEN NULL ELSE array_agg(v) END"
                " FROM (SELECT nextval(pg_get_serial_sequence(%s, %s)) AS v FROM generate_series(1, %s)) s",
                [table, pk, count],
            )
            low, high, scattered = cur.fetchone()
            return list(range(low, high + 1)) if scattered is None else sorted(scattered)
        cur.execute(f"SELECT COALESCE(MAX({_qn(pk)}), 0) FROM {_qn(table)}")
        start = int(cur.fetchone()[0]) + 1
    return list(range(start, start + count))


def in_chunks(values: Sequence[Any], size: int = 900) -> Iterable[Sequence[Any]]:
    """Slices of at most `size` values (SQLite limits the parameters of one statement)."""
    for i in range(0, len(values), size):
        yield values[i : i + size]


def update_from_supported() -> bool:
    """Whether the database takes `UPDATE … FROM` (PostgreSQL; SQLite from 3.33), which the set-based import and
    stats paths need."""
    return connection.vendor == "postgresql" or (
        connection.vendor == "sqlite" and sqlite3.sqlite_version_info >= (3, 33)
    )


def values_in(values: Iterable[Any], sql_type: str = "text") -> RawSQL:
    """A subquery yielding `values`, for `field__in=values_in(...)`: one statement and one parameter whatever the
    count (a `sql_type` array on PostgreSQL, a JSON array on SQLite), so no chunking and no parameter limit."""
    if connection.vendor == "postgresql":
        return RawSQL(f"SELECT unnest(%s::{sql_type}[])", [list(values)])
    return RawSQL("SELECT value FROM json_each(%s)", [json.dumps(list(values), ensure_ascii=False)])


def keyed_ids(
    model: type[models.Model],
    column: str,
    values: Iterable[Any],
    *,
    scope: dict[str, Any],
    result: str = "id",
    sql_type: str = "text",
) -> dict[Any, Any]:
    """`{value: row's result column}` for the rows of `model` whose `column` is one of `values` and whose `scope`
    columns equal `scope`'s values, through a unique index on (scope columns…, column): the key look-ups of a
    write (orders by number, buyers by handle, products by key). On PostgreSQL through `keyed_rows`; elsewhere
    `column IN (values_in(…))`."""
    keys = list(values)
    if not keys:
        return {}
    if connection.vendor != "postgresql":
        return dict(
            model._default_manager.filter(**scope, **{f"{column}__in": values_in(keys)})
            .order_by()
            .values_list(column, result)
        )
    return dict(keyed_rows(model, column, keys, [result], scope=scope, sql_type=sql_type))


def keyed_rows(
    model: type[models.Model],
    column: str,
    values: Sequence[Any],
    columns: Sequence[str],
    *,
    scope: dict[str, Any] | None = None,
    sql_type: str = "text",
    lock: bool = False,
) -> list[tuple[Any, ...]]:
    """PostgreSQL: `(value, *columns)` of the rows of `model` whose `column` is one of `values` (and whose `scope`
    columns equal `scope`'s values), as the database stores them (no field conversion: a sealed value stays
    sealed), in the order of `values`; `lock`: each row locked FOR NO KEY UPDATE, in that order.

    Each value is one search of the index on (scope columns…, column), a subquery per array element that the
    planner cannot turn into a join, whatever the table's statistics say. As a join (`values_in`) or a filter
    (`= ANY(array)`) the plan follows statistics, and without them (a new database, autovacuum behind; the
    planner then takes `shop_id = 1` for 0.5 % of the rows) it reads every row of the shop for each batch."""
    if not values:
        return []

    def col(name: str) -> str:
        return _qn(str(cast(models.Field, model._meta.get_field(name)).column))

    where = "".join(f" AND t.{col(name)} = %s" for name in scope or {})
    picked = ", ".join(f"t.{col(name)}" for name in columns)
    sql = (
        f"SELECT k.v, {picked} FROM unnest(%s::{sql_type}[]) WITH ORDINALITY AS k(v, n) CROSS JOIN LATERAL"
        f" (SELECT * FROM {_qn(model._meta.db_table)} AS t WHERE t.{col(column)} = k.v{where}"
        f" OFFSET 0{' FOR NO KEY UPDATE' if lock else ''}) AS t ORDER BY k.n"
    )
    with connection.cursor() as cur:
        cur.execute(sql, [list(values), *(scope or {}).values()])
        return [tuple(row) for row in cur.fetchall()]


def _sqlite_datetime(value: datetime) -> str:
    # what SQLite's adapt_datetimefield_value stores (naive UTC, str()), without its per-call checks
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return str(value)


def _adapter(field: models.Field[Any, Any]) -> Callable[[Any], Any] | None:
    """How a Python value of this field becomes a database parameter for raw inserts (None: as it is).

    PostgreSQL (psycopg) takes aware datetimes, dates and Decimals as they are; SQLite stores datetimes as naive
    UTC text and dates as ISO text (Decimals go through the str adapter Django registers with sqlite3). Personal
    data is encrypted (`EncryptedTextField`)."""
    if isinstance(field, EncryptedTextField):
        return field.sealer()  # sealed (a value sealed already is left as it is)
    if connection.vendor == "postgresql":
        return None
    if isinstance(field, models.DateTimeField):
        return _sqlite_datetime
    if isinstance(field, models.DateField):
        return connection.ops.adapt_datefield_value
    return None


class TableWriter:
    """Turns dicts of field attnames into complete rows for `bulk_insert`: every concrete column, missing values
    from the field defaults (created_at/updated_at = now), values adapted for the database in use."""

    def __init__(self, model: type[models.Model], *, now: Any) -> None:
        fields = list(model._meta.concrete_fields)
        self.model = model
        self.columns = [str(f.column) for f in fields]
        self._names = [f.attname for f in fields]
        self._defaults: list[Any] = []
        for f in fields:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                self._defaults.append(now)
            else:
                self._defaults.append(f.get_default())  # "" for text without a default, None when nullable
        self._adapters = [_adapter(f) for f in fields]

    def row(self, values: dict[str, Any]) -> tuple[Any, ...]:
        out = []
        for name, default, adapt in zip(self._names, self._defaults, self._adapters, strict=True):
            v = values.get(name, default)
            out.append(adapt(v) if adapt is not None and v is not None else v)
        return tuple(out)

    def insert(self, records: Iterable[dict[str, Any]]) -> int:
        return bulk_insert(self.model, self.columns, (self.row(r) for r in records))

    def insert_tuples(self, names: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        """Insert rows given as tuples of the fields `names` (attnames, in that order); every other column gets
        its default. For the hot tables of an import: no dict and no per-field loop per row."""
        position = {n: i for i, n in enumerate(self._names)}
        unknown = [n for n in names if n not in position]
        if unknown:
            raise ValueError(f"{self.model.__name__} has no column {unknown[0]!r}")
        rest = [i for i, n in enumerate(self._names) if n not in set(names)]
        columns = [self.columns[position[n]] for n in names] + [self.columns[i] for i in rest]
        tail = tuple(self._adapted(i, self._defaults[i]) for i in rest)
        adapt_at = [(j, a) for j, n in enumerate(names) if (a := self._adapters[position[n]]) is not None]

        def shape(row: Sequence[Any]) -> tuple[Any, ...]:
            if not adapt_at:
                return (*row, *tail)
            out = list(row)
            for j, adapt in adapt_at:
                v = out[j]
                if v is not None:
                    out[j] = adapt(v)
            return (*out, *tail)

        return bulk_insert(self.model, columns, map(shape, rows))

    def _adapted(self, i: int, value: Any) -> Any:
        adapt = self._adapters[i]
        return adapt(value) if adapt is not None and value is not None else value
