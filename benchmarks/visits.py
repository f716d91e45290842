"""Return-visit benchmark (PostgreSQL): a plan run over a million customers, and an agent's queue page with a
million tasks stored.

    DATABASE_URL=postgres://…/htk_visits_bench .venv/bin/python benchmarks/visits.py
        [--scale 1.0] [--reuse] [--requests 100]

--scale multiplies the sizes (1.0 = 1,000,000 customers and 1,000,000 stored tasks). The script migrates the
database, builds (unless --reuse finds them) the customers with COPY (core/bulk.py) and times:
  1. `visits_plan_run(at)` for one "every 60 days" plan over all customers, round-robin over 20 agents with a
     daily capacity: the customers whose 60-day period began in the last three days (the run's catch-up), about
     50,000 tasks at scale 1, created with one INSERT … SELECT; next to it, measured in the same run, a
     reference: a raw INSERT … SELECT of the same (customer, occasion) rows into a bare temporary table;
  2. a second run at the same instant: nothing is added (exactly once);
  3. with 1,000,000 tasks stored (over 200 agents, due over 60 days), one agent's queue page (`/visits/`, the
     whole request through Django's test client) --requests times (default 100): its p95; next to it, each
     request alternating with one of the queue's, the plans page (the same layout, session and permission checks,
     two rows) as the reference for what any page costs on this machine at that moment.
Targets: the plan run <= 20 s, the queue page p95 <= 100 ms.

Build only into a database of its own: it refuses one holding other shops' data.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: benchmarks.common from the repository's root
from benchmarks.common import django_setup_postgres  # noqa: E402

RUN_TARGET_S, PAGE_TARGET_MS = 20.0, 100.0
BENCH_SHOP = "visits-bench"


def _setup() -> None:
    django_setup_postgres("visits.py", test_client=True)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _customers(n: int) -> None:
    from django.db import transaction
    from django.utils import timezone

    from huitouke.core.bulk import TableWriter, ids_allocate
    from huitouke.customers.models import Customer

    have = Customer.objects.count()
    if have >= n:
        return
    started = time.perf_counter()
    writer = TableWriter(Customer, now=timezone.now())
    with transaction.atomic():
        ids = ids_allocate(Customer, n - have)
        writer.insert_tuples(["id", "name", "phone"], ((pk, f"顾客{pk}", f"138{pk:08d}") for pk in ids))
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ANALYZE customers_customer")
    print(f"built {n - have:,} customers in {time.perf_counter() - started:.1f} s")


def _agents(count: int) -> list[int]:
    from django.contrib.auth import get_user_model

    from huitouke.core.services import user_create

    users = get_user_model()
    ids = []
    for i in range(count):
        name = f"bench-agent-{i}"
        user = users.objects.filter(username=name).first() or user_create(
            username=name, role="agent", password="pass-word-123", validate=False
        )
        ids.append(user.pk)
    return ids


def _tasks(n: int, plan_id: int, agent_ids: list[int], customers: int, at: datetime) -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from huitouke.core.bulk import TableWriter, ids_allocate
    from huitouke.customers.models import Customer
    from huitouke.visits.models import VisitTask

    have = VisitTask.objects.filter(plan_id=plan_id).count()
    if have >= n:
        return
    started = time.perf_counter()
    writer = TableWriter(VisitTask, now=timezone.now())
    a = len(agent_ids)
    first = Customer.objects.order_by("pk").values_list("pk", flat=True).first() or 1
    rows = (
        (
            plan_id,
            first + i % customers,
            f"stored:{i}",
            agent_ids[i % a],
            at + timedelta(minutes=(i * 7) % (60 * 24 * 60) - 60 * 24 * 3),
            "due",
            "{}",
        )
        for i in range(have, n)
    )
    with transaction.atomic():
        ids = ids_allocate(VisitTask, n - have)
        writer.insert_tuples(
            ["id", "plan_id", "customer_id", "occasion", "assignee_id", "due_at", "status", "answers"],
            ((pk, *row) for pk, row in zip(ids, rows, strict=False)),
        )
    with connection.cursor() as cur:
        cur.execute("ANALYZE visits_visittask")
    print(f"stored {n - have:,} tasks in {time.perf_counter() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="size multiplier (1.0 = 1M customers, 1M tasks)")
    parser.add_argument("--reuse", action="store_true", help="keep the data of an earlier run")
    parser.add_argument("--requests", type=int, default=100, help="queue page requests timed (and as many reference)")
    args = parser.parse_args()
    if not 0 < args.scale <= 5:
        sys.exit("--scale must be in (0, 5]")
    if not 20 <= args.requests <= 10_000:
        sys.exit("--requests must be in [20, 10000]")
    _setup()
    from django.db import connection, transaction
    from django.test import Client

    from huitouke.orders.models import Shop
    from huitouke.visits import services
    from huitouke.visits.models import VisitPlan, VisitTask

    if Shop.objects.exclude(name=BENCH_SHOP).exists():
        sys.exit("this database holds other shops' data: give the benchmark a database of its own")
    n_customers = int(1_000_000 * args.scale)
    shop, _ = Shop.objects.get_or_create(name=BENCH_SHOP, defaults={"platform": "taobao"})
    _customers(n_customers)
    agents = _agents(20)
    if not args.reuse:
        VisitTask.objects.filter(plan__shop=shop).delete()
        VisitPlan.objects.filter(shop=shop).delete()
    plan = VisitPlan.objects.filter(shop=shop, name="every 60 days").first() or services.visit_plan_create(
        shop=shop, name="every 60 days", trigger="every_n_days", days=60, agent_ids=agents, daily_capacity=3000
    )
    at = datetime(2026, 5, 17, 2, 0, tzinfo=UTC)
    VisitTask.objects.filter(plan=plan).delete()

    with transaction.atomic():
        started = time.perf_counter()
        result = next((r for r in services.visits_plan_run(at=at) if r.plan_id == plan.pk), None)
        run_s = time.perf_counter() - started
    assert result is not None
    started = time.perf_counter()
    again = next(r for r in services.visits_plan_run(at=at) if r.plan_id == plan.pk)
    again_s = time.perf_counter() - started

    from huitouke.visits.schedule import epoch_day

    ed = epoch_day(at.date())
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE bench_ref (customer_id bigint, occasion text, due_at timestamptz) ON COMMIT DROP"
        )
        started = time.perf_counter()
        cur.execute(
            "INSERT INTO bench_ref SELECT c.id, 'every:' || ((%s + c.id %% 60) / 60), now() FROM customers_customer c"
            " WHERE c.merged_into_id IS NULL AND ((%s + c.id %% 60) %% 60) <= 2",
            [ed, ed],
        )
        ref_s = time.perf_counter() - started
        ref_rows = cur.rowcount
    print(
        f"plan run: created {result.created:,} tasks (skipped {result.skipped}) in {run_s:.2f} s;"
        f" reference raw INSERT … SELECT of {ref_rows:,} rows {ref_s:.2f} s (ratio {run_s / max(ref_s, 1e-9):.1f}×);"
        f" second run created {again.created} in {again_s:.2f} s"
    )
    print(f"plan run {run_s:.2f} s (target <= {RUN_TARGET_S:.0f} s): {'OK' if run_s <= RUN_TARGET_S else 'TOO SLOW'}")

    stored_plan = VisitPlan.objects.filter(shop=shop, name="stored").first() or services.visit_plan_create(
        shop=shop, name="stored", trigger="one_off", customer_ids=[1], assignment="pool", enabled=False
    )
    queue_agents = _agents(200)
    _tasks(int(1_000_000 * args.scale), stored_plan.pk, queue_agents, n_customers, datetime.now(UTC))
    client = Client()
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(pk=queue_agents[7]))
    client.get("/visits/")
    client.get("/visits/plans/")
    times, ref = [], []
    # Queue and reference requests alternate, so that both meet the same load on a shared machine.
    for _ in range(args.requests):
        started = time.perf_counter()
        response = client.get("/visits/")
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
        started = time.perf_counter()
        client.get("/visits/plans/")
        ref.append((time.perf_counter() - started) * 1000)
    p95 = statistics.quantiles(times, n=20)[18]
    ref_p95 = statistics.quantiles(ref, n=20)[18]
    print(
        f"reference: the plans page (base layout, two plans) p95 {ref_p95:.1f} ms; queue/reference {p95 / ref_p95:.2f}×"
    )
    rows = response.content.decode().count('id="task-')
    print(f"queue page: {rows} rows shown, median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms")
    verdict = "OK" if p95 <= PAGE_TARGET_MS else "TOO SLOW"
    print(f"queue page p95 {p95:.1f} ms (target <= {PAGE_TARGET_MS:.0f} ms): {verdict}")


if __name__ == "__main__":
    main()
