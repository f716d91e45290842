"""Re-encryption of the archive's personal data: `customers_reseal` (used by `huitouke pii-rekey` and by the
migration that encrypted the rows stored before encryption).

Row by row, in id order and batches (each its own transaction): every encrypted column is brought under the first
key (a token under an older key re-encrypted, clear text encrypted) and the search digests are recomputed under
the current hash key. Rows already right are not written, so running it twice writes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection, models, transaction

from huitouke.core.pii_crypto import PiiCipher

SEALED = ("real_name", "phone", "email", "address")
DIGESTS = ("phone_digest", "phone_last4_digest", "email_digest", "real_name_digest")
BATCH = 2000


@dataclass(frozen=True)
class ResealResult:
    examined: int
    rewritten: int


def _target(cipher: PiiCipher, row: tuple[Any, ...]) -> tuple[str, ...]:
    real_name, phone, email, _address = (cipher.open(v or "") for v in row[1:5])
    sealed = tuple(cipher.reseal(v or "") for v in row[1:5])
    return (*sealed, *cipher.digests(phone=phone, email=email, real_name=real_name))


def customers_reseal(
    *,
    model: type[models.Model],
    cipher: PiiCipher,
    batch: int = BATCH,
    progress: Callable[[int, int], None] | None = None,
) -> ResealResult:
    """Bring every customer row of `model` (the current or a migration's historical Customer) under `cipher`'s
    first key and hash key. `progress(examined, rewritten)` is called after each batch."""
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in (*SEALED, *DIGESTS))
    sets = ", ".join(f"{connection.ops.quote_name(c)} = %s" for c in (*SEALED, *DIGESTS))
    examined = rewritten = 0
    last = 0
    while True:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(f"SELECT id, {columns} FROM {table} WHERE id > %s ORDER BY id LIMIT %s", [last, batch])
            rows = cur.fetchall()
            if not rows:
                break
            changes = []
            for row in rows:
                target = _target(cipher, row)
                if target != tuple(v or "" for v in row[1:]):
                    changes.append([*target, row[0]])
            if changes:
                cur.executemany(f"UPDATE {table} SET {sets} WHERE id = %s", changes)
        examined += len(rows)
        rewritten += len(changes)
        last = rows[-1][0]
        if progress is not None:
            progress(examined, rewritten)
    return ResealResult(examined=examined, rewritten=rewritten)
