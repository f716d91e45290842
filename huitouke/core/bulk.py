"""Bulk writes for the paths that move hundreds of thousands of rows (imports, the demo shop).

`bulk_insert` uses PostgreSQL's COPY (psycopg 3, binary-safe `write_row`) and SQLite's executemany; both run
inside the caller's transaction. `ids_allocate` hands out primary keys up front so that parent and child rows
can be linked before anything is written: from the sequence on PostgreSQL (safe with concurrent writers), from
MAX(id) on SQLite (safe because SQLite has one writer and our transactions begin IMMEDIATE).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models

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
            cur.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, pk, count]
            )
            return [r[0] for r in cur.fetchall()]
        cur.execute(f"SELECT COALESCE(MAX({_qn(pk)}), 0) FROM {_qn(table)}")
        start = int(cur.fetchone()[0]) + 1
    return list(range(start, start + count))


def in_chunks(values: Sequence[Any], size: int = 900) -> Iterable[Sequence[Any]]:
    """Slices of at most `size` values (SQLite limits the parameters of one statement)."""
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _adapter(field: models.Field[Any, Any]) -> Any:
    """How a Python value of this field becomes a database parameter for raw inserts."""
    ops = connection.ops
    if isinstance(field, models.DateTimeField):
        return ops.adapt_datetimefield_value  # UTC on SQLite, aware datetime on PostgreSQL
    if isinstance(field, models.DateField):
        return ops.adapt_datefield_value
    if isinstance(field, models.DecimalField) and connection.vendor != "postgresql":
        return lambda v: ops.adapt_decimalfield_value(v, field.max_digits, field.decimal_places)
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
