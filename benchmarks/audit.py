"""Audit trail benchmark (PostgreSQL): the owners' audit page and `GET /api/v1/audit` over a large trail, and the
nightly retention prune.

    DATABASE_URL=postgres://…/htk_audit_bench .venv/bin/python benchmarks/audit.py [--entries 1000000] [--reuse]

Builds (unless --reuse finds them) N audit entries spread over three years (20 staff, the usual mix of actions,
customer targets) with one INSERT … SELECT over generate_series, analyses the table, then times through Django's
test client, 20 requests each after a warm-up:
  - the audit page unfiltered, by person, by object (customer + id), by action and a 7-day range;
  - the API with the same filters;
  - as the reference for what any page costs on this machine, the API tokens page (same layout and checks).
Then `audit_prune(days=730)` (the third year's entries go) next to a raw DELETE of the same rows measured in the
same run. Targets: every page/API p95 <= 300 ms at 1,000,000 entries. The default --entries is 100,000 (the
shared CI machine); the full run needs ~1.5 GB of disk and a few minutes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import django_setup_postgres, percentile

TARGET_MS = 300.0
BENCH = "bench-"  # actor names of the generated entries
ACTIONS = ["unmask", "unmask", "unmask", "search", "export", "login", "login", "logout", "merge", "policy"]


def _build(n: int) -> None:
    from django.db import connection

    actions = "ARRAY[" + ",".join(f"'{a}'" for a in ACTIONS) + "]"
    with connection.cursor() as cur:
        cur.execute("DELETE FROM core_auditentry WHERE actor_name LIKE %s", [BENCH + "%"])
        cur.execute(
            "INSERT INTO core_auditentry (actor_name, action, target_type, target_id, detail, ip, outcome, created_at)"
            f" SELECT %s || (g %% 20), ({actions})[1 + g %% {len(ACTIONS)}], 'customer', (g %% 200000)::text,"
            " jsonb_build_object('page', 'detail'), '10.0.' || (g %% 250) || '.1', 'success',"
            " now() - (g::float / %s) * interval '1095 days'"
            " FROM generate_series(1, %s) g",
            [BENCH, n, n],
        )
        cur.execute("VACUUM ANALYZE core_auditentry")  # the steady state autovacuum keeps


def _time(client: object, url: str, params: dict[str, str]) -> tuple[float, float, int]:
    client.get(url, params)  # type: ignore[attr-defined]
    times = []
    status = 0
    for _ in range(20):
        started = time.perf_counter()
        response = client.get(url, params)  # type: ignore[attr-defined]
        times.append((time.perf_counter() - started) * 1000)
        status = response.status_code
    return statistics.median(times), percentile(times, 95), status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=100_000, help="audit entries to build (full: 1000000)")
    parser.add_argument("--reuse", action="store_true", help="keep the entries of an earlier run")
    args = parser.parse_args()
    if not 1_000 <= args.entries <= 5_000_000:
        sys.exit("--entries must be between 1,000 and 5,000,000")
    django_setup_postgres("audit.py", test_client=True)
    from django.contrib.auth.models import User
    from django.db import connection, transaction
    from django.test import Client
    from django.utils import timezone

    from huitouke.core.audit import audit_prune
    from huitouke.core.models import AuditEntry
    from huitouke.core.services import token_create, user_create

    have = AuditEntry.objects.filter(actor_name__startswith=BENCH).count()
    if not (args.reuse and have >= args.entries):
        started = time.perf_counter()
        _build(args.entries)
        print(f"built {args.entries:,} audit entries in {time.perf_counter() - started:.1f} s")
    owner = User.objects.filter(username="bench-owner").first() or user_create(
        username="bench-owner", role="owner", password="unused-bench-password", validate=False
    )
    page = Client()
    page.force_login(owner)
    _token, key = token_create(user=owner, name="bench")
    api = Client(headers={"Authorization": f"Bearer {key}"})
    week_to = timezone.localdate()
    week_from = week_to - timedelta(days=6)
    filters = {
        "unfiltered": {},
        "person": {"actor": f"{BENCH}7"},
        "object": {"target_type": "customer", "target_id": "4242"},
        "action + 7 days": {"action": "merge", "date_from": str(week_from), "date_to": str(week_to)},
    }
    _med, ref_p95, _status = _time(page, "/tokens/", {})
    print(f"reference: API tokens page p95 {ref_p95:.1f} ms")
    worst = 0.0
    for where, url in (("page", "/audit/"), ("API", "/api/v1/audit")):
        for name, params in filters.items():
            med, p95, status = _time(page if where == "page" else api, url, params)
            worst = max(worst, p95)
            ratio = p95 / ref_p95
            print(f"{where} {name}: median {med:.1f} ms, p95 {p95:.1f} ms ({ratio:.1f}× reference), status {status}")
    print(f"worst p95 {worst:.1f} ms (target <= {TARGET_MS:.0f} ms): {'OK' if worst <= TARGET_MS else 'TOO SLOW'}")

    cutoff = timezone.now() - timedelta(days=730)
    with transaction.atomic():
        with connection.cursor() as cur:
            started = time.perf_counter()
            cur.execute("DELETE FROM core_auditentry WHERE created_at < %s", [cutoff])
            ref_s, ref_rows = time.perf_counter() - started, cur.rowcount
        transaction.set_rollback(True)
    started = time.perf_counter()
    removed = audit_prune(days=730)
    prune_s = time.perf_counter() - started
    print(
        f"prune: audit_prune(days=730) removed {removed:,} entries in {prune_s:.2f} s; reference raw DELETE of"
        f" {ref_rows:,} rows {ref_s:.2f} s (ratio {prune_s / max(ref_s, 1e-9):.2f}×)"
    )


if __name__ == "__main__":
    main()
