"""Customer archive benchmark: search and the customer 360 page on a large demo database (PostgreSQL).

    DATABASE_URL=postgres://…/htk_bench .venv/bin/python benchmarks/customers.py [--customers 1000000]
        [--reuse] [--samples 200] [--explain]

Builds the demo shop with N customers (unless --reuse finds one), runs ANALYZE, then times ~200 samples of each
query the way the pages run it: the customer search (first page of 50 rows with the list annotations and
prefetches, plus the count) and GET /customers/<id>/ as a logged-in manager. Next to each figure it prints the
time of the bare SQL of the same statements (captured from Django, re-run on a raw cursor in the same run), so
the ratio shows the ORM/template overhead independently of the machine (for the searches it includes decrypting the
page's phones, emails, real names and addresses, which are encrypted at rest). Targets: search p95 <= 100 ms,
360 page p95 <= 150 ms. With --explain, EXPLAIN ANALYZE of the slowest statement of each query that misses its target.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SEARCH_TARGET_MS = 100.0
PAGE_TARGET_MS = 150.0


def _setup() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        sys.exit("benchmarks/customers.py needs DATABASE_URL=postgres://user@host/db (a database it may fill)")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huitouke.settings")
    # The test client's host; set before settings are read.
    hosts = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
    os.environ["DJANGO_ALLOWED_HOSTS"] = f"{hosts},testserver"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


class Sampler:
    """Times a Django-level operation and the bare SQL it sends, on the same inputs."""

    def __init__(self) -> None:
        from django.db import connection

        self.connection = connection
        self.orm: list[float] = []
        self.bare: list[float] = []
        self.statements: list[tuple[float, str]] = []  # (ms, sql) of single statements, for EXPLAIN
        self.notes: list[str] = []

    def sample(self, op: Callable[[], Any]) -> Any:
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(self.connection) as captured:
            result = op()  # warm-up run, captures the SQL
        sqls = [q["sql"] for q in captured.captured_queries]
        started = time.perf_counter()
        op()
        self.orm.append((time.perf_counter() - started) * 1000)
        raw: Any = self.connection.connection
        total = 0.0
        with raw.cursor() as cur:
            for sql in sqls:
                t = time.perf_counter()
                cur.execute(sql)
                if cur.description is not None:
                    cur.fetchall()
                ms = (time.perf_counter() - t) * 1000
                total += ms
                self.statements.append((ms, sql))
        self.bare.append(total)
        return result


def _samples(n: int) -> list[dict[str, Any]]:
    """n customers picked at random (fixed seed), with a full phone where possible."""
    from django.db.models import Max, Min

    from huitouke.customers.models import Customer, CustomerIdentity

    bounds = Customer.objects.aggregate(lo=Min("id"), hi=Max("id"))
    rng = random.Random(2024)
    ids = rng.sample(range(bounds["lo"], bounds["hi"] + 1), min(n * 4, bounds["hi"] - bounds["lo"] + 1))
    rows: list[dict[str, Any]] = [
        dict(r) for r in Customer.objects.filter(id__in=ids).values("id", "name", "phone", "email", "real_name")
    ]
    handles = dict(CustomerIdentity.objects.filter(customer_id__in=ids).values_list("customer_id", "handle"))
    for row in rows:
        row["handle"] = handles.get(row["id"], "")
    rng.shuffle(rows)
    return rows


def _name_prefix(name: str) -> str:
    """Surname plus the first character of the given name (王秀); for Latin names, first name and initial."""
    if " " in name:
        first, last = name.split(" ", 1)
        return f"{first} {last[:1]}"
    return name[:2]


def _search_op(q: str, contact_prefix: bool = True) -> Callable[[], Any]:
    """The list page's search; `contact_prefix` False is the search of an agent or marketer (phone and email by
    the whole value or the last 4 digits only)."""
    from django.conf import settings

    from huitouke.customers.selectors import CustomerFilter, customer_count, customer_list, customer_list_rows

    def op() -> tuple[int, int]:
        filters = CustomerFilter(search=q, contact_prefix=contact_prefix)
        rows = list(customer_list_rows(customer_list(filters=filters))[: settings.HUITOUKE_PAGE_SIZE])
        return len(rows), customer_count(filters=filters)

    return op


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="reuse an existing demo database")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the slowest statement of misses")
    args = parser.parse_args()
    _setup()

    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client

    from benchmarks.common import demo_build_or_reuse
    from huitouke.core.roles import MANAGER

    n = demo_build_or_reuse(args.customers, args.reuse)
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    picked = _samples(args.samples)
    full_phones = [r for r in picked if re.fullmatch(r"1\d{10}", r["phone"] or "")]
    k = args.samples

    def cycle(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [rows[i % len(rows)] for i in range(k)] if rows else []

    def handle_prefix(h: str) -> str:
        return h[:4] if h.isascii() else h[:3]

    masked = False  # an agent's or marketer's search: no prefix on contact data
    cases: list[tuple[str, list[str], bool]] = [
        # phone, email and real name are encrypted at rest (core.pii_crypto): found by keyed digest, whole values
        # (or a phone's last 4 digits) only, for every role
        ("search phone (full)", [r["phone"] for r in cycle(full_phones)], True),
        ("search email (full)", [r["email"] for r in cycle([r for r in picked if r["email"]])], True),
        ("search real name (full)", [r["real_name"] for r in cycle([r for r in picked if r["real_name"]])], True),
        ("search phone (full, agent)", [r["phone"] for r in cycle(full_phones)], masked),
        ("search phone (last 4, agent)", [r["phone"][-4:] for r in cycle(full_phones)], masked),
        ("search handle prefix", [handle_prefix(r["handle"]) for r in cycle(picked) if r["handle"]], True),
        ("search handle prefix (agent)", [handle_prefix(r["handle"]) for r in cycle(picked) if r["handle"]], masked),
        ("search name (full)", [r["name"] for r in cycle(picked)], True),
        ("search name (surname+1)", [_name_prefix(r["name"]) for r in cycle(picked)], True),
    ]
    results: list[tuple[str, Sampler, float, str]] = []
    for label, queries, contact_prefix in cases:
        sampler = Sampler()
        hits = []
        for q in queries:
            _shown, count = sampler.sample(_search_op(q, contact_prefix))
            hits.append(count)
        slowest = max(range(len(queries)), key=lambda i: sampler.orm[i])
        sampler.notes.append(
            f"matches p50 {_pct(hits, 50):.0f}, max {max(hits)}; slowest {queries[slowest]!r} ({hits[slowest]} matches)"
        )
        results.append((label, sampler, SEARCH_TARGET_MS, ", ".join(sampler.notes)))
        print(f"  {label}: done", file=sys.stderr)

    manager = User.objects.filter(username=MANAGER).first()
    client = Client()
    if manager is not None:
        client.force_login(manager)
    first = picked[0]["id"]
    probe = client.get(f"/customers/{first}/")
    if probe.status_code != 200:
        print(f"customer 360 page: GET /customers/{first}/ answered {probe.status_code}; not measured")
    else:
        sampler = Sampler()
        for row in cycle(picked):

            def page(pk: int = row["id"]) -> None:
                response = client.get(f"/customers/{pk}/")
                if response.status_code != 200:
                    raise RuntimeError(f"/customers/{pk}/ answered {response.status_code}")

            sampler.sample(page)
        results.append(("customer 360 page", sampler, PAGE_TARGET_MS, "GET as manager, rendered"))

    print()
    print(f"customers: {n}, samples per query: {k}, PostgreSQL {connection.pg_version}")  # type: ignore[attr-defined]
    header = (
        f"{'query':<30} | {'p50 ms':>7} | {'p95 ms':>7} | {'bare SQL p50':>12} | {'bare SQL p95':>12} "
        f"| {'ratio':>5} | target"
    )
    print(header)
    print("-" * len(header))
    misses = []
    for label, s, target, note in results:
        p50, p95 = _pct(s.orm, 50), _pct(s.orm, 95)
        b50, b95 = _pct(s.bare, 50), _pct(s.bare, 95)
        ok = "ok" if p95 <= target else f"MISS (p95 > {target:.0f})"
        if p95 > target:
            misses.append((label, s))
        print(f"{label:<30} | {p50:7.1f} | {p95:7.1f} | {b50:12.1f} | {b95:12.1f} | {p50 / b50:5.2f} | {ok}  {note}")
    if args.explain:
        for label, s in misses:
            ms, sql = max(s.statements)
            print(f"\n{label}: slowest statement ({ms:.1f} ms):\n{sql}\n")
            with connection.connection.cursor() as cur:  # type: ignore[union-attr]
                cur.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
                print("\n".join(r[0] for r in cur.fetchall()))


if __name__ == "__main__":
    main()
