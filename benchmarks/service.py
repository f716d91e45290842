"""Service desk benchmark: the ticket queues, the SLA tick and the platform refund import at scale (PostgreSQL).

    DATABASE_URL=postgres://…/db .venv/bin/python benchmarks/service.py [--scale 1.0] [--reuse] [--samples 100]
        [--explain]

Builds (unless --reuse finds it) 1,000,000 customers and 1,000,000 tickets of one shop, 200,000 of them open
(new, open, waiting for the customer or a third party; a third unassigned, the rest spread over 50 agents; 5 %
breaching soon; the clocks' due and warning instants spread around now so the tick has work), plus 100,000
orders with one line each for the import; all written with COPY, then VACUUM ANALYZE. `--scale 0.1` builds a tenth of
everything for a quick run.

Timed, each next to a reference measured in the same run:
  1. the queue page, the first page (50 rows) of "unassigned", "breaching soon" and "mine" through the API
     (GET /api/v1/tickets?queue=…, as an agent with a token: auth, the page's queries, serialisation), p50/p95
     over --samples requests, next to the bare SQL of the same statements on a raw cursor;
     target p95 <= 100 ms;
  2. `sla_tick` over the open tickets (the first run marks and records; a second one finds nothing new), next
     to a bare scan of the open tickets' clock columns; target <= 10 s;
  3. the after-sales import of a 100,000-row Taobao refund export (GB18030 CSV: new tickets, typed, statuses
     moved, refunds in the ledger) and its re-import (nothing changes), next to a raw COPY of the same file into
     an equivalent table.
With --explain, EXPLAIN ANALYZE of the slowest statement of a queue that misses its target.

Build only into a database of its own: it refuses one holding other shops' data.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: benchmarks.common from the repository's root
from benchmarks.common import django_setup_postgres, percentile  # noqa: E402

SHOP = "服务压测店"
QUEUE_TARGET_MS = 100.0
TICK_TARGET_S = 10.0
AGENTS = 50
REASONS = ["七天无理由退换货", "质量问题", "卖家发错货", "与商品描述不符", "未收到货", "退运费", "不想要了"]
STATUSES = ["买家已经申请退款，等待卖家同意"] * 4 + ["卖家已经同意退款，等待买家退货"] + ["退款成功"] * 4 + ["退款关闭"]


def _setup() -> None:
    django_setup_postgres("service.py", test_client=True)


def _timed(op: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = op()
    return time.perf_counter() - started, result


# --- building the dataset with COPY ----------------------------------------------------------------------------


def _copy(model: Any, rows: Iterable[dict[str, Any]]) -> int:
    """COPY `rows` (column values by field name; the rest take the field's default) into the model's table."""
    from django.db import connection
    from django.db.models import JSONField

    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    defaults: list[Any] = []
    for f in fields:
        value = f.get_default() if f.has_default() else ("" if f.empty_strings_allowed and not f.null else None)
        defaults.append(json.dumps(value) if isinstance(f, JSONField) else value)
    names = [f.attname for f in fields]
    n = 0
    raw: Any = connection.connection
    with raw.cursor() as cur, cur.copy(f"COPY {model._meta.db_table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row.get(name, d) for name, d in zip(names, defaults, strict=True)])
            n += 1
    return n


def _build(scale: float) -> None:
    from django.contrib.auth.models import User
    from django.db import connection, transaction

    from huitouke.core.services import user_create
    from huitouke.customers.models import Customer
    from huitouke.orders.models import Order, OrderLine, Shop
    from huitouke.service.models import ServiceSettings, SlaPolicy, Ticket

    if Shop.objects.exclude(name=SHOP).exists():
        sys.exit("this database holds other shops: point DATABASE_URL at a database of its own")
    n_customers, n_tickets = int(1_000_000 * scale), int(1_000_000 * scale)
    n_open, n_orders = int(200_000 * scale), int(100_000 * scale)
    rng = random.Random(2026)
    now = datetime.now().astimezone()
    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE customers_customer, orders_order, service_ticket, messaging_message RESTART IDENTITY CASCADE"
        )
    shop, _ = Shop.objects.get_or_create(name=SHOP, defaults={"platform": "taobao"})
    for i in range(AGENTS):
        if not User.objects.filter(username=f"agent{i:02d}").exists():
            user_create(username=f"agent{i:02d}", role="agent", password="bench-pass-123", validate=False)
    agents = list(User.objects.filter(username__startswith="agent").order_by("username").values_list("pk", flat=True))
    policy = SlaPolicy.objects.order_by("position", "id").first()
    started = time.perf_counter()
    with transaction.atomic():
        _copy(
            Customer,
            ({"created_at": now, "updated_at": now, "name": f"buyer{g}"} for g in range(1, n_customers + 1)),
        )
        with connection.cursor() as cur:
            cur.execute("SELECT MIN(id) FROM customers_customer")
            first = int(cur.fetchone()[0])
        print(f"  {n_customers:,} customers in {time.perf_counter() - started:.0f} s", flush=True)
        t = time.perf_counter()
        _copy(Ticket, _tickets(rng, now, n_tickets, n_open, first, n_customers, shop.pk, agents, policy))
        print(f"  {n_tickets:,} tickets ({n_open:,} open) in {time.perf_counter() - t:.0f} s", flush=True)
        ServiceSettings.objects.update_or_create(shop=shop, defaults={"last_number": n_tickets})
        t = time.perf_counter()
        _copy(
            Order,
            (
                {
                    "created_at": now,
                    "updated_at": now,
                    "shop_id": shop.pk,
                    "order_no": f"{3900000000000000000 + g}",
                    "customer_id": first + rng.randrange(n_customers),
                    "status": "completed",
                    "goods_amount": Decimal("88.00"),
                    "total_amount": Decimal("88.00"),
                    "paid_amount": Decimal("88.00"),
                    "ordered_at": now - timedelta(days=30, minutes=g),
                }
                for g in range(n_orders)
            ),
        )
        with connection.cursor() as cur:
            cur.execute("SELECT MIN(id) FROM orders_order")
            first_order = int(cur.fetchone()[0])
        _copy(
            OrderLine,
            (
                {
                    "order_id": first_order + g,
                    "line_no": 1,
                    "title": "西湖龙井",
                    "quantity": 1,
                    "unit_price": Decimal("88.00"),
                    "amount": Decimal("88.00"),
                }
                for g in range(n_orders)
            ),
        )
        print(f"  {n_orders:,} orders with a line in {time.perf_counter() - t:.0f} s", flush=True)
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")  # what autovacuum does to a settled table: visibility map and statistics
    print(f"built in {time.perf_counter() - started:.0f} s", flush=True)


def _tickets(
    rng: random.Random,
    now: datetime,
    n: int,
    n_open: int,
    first_customer: int,
    n_customers: int,
    shop_id: int,
    agents: list[int],
    policy: Any,
) -> Iterator[dict[str, Any]]:
    types = ["return", "refund", "quality", "logistics", "wrong_item", "not_as_described", "complaint", "inquiry"]
    open_statuses = ["new", "open", "open", "waiting_customer", "waiting_third_party"]
    for g in range(1, n + 1):
        is_open = g > n - n_open  # the newest tickets are the open ones
        created = now - timedelta(minutes=(n - g) * 1.05 + 1) if is_open else now - timedelta(days=14, minutes=(n - g))
        row: dict[str, Any] = {
            "created_at": created,
            "updated_at": created,
            "shop_id": shop_id,
            "number": g,
            "customer_id": first_customer + rng.randrange(n_customers),
            "type": types[g % len(types)],
            "channel": "wangwang",
            "priority": "normal",
            "subject": f"工单 {g}",
            "sla_policy_id": policy.pk if policy else None,
        }
        owner = None if g % 3 == 0 else agents[g % len(agents)]
        if is_open:
            status = open_statuses[g % len(open_statuses)]
            if status == "new":
                owner = None
            # due instants spread from 2 days ago to 3 days ahead; warned at 80 % of a 8-hour clock
            due = now + timedelta(minutes=rng.randrange(-2 * 1440, 3 * 1440))
            warn = due - timedelta(minutes=96)
            state = "breached" if due < now - timedelta(hours=1) else "breaching_soon" if g % 20 == 0 else "ok"
            row |= {
                "status": status,
                "owner_id": owner,
                "first_owner_id": owner,
                "first_owned_at": created if owner else None,
                "resolution_due": due if status != "waiting_customer" else None,
                "resolution_warn_at": warn if status != "waiting_customer" else None,
                "resolution_state": state,
                "sla_state": state,
                "sla_due": due if status != "waiting_customer" else None,
                "paused_at": created if status == "waiting_customer" else None,
            }
            if owner is None:
                row |= {"first_response_due": due, "first_response_warn_at": warn, "first_response_state": state}
            else:
                row |= {"first_responded_at": created + timedelta(minutes=20)}
        else:
            resolved = created + timedelta(hours=rng.randrange(1, 72))
            row |= {
                "status": "closed" if g % 4 == 0 else "resolved",
                "owner_id": owner,
                "first_owner_id": owner,
                "first_owned_at": created if owner else None,
                "first_responded_at": created + timedelta(minutes=rng.randrange(5, 600)),
                "resolved_at": resolved,
                "closed_at": resolved if g % 4 == 0 else None,
            }
        yield row


def _existing() -> tuple[int, int]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM customers_customer")
        customers = int(cur.fetchone()[0])
        cur.execute("SELECT COUNT(*) FROM service_ticket")
        tickets = int(cur.fetchone()[0])
    return customers, tickets


# --- the refund export ------------------------------------------------------------------------------------------


def _export(path: Path, n: int) -> None:
    """A Taobao refund export (GB18030, the seller centre's Chinese headers) for the first n bench orders."""
    rng = random.Random(7)
    with path.open("w", encoding="gb18030", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "退款编号",
                "订单编号",
                "子订单编号",
                "宝贝标题",
                "退款状态",
                "退款原因",
                "退款说明",
                "退款金额",
                "申请时间",
                "修改时间",
                "货物状态",
                "是否需要退货",
                "退货物流公司",
                "退货运单号",
            ]
        )
        base = datetime.now() - timedelta(days=20)
        for g in range(n):
            created = base + timedelta(seconds=g)
            w.writerow(
                [
                    f"{200000000000000000 + g}",
                    f"{3900000000000000000 + g}",
                    "",
                    "西湖龙井",
                    STATUSES[g % len(STATUSES)],
                    REASONS[rng.randrange(len(REASONS))],
                    "买家留言",
                    "88.00",
                    f"{created:%Y-%m-%d %H:%M:%S}",
                    f"{created + timedelta(hours=5):%Y-%m-%d %H:%M:%S}",
                    "买家已收到货",
                    "是",
                    "",
                    "",
                ]
            )


def _raw_copy(path: Path) -> float:
    """COPY the same file into an equivalent table (text ids, status, reason, amount, times): the floor."""
    from django.db import connection

    raw: Any = connection.connection
    with raw.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_refund_raw")
        cur.execute(
            "CREATE TABLE bench_refund_raw (refund_id varchar(64) UNIQUE, tid varchar(64), oid varchar(64),"
            " title text, status text, reason text, descr text, refund_fee numeric(12,2), created timestamptz,"
            " modified timestamptz, good_status text, has_good_return text, company_name text, sid text)"
        )
        raw.commit()
        started = time.perf_counter()
        with (
            path.open("rb") as fh,
            cur.copy("COPY bench_refund_raw FROM STDIN WITH (FORMAT csv, HEADER true, ENCODING 'GB18030')") as copy,
        ):
            while chunk := fh.read(1 << 20):
                copy.write(chunk)
        raw.commit()
        seconds = time.perf_counter() - started
        cur.execute("DROP TABLE bench_refund_raw")
        raw.commit()
    return seconds


# --- measuring --------------------------------------------------------------------------------------------------


class Sampler:
    """Times an operation and the bare SQL it sends, on the same inputs (the SQL captured on a warm-up run)."""

    def __init__(self) -> None:
        self.orm: list[float] = []
        self.bare: list[float] = []
        self.statements: list[tuple[float, str]] = []

    def sample(self, op: Callable[[], Any]) -> None:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            op()
        sqls = [q["sql"] for q in captured.captured_queries]
        started = time.perf_counter()
        op()
        self.orm.append((time.perf_counter() - started) * 1000)
        raw: Any = connection.connection
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


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full size (1,000,000 tickets)")
    parser.add_argument("--reuse", action="store_true", help="keep a dataset of the same size")
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument(
        "--only", choices=("all", "queues", "tick", "import"), default="all", help="measure only this part"
    )
    args = parser.parse_args()
    _setup()

    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from huitouke.core.services import token_create
    from huitouke.service.services import sla_tick
    from huitouke.service.services.aftersales_import import aftersales_import

    want = (int(1_000_000 * args.scale), int(1_000_000 * args.scale))
    have = _existing()
    if not (args.reuse and have[0] == want[0] and have[1] >= want[1]):
        print(f"building {want[0]:,} customers and {want[1]:,} tickets …", flush=True)
        _build(args.scale)
    else:
        print(f"reusing the dataset: {have[0]:,} customers, {have[1]:,} tickets")
    queues, tick, imports = (args.only in ("all", part) for part in ("queues", "tick", "import"))
    results: list[tuple[str, Sampler]] = []
    if queues:
        agent = User.objects.get(username="agent01")
        _token, key = token_create(user=agent, name="bench")
        client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
        for queue in ("unassigned", "breaching", "mine"):
            url = f"/api/v1/tickets?queue={queue}&page_size=50"
            probe = client.get(url)
            assert probe.status_code == 200, (url, probe.status_code, probe.content[:300])
            body = probe.json()
            sampler = Sampler()
            for _ in range(args.samples):

                def page(u: str = url) -> None:
                    response = client.get(u)
                    if response.status_code != 200:
                        raise RuntimeError(f"{u} answered {response.status_code}")

                sampler.sample(page)
            results.append((f"queue {queue} ({body['count']:,} match)", sampler))
            print(f"  queue {queue}: done", file=sys.stderr, flush=True)

    def bare_scan() -> int:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT count(*), max(first_response_warn_at), max(resolution_warn_at), max(next_response_warn_at)"
                " FROM service_ticket WHERE status IN ('new', 'open', 'waiting_customer', 'waiting_third_party')"
            )
            return int(cur.fetchone()[0])

    scan_s, n_open = _timed(bare_scan)
    print()
    print(
        f"tickets: {_existing()[1]:,} ({n_open:,} open), customers: {want[0]:,}, scale {args.scale}, "
        f"PostgreSQL {connection.pg_version}"  # type: ignore[attr-defined]
    )
    misses = []
    if queues:
        header = (
            f"{'queue page (API, first 50)':<36} | {'p50 ms':>7} | {'p95 ms':>7} | {'bare SQL p50':>12} | "
            f"{'bare SQL p95':>12} | target"
        )
        print(header)
        print("-" * len(header))
        for label, s in results:
            p50, p95 = percentile(s.orm, 50), percentile(s.orm, 95)
            ok = "ok" if p95 <= QUEUE_TARGET_MS else f"MISS (p95 > {QUEUE_TARGET_MS:.0f})"
            if p95 > QUEUE_TARGET_MS:
                misses.append((label, s))
            bare50, bare95 = percentile(s.bare, 50), percentile(s.bare, 95)
            print(f"{label:<36} | {p50:7.1f} | {p95:7.1f} | {bare50:12.1f} | {bare95:12.1f} | {ok}")
        print()
    if tick:
        at = timezone.now()
        tick1_s, tick1 = _timed(lambda: sla_tick(at=at))
        tick2_s, tick2 = _timed(lambda: sla_tick(at=at))
        verdict = "ok" if tick1_s <= TICK_TARGET_S else f"MISS (> {TICK_TARGET_S:.0f} s)"
        marked = sum(tick1.breached.values()) + sum(tick1.breaching_soon.values())
        print(
            f"sla_tick over {n_open:,} open tickets: {tick1_s:.2f} s ({marked:,} clocks marked, "
            f"{tick1.notifications:,} notifications) | again: {tick2_s:.2f} s "
            f"({sum(tick2.breached.values()) + sum(tick2.breaching_soon.values())} marked) | "
            f"bare scan of the open tickets: {scan_s:.2f} s | target <= {TICK_TARGET_S:.0f} s: {verdict}",
            flush=True,
        )
    if imports:
        rows = int(100_000 * args.scale)
        folder = Path(tempfile.mkdtemp(prefix="htk-service-bench-"))
        export = folder / "refunds.csv"
        _export(export, rows)
        raw_s = _raw_copy(export)
        import_s, first = _timed(lambda: aftersales_import(path=export, shop=SHOP))
        again_s, second = _timed(lambda: aftersales_import(path=export, shop=SHOP))
        shutil.rmtree(folder, ignore_errors=True)
        print(
            f"after-sales import of {rows:,} rows: {import_s:.1f} s ({rows / import_s:,.0f} rows/s) "
            f"{json.dumps(first.as_json(), ensure_ascii=False)} | re-import: {again_s:.1f} s "
            f"{json.dumps(second.as_json(), ensure_ascii=False)} | raw COPY of the same rows: {raw_s:.2f} s "
            f"(import = {import_s / raw_s:,.0f}x raw)"
        )
    if args.explain:
        for label, s in misses:
            ms, sql = max(s.statements)
            print(f"\n{label}: slowest statement ({ms:.1f} ms):\n{sql}\n")
            raw: Any = connection.connection
            with raw.cursor() as cur:
                cur.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
                print("\n".join(r[0] for r in cur.fetchall()))


if __name__ == "__main__":
    main()
