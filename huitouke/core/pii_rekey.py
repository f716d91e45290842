"""Re-encryption of a table's personal data, row by row (`table_reseal`): the loop behind `huitouke pii-rekey` and
the migrations that encrypted rows stored before encryption.

In id order and batches (each its own transaction): `target(row)` gives a row's wanted values (the encrypted
columns under the first key, digests under the current hash key); rows already right are not written, so running
it twice writes nothing the second time. Works on a migration's historical model as well as the current one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, models, transaction

BATCH = 2000


@dataclass(frozen=True)
class ResealResult:
    examined: int
    rewritten: int


def table_reseal(
    *,
    model: type[models.Model],
    columns: Sequence[str],
    target: Callable[[tuple[Any, ...]], tuple[Any, ...]],
    batch: int = BATCH,
    progress: Callable[[int, int], None] | None = None,
) -> ResealResult:
    """Rewrite `columns` of every row of `model` whose stored values differ from `target(values)` (the values as
    stored, in `columns` order, None read as ''). `progress(examined, rewritten)` after each batch."""
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    selected = ", ".join(qn(c) for c in columns)
    sets = ", ".join(f"{qn(c)} = %s" for c in columns)
    examined = rewritten = 0
    last = 0
    while True:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(f"SELECT id, {selected} FROM {table} WHERE id > %s ORDER BY id LIMIT %s", [last, batch])
            rows = cur.fetchall()
            if not rows:
                break
            changes = []
            for row in rows:
                stored = tuple(v or "" for v in row[1:])
                wanted = target(stored)
                if wanted != stored:
                    changes.append([*wanted, row[0]])
            if changes and connection.vendor == "postgresql":
                # one statement per batch: the changed rows joined from a VALUES list
                names = ", ".join(qn(c) for c in columns)
                values = ", ".join(["(" + ", ".join(["%s::text"] * len(columns)) + ", %s::bigint)"] * len(changes))
                cur.execute(
                    f"UPDATE {table} AS t SET {', '.join(f'{qn(c)} = v.{qn(c)}' for c in columns)}"
                    f" FROM (VALUES {values}) AS v({names}, id) WHERE t.id = v.id",
                    [p for change in changes for p in change],
                )
            elif changes:
                cur.executemany(f"UPDATE {table} SET {sets} WHERE id = %s", changes)
        examined += len(rows)
        rewritten += len(changes)
        last = rows[-1][0]
        if progress is not None:
            progress(examined, rewritten)
    return ResealResult(examined=examined, rewritten=rewritten)
