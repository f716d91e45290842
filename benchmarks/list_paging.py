"""Deep pages and counts of the send records list, and the inline export limit, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python benchmarks/list_paging.py [--messages N]

Fills the message table with N webhook records (no customers needed; kept with --reuse when there are enough), then
times, 20 samples each and side by side in the same run:

- a deep page (page 2,000 of 50: 100,000 rows in) read with OFFSET (the reference) and read on from the last row
  of the page before (core.keyset, what "Next" does now);
- the exact count of the whole list (the reference) and core.counting.list_count ("about N");
- an inline export of HUITOUKE_INLINE_EXPORT rows (20,000) to CSV against reading the same rows on a raw cursor.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from collections.abc import Callable
from itertools import islice

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import django_setup_postgres, percentile

PAGE, DEPTH, SAMPLES = 50, 2000, 20


def timed(fn: Callable[[], object], samples: int = SAMPLES) -> tuple[float, float]:
    """p50 and p95 of `fn` in milliseconds (one warm-up call first)."""
    fn()
    runs = []
    for _ in range(samples):
        started = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - started) * 1000)
    return percentile(runs, 50), percentile(runs, 95)


def fill(n: int) -> None:
    from django.db import connection

    from huitouke.messaging.models import Message

    have = Message.objects.count()
    if have >= n:
        print(f"reusing {have} messages")
        return
    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(
            f"""
            INSERT INTO {Message._meta.db_table} (channel, purpose, priority, source_kind, language, params, subject,
                body, to_address, scheduled_at, status, reason, detail, attempts, next_attempt_at, claimed_by,
                provider_message_id, idempotency_key, resends, created_at, updated_at)
            SELECT 'webhook', 'service', 2, 'manual', '', '{{}}', '', '订单已发货 #' || g, 'https://hooks.example/x',
                t, CASE WHEN g %% 10 = 0 THEN 'failed' ELSE 'sent' END, '', '', 1, t, '', '', 'bench-' || g, 0, t, t
            FROM generate_series(%s, %s) g, LATERAL (SELECT now() - (g || ' seconds')::interval AS t) s""",
            [have + 1, n],
        )
    with connection.cursor() as cur:
        cur.execute(f"ANALYZE {Message._meta.db_table}")
    print(f"filled {n - have} messages in {time.perf_counter() - started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    args = parser.parse_args()
    django_setup_postgres("list_paging.py")
    from django.core.management import call_command
    from django.db import connection

    from huitouke.core.counting import list_count
    from huitouke.core.exports import write_csv
    from huitouke.core.keyset import rows_after
    from huitouke.core.pii import Masker
    from huitouke.messaging.exports import MESSAGES
    from huitouke.messaging.selectors import MessageFilter, message_list

    call_command("migrate", verbosity=0)
    fill(args.messages)
    print(f"load average {os.getloadavg()[0]:.2f}; {SAMPLES} samples each, ms p50 / p95")

    qs = message_list(filters=MessageFilter())
    start = (DEPTH - 1) * PAGE
    after = qs.values_list("pk", flat=True)[start - 1]
    offset_page = lambda: list(qs[start : start + PAGE + 1])  # noqa: E731
    keyset_page = lambda: list(rows_after(qs, after_id=after)[: PAGE + 1])  # type: ignore[index]  # noqa: E731
    assert [m.pk for m in offset_page()] == [m.pk for m in keyset_page()]
    ref, ks = timed(offset_page), timed(keyset_page)
    print(f"page {DEPTH} of {PAGE}, OFFSET (reference)   {ref[0]:8.1f} / {ref[1]:8.1f}")
    print(f"page {DEPTH} of {PAGE}, keyset              {ks[0]:8.1f} / {ks[1]:8.1f}   ratio {ks[0] / ref[0]:.3f}")
    failed = message_list(filters=MessageFilter(status="failed"))
    f_depth = DEPTH // 4  # one record in ten failed: a quarter as deep still reads through 250,000 records
    f_start = (f_depth - 1) * PAGE
    f_after = failed.values_list("pk", flat=True)[f_start - 1]
    ref_f = timed(lambda: list(failed[f_start : f_start + PAGE + 1]))
    ks_f = timed(lambda: list(rows_after(failed, after_id=f_after)[: PAGE + 1]))  # type: ignore[index]
    print(f"status=failed page {f_depth}, OFFSET (ref)   {ref_f[0]:8.1f} / {ref_f[1]:8.1f}")
    print(
        f"status=failed page {f_depth}, keyset         {ks_f[0]:8.1f} / {ks_f[1]:8.1f}   ratio {ks_f[0] / ref_f[0]:.3f}"
    )

    exact = timed(lambda: qs.count(), samples=5)
    about = timed(lambda: list_count(qs), samples=5)
    print(f"count, exact (reference)            {exact[0]:8.1f} / {exact[1]:8.1f}")
    shown = list_count(qs)
    label = f"count, list_count ({'exact' if shown.exact else 'about'} {shown.value})"
    print(f"{label:36s}{about[0]:8.1f} / {about[1]:8.1f}   ratio {about[0] / exact[0]:.3f}")

    limit = 20_000
    sql, params = qs[:limit].query.sql_with_params()

    def raw() -> None:
        with connection.cursor() as cur:
            cur.execute(sql, params)
            cur.fetchall()

    def export() -> None:  # what an inline export does, less the audit entry: rows, labels, masking, CSV
        rows = MESSAGES.rows(MessageFilter(), Masker(unmasked=False))
        write_csv(MESSAGES.headers(), islice(rows, limit), io.BytesIO())

    raw_t, exp_t = timed(raw, samples=3), timed(export, samples=3)
    print(f"{limit} rows, raw cursor (reference)  {raw_t[0]:8.1f} / {raw_t[1]:8.1f}")
    print(f"{limit} rows, CSV export            {exp_t[0]:8.1f} / {exp_t[1]:8.1f}   ratio {exp_t[0] / raw_t[0]:.2f}")


if __name__ == "__main__":
    main()
