"""Page-speed budget for the whole product: every page of the URL map, as each role, on the large demo (PostgreSQL).

    DATABASE_URL=postgres://…/htk_pages .venv/bin/python benchmarks/pages.py [--customers 1000000] [--reuse]
        [--samples 20] [--roles owner,manager,agent,marketer] [--only REGEX] [--history issue|demo]

Builds the demo shop with N customers and its history (orders, messages, care rules, campaigns, tickets, reviews
and visit tasks as the demo generator makes them) unless --reuse finds one, tops that history up to the issue's
sizes (10 M messages, 1 M tickets, 2 M reviews, 1 M visit tasks: benchmarks/history.py; `--history demo` keeps
the demo's own), brings the analytics rollups and stored figures up to date (what the import hook and the nightly
job keep), runs ANALYZE, then visits every page of `huitouke/urlmap.py` (each list with its common filters and a
deep page, each detail page with a sample object) as each role:

- cold: `--samples` visits, each on a new database connection with Django's cache cleared;
- warm: `--samples` visits in a row on one connection;
- bare SQL: the reads the page ran (captured from Django) re-run on a raw cursor, same count of samples;
- queries: how many statements the page ran.

Budget per page: warm p95 <= 300 ms, cold p95 <= 1000 ms, at most 30 queries. The report lists the pages over
budget first, then the rest by warm p95; pages a role may not open (403/405) are left out. Exit status 1 when a
page is over budget or answers 5xx.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import demo_build_or_reuse, django_setup_postgres, percentile

WARM_MS, COLD_MS, MAX_QUERIES = 300.0, 1000.0, 30


@dataclass
class Result:
    role: str
    label: str
    status: int
    queries: int
    cold: list[float]
    warm: list[float]
    bare: list[float]

    def p(self, values: list[float], q: float) -> float:
        return percentile(values, q) if values else 0.0

    @property
    def over(self) -> list[str]:
        why = []
        if self.status >= 500:
            why.append(f"status {self.status}")
        if self.p(self.warm, 95) > WARM_MS:
            why.append("warm")
        if self.p(self.cold, 95) > COLD_MS:
            why.append("cold")
        if self.queries > MAX_QUERIES:
            why.append("queries")
        return why


def _prepare() -> None:
    """Rollups and stored figures as the import hook and the nightly jobs leave them, fresh statistics."""
    from django.db import connection

    from huitouke.analytics.models import SalesDay
    from huitouke.analytics.rollups import rollups_rebuild
    from huitouke.analytics.snapshots import snapshots_refresh

    if not SalesDay.objects.exists():
        result = rollups_rebuild()
        print(f"rollups built in {result.seconds:.1f} s ({result.shop_days} shop days)")
    started = time.perf_counter()
    snapshots_refresh()
    print(f"stored figures (groups, product quality) in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cur:
        cur.execute("ANALYZE")


def _history() -> str:
    from django.apps import apps

    counts = []
    for label in (
        "orders.Order",
        "orders.OrderLine",
        "messaging.Message",
        "care.CareRule",
        "campaigns.Campaign",
        "service.Ticket",
        "reviews.Review",
        "visits.VisitTask",
    ):
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        counts.append(f"{label.split('.')[1]} {model._default_manager.count():,}")
    return ", ".join(counts)


def _time_page(client: Any, url: str, samples: int) -> tuple[int, int, list[float], list[float], list[float]]:
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cold: list[float] = []
    for _ in range(samples):
        connection.close()
        cache.clear()
        started = time.perf_counter()
        client.get(url)
        cold.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    sqls = [q["sql"] for q in captured.captured_queries]
    reads = _replayed(sqls)
    warm: list[float] = []
    for _ in range(samples):
        started = time.perf_counter()
        client.get(url)
        warm.append((time.perf_counter() - started) * 1000)
    bare: list[float] = []
    raw: Any = connection.connection
    for _ in range(samples):
        started = time.perf_counter()
        # one transaction, rolled back: the page's temporary tables (ON COMMIT DROP) live as long as on the page
        with raw.transaction(force_rollback=True), raw.cursor() as cur:
            for sql in reads:
                cur.execute(sql)
                if cur.description is not None:
                    cur.fetchall()
        bare.append((time.perf_counter() - started) * 1000)
    return response.status_code, len(sqls), cold, warm, bare


_TEMP_CREATE = re.compile(r"^\s*CREATE\s+TEMP(?:ORARY)?\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", re.IGNORECASE)
_TEMP_USE = re.compile(r"^\s*(?:ANALYZE|DROP\s+TABLE\s+IF\s+EXISTS)\s+([\w\s,]+?)\s*$", re.IGNORECASE)


def _replayed(sqls: list[str]) -> list[str]:
    """The statements of a page the bare-SQL figure re-runs: its reads, and the temporary tables they read (the
    review credit builds some), created, analysed and dropped as the page did. Writes are not re-run."""
    temp = {m.group(1).lower() for s in sqls if (m := _TEMP_CREATE.match(s))}

    def replayed(sql: str) -> bool:
        if sql.lstrip().upper().startswith(("SELECT", "WITH")) or _TEMP_CREATE.match(sql):
            return True
        use = _TEMP_USE.match(sql)
        return use is not None and {t.strip().lower() for t in use.group(1).split(",")} <= temp

    return [sql for sql in sqls if replayed(sql)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="reuse an existing demo database")
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--roles", default="owner,manager,agent,marketer")
    parser.add_argument("--only", default="", help="visit only pages whose label matches this regular expression")
    parser.add_argument(
        "--history",
        choices=("issue", "demo"),
        default="issue",
        help="issue: top the demo's messages, tickets, reviews and visit tasks up to the issue's sizes "
        "(benchmarks/history.py; 10 M, 1 M, 2 M, 1 M) before the crawl; demo: the demo's own history only",
    )
    args = parser.parse_args()
    django_setup_postgres("pages.py", test_client=True)

    from django.contrib.auth import get_user_model
    from django.test import Client

    from huitouke.demo.services import DEMO_LOGINS, demo_users_ensure
    from huitouke.urlmap import pages

    customers = demo_build_or_reuse(args.customers, args.reuse)
    demo_users_ensure()
    if args.history == "issue":
        from benchmarks.history import TARGETS, topup

        topup(TARGETS)
    _prepare()
    print(f"history: {_history()}")
    only = re.compile(args.only) if args.only else None
    results: list[Result] = []
    started = time.perf_counter()
    for role in [r.strip() for r in args.roles.split(",") if r.strip()]:
        login = next((x for x in DEMO_LOGINS if x.role == role), None)
        if login is None:
            sys.exit(f"no demo login for role {role!r}")
        client = Client(raise_request_exception=False)  # a 5xx is reported, not raised
        client.force_login(get_user_model().objects.get(username=login.username))
        for page in pages():
            if only and not only.search(page.label):
                continue
            if client.get(page.url).status_code in (403, 405):
                continue
            status, queries, cold, warm, bare = _time_page(client, page.url, args.samples)
            results.append(Result(role, page.label, status, queries, cold, warm, bare))
    results.sort(key=lambda r: (not r.over, -r.p(r.warm, 95)))
    over = [r for r in results if r.over]
    print(
        f"\n{len(results)} page visits ({customers:,} customers, {args.samples} samples each, "
        f"{time.perf_counter() - started:.0f} s); budget: warm p95 <= {WARM_MS:.0f} ms, cold p95 <= {COLD_MS:.0f} ms,"
        f" <= {MAX_QUERIES} queries; {len(over)} over budget"
    )
    header = (
        f"{'role':<9}{'page':<52}{'st':>4}{'q':>4}{'cold p50':>10}{'p95':>8}{'warm p50':>10}{'p95':>8}"
        f"{'bare SQL p50':>14}{'p95':>8}{'warm/bare':>10}  over"
    )
    print(header)
    for r in results:
        bare95 = r.p(r.bare, 95)
        ratio = f"{r.p(r.warm, 95) / bare95:.1f}x" if bare95 > 0 else "-"
        print(
            f"{r.role:<9}{r.label[:51]:<52}{r.status:>4}{r.queries:>4}{r.p(r.cold, 50):>10.1f}{r.p(r.cold, 95):>8.1f}"
            f"{r.p(r.warm, 50):>10.1f}{r.p(r.warm, 95):>8.1f}{r.p(r.bare, 50):>14.1f}{bare95:>8.1f}{ratio:>10}"
            f"  {','.join(r.over)}"
        )
    sys.exit(1 if over else 0)


if __name__ == "__main__":
    main()
