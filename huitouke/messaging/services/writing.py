"""Writing enqueued rows: thousands per statement, keys that exist add nothing — or, when asked to retry, a key
that failed or expired under another source (an earlier activation of a care rule) is queued again in place."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from django.db import connection

#: The columns enqueue writes, in this order (every NOT NULL column of Message except the primary key).
ENQUEUE_COLUMNS = (
    "idempotency_key",
    "customer_id",
    "shop_id",
    "channel",
    "purpose",
    "priority",
    "source_kind",
    "source_type_id",
    "source_id",
    "template_id",
    "language",
    "params",
    "subject",
    "body",
    "to_address",
    "scheduled_at",
    "deadline",
    "status",
    "reason",
    "detail",
    "attempts",
    "next_attempt_at",
    "resends",
    "claimed_by",
    "provider_message_id",
    "created_at",
    "updated_at",
)

#: named after its columns, so a connection that outlived a migration never reuses a stale one
_STAGE = "messaging_enqueue_" + hashlib.sha256(",".join(ENQUEUE_COLUMNS).encode()).hexdigest()[:10]

#: what a retry takes from the new row (the customer and the creation time stay the first attempt's)
_RETRY_TAKES = tuple(c for c in ENQUEUE_COLUMNS if c not in ("idempotency_key", "customer_id", "created_at"))
_RETRY_RESETS = {
    "attempts": "0",
    "resends": "messaging_message.resends + 1",
    "claimed_by": "''",
    "provider_message_id": "''",
    "lease_until": "NULL",
    "contacted_at": "NULL",
    "sent_at": "NULL",
    "delivered_at": "NULL",
}


def _on_conflict(retry: bool) -> str:
    """The conflict clause: DO NOTHING, or (retry) DO UPDATE of a row that failed or expired under another
    source — never of one that was sent, is waiting, or was suppressed, nor of one the same source wrote."""
    if not retry:
        return " ON CONFLICT (idempotency_key) DO NOTHING"
    distinct = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    sets = [f"{c} = excluded.{c}" for c in _RETRY_TAKES if c not in _RETRY_RESETS]
    sets += [f"{c} = {v}" for c, v in _RETRY_RESETS.items()]
    return (
        f" ON CONFLICT (idempotency_key) DO UPDATE SET {', '.join(sets)}"
        " WHERE messaging_message.status IN ('failed', 'expired')"
        f" AND (messaging_message.source_type_id {distinct} excluded.source_type_id"
        f" OR messaging_message.source_id {distinct} excluded.source_id)"
    )


def write_postgres(chunks: Iterator[list[tuple[Any, ...]]], retry: bool = False) -> int:
    cols = ", ".join(ENQUEUE_COLUMNS)
    with connection.cursor() as cur:
        # a session-local staging table (kept for the connection's life, emptied before each use): COPY cannot
        # skip duplicates, INSERT … SELECT … ON CONFLICT can
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} AS SELECT {cols} FROM messaging_message WITH NO DATA")
        cur.execute(f"TRUNCATE {_STAGE}")
        # one COPY per chunk: a chunk is prepared (templates, archive variables) before its COPY starts, since
        # no other statement may run on the connection while a COPY is open
        for chunk in chunks:
            with cur.cursor.copy(f"COPY {_STAGE} ({cols}) FROM STDIN") as copy:
                for row in chunk:
                    copy.write_row(row)
        # DO UPDATE may touch a row once per statement: a key given twice is written once
        pick = "DISTINCT ON (idempotency_key) " if retry else ""
        cur.execute(
            f"INSERT INTO messaging_message ({cols}) SELECT {pick}{cols} FROM {_STAGE}"
            + (" ORDER BY idempotency_key" if retry else "")
            + _on_conflict(retry)
        )
        added = cur.rowcount
        cur.execute(f"TRUNCATE {_STAGE}")
    return int(added)


def write_sqlite(chunks: Iterator[list[tuple[Any, ...]]], retry: bool = False) -> int:
    cols = ", ".join(ENQUEUE_COLUMNS)
    marks = ", ".join(["%s"] * len(ENQUEUE_COLUMNS))
    sql = f"INSERT INTO messaging_message ({cols}) VALUES ({marks})" + _on_conflict(retry)
    added = 0
    with connection.cursor() as cur:
        for chunk in chunks:
            cur.executemany(sql, chunk)
            # the rows this statement wrote (sqlite3_changes); the connection's total_changes would also count
            # what the tally triggers wrote
            added += max(int(cur.rowcount), 0)
    return added
