"""The kept counts of each source's messages by (purpose, status, reason): read, fold, check, rebuild.

`MessageTally` is written by database triggers only (migration 0008: every INSERT, UPDATE, DELETE and TRUNCATE
of messaging_message, whatever wrote it); this module reads it for pages, folds PostgreSQL's delta rows into one
total per key (the minute tick: `messages_tick`), and recounts the messages to check or rebuild it. A page that
shows how many messages a care activation or a campaign has per status reads a handful of tally rows here
instead of counting its messages (issue 22: ten million of them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from django.db import connection, transaction
from django.db.models import Sum

from huitouke.messaging.models import MessageTally

_KEYS = "source_type_id, source_id, purpose, status, reason"

#: how many delta rows one fold takes at most (the rest wait for the next minute)
FOLD_LIMIT = 200_000

_FOLD_SQL = f"""
WITH moved AS (
    DELETE FROM messaging_messagetally
    WHERE id IN (SELECT id FROM messaging_messagetally WHERE NOT folded ORDER BY id LIMIT %s)
    RETURNING {_KEYS}, n
), totals AS (
    INSERT INTO messaging_messagetally ({_KEYS}, n, folded)
    SELECT {_KEYS}, SUM(n), true FROM moved GROUP BY {_KEYS}
    ON CONFLICT ({_KEYS}) WHERE folded DO UPDATE SET n = messaging_messagetally.n + EXCLUDED.n
    RETURNING id, n
)
SELECT (SELECT COUNT(*) FROM moved), ARRAY(SELECT id FROM totals WHERE n = 0)
"""

_RECOUNT_SQL = f"SELECT {_KEYS}, COUNT(*) FROM messaging_message WHERE source_id IS NOT NULL GROUP BY {_KEYS}"


def source_counts(
    *, source_type_id: int, source_ids: Sequence[int], purposes: Sequence[str] = ()
) -> dict[int, dict[tuple[str, str], int]]:
    """{source id: {(status, reason): messages}} of these sources (of these purposes only, when given), from the
    kept tally: one query over a few rows per source, however many messages they have. Keys with no messages
    are left out."""
    ids = sorted({int(i) for i in source_ids})
    if not ids:
        return {}
    rows = MessageTally.objects.filter(source_type_id=source_type_id, source_id__in=ids)
    if purposes:
        rows = rows.filter(purpose__in=list(purposes))
    grouped = rows.order_by().values_list("source_id", "status", "reason").annotate(total=Sum("n"))
    out: dict[int, dict[tuple[str, str], int]] = defaultdict(dict)
    for source_id, status, reason, total in grouped:
        if total:
            out[int(source_id)][(str(status), str(reason or ""))] = int(total)
    return dict(out)


def tallies_fold(*, limit: int = FOLD_LIMIT) -> int:
    """Fold up to `limit` of PostgreSQL's delta rows, oldest first, into the one total per key, and drop totals
    that came to zero. Writers are not waited on (a delta written meanwhile waits for the next fold), and two
    folds at once take disjoint rows (the second skips what the first deleted). Returns the deltas folded;
    SQLite's triggers write the totals themselves, so there it only drops the zeros and returns 0."""
    if connection.vendor != "postgresql":
        MessageTally.objects.filter(folded=True, n=0).delete()
        return 0
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(_FOLD_SQL, [limit])
        moved, zero = cur.fetchone()
        if zero:
            cur.execute("DELETE FROM messaging_messagetally WHERE id = ANY(%s) AND folded AND n = 0", [list(zero)])
    return int(moved)


def kept_counts() -> dict[tuple[int, int, str, str, str], int]:
    """Every key's kept count, deltas included: {(source type, source id, purpose, status, reason): n}, zeros
    left out."""
    rows = (
        MessageTally.objects.order_by()
        .values_list("source_type_id", "source_id", "purpose", "status", "reason")
        .annotate(total=Sum("n"))
    )
    return {(int(t), int(s), str(p), str(st), str(r or "")): int(n) for t, s, p, st, r, n in rows if n}


def recounted() -> dict[tuple[int, int, str, str, str], int]:
    """The same counts from the messages themselves (a full GROUP BY: for checks, never for a page)."""
    with connection.cursor() as cur:
        cur.execute(_RECOUNT_SQL)
        return {(int(t), int(s), str(p), str(st), str(r or "")): int(n) for t, s, p, st, r, n in cur.fetchall()}


def tallies_check() -> dict[tuple[int, int, str, str, str], tuple[int, int]]:
    """The keys whose kept count differs from a recount: {key: (kept, recounted)}; empty when they agree."""
    kept, actual = kept_counts(), recounted()
    return {
        k: (kept.get(k, 0), actual.get(k, 0)) for k in set(kept) | set(actual) if kept.get(k, 0) != actual.get(k, 0)
    }


def tallies_rebuild() -> int:
    """Count every source's messages again and replace the tally with the result (a repair; writers wait on
    PostgreSQL meanwhile). Returns the keys written."""
    with transaction.atomic(), connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("LOCK TABLE messaging_message IN SHARE ROW EXCLUSIVE MODE")
        cur.execute("DELETE FROM messaging_messagetally")
        cur.execute(
            f"INSERT INTO messaging_messagetally ({_KEYS}, n, folded) "
            f"SELECT {_KEYS}, COUNT(*), %s FROM messaging_message WHERE source_id IS NOT NULL GROUP BY {_KEYS}",
            [True],
        )
        return int(cur.rowcount)
