"""Member level benchmark: the set-based regrade of every customer on a large shop (PostgreSQL).

    DATABASE_URL=postgres://…/htk_levels .venv/bin/python benchmarks/levels.py [--customers 1000000]
        [--orders N (default 3 per customer)] [--reuse]

Builds (unless --reuse finds it) a shop with N customers and ~3N orders generated in SQL (INSERT … SELECT
generate_series; order counts per customer are Poisson-like, ~5 % closed and ~3 % fully refunded), defines 4
levels, runs ANALYZE, then times levels_regrade() over all customers: first with no memberships (everyone joins,
one history row each), then again (nothing changes). Next to it, measured in the same run, the bare aggregate the
regrade is built on (amount and order count per customer, on a raw cursor, fetching nothing), so the ratio shows
the cost of grading and writing independently of the machine. Target: 1M customers / 3M orders in <= 30 s.
Then what the levels page does at that size: simulate raised thresholds, save them (everyone graded afresh), the
first page of the at-risk list under a 12-month window, and with --export the XLSX export of every member.

Build only into a database of its own: it refuses one holding other shops' data.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHOP = "levels-bench"
TARGET_S = 30.0
TARGET_CUSTOMERS, TARGET_ORDERS = 1_000_000, 3_000_000


def _setup() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        sys.exit("benchmarks/levels.py needs DATABASE_URL=postgres://user@host/db (a database of its own)")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huitouke.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _timed(op: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = op()
    return time.perf_counter() - started, result


def _existing(shop_id: int | None) -> tuple[int, int]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM customers_customer")
        customers = int(cur.fetchone()[0])
        cur.execute("SELECT COUNT(*) FROM orders_order WHERE shop_id = %s", [shop_id or 0])
        orders = int(cur.fetchone()[0])
    return customers, orders


def _build(customers: int, orders: int) -> None:
    """Fill the (empty or bench-only) database with `customers` customers and `orders` orders of the bench shop."""
    from django.db import connection, transaction

    from huitouke.orders.models import Order, Shop

    if Shop.objects.exclude(name=SHOP).exists():
        sys.exit("this database holds other shops: point DATABASE_URL at a database of its own (e.g. htk_levels)")
    shop, _ = Shop.objects.get_or_create(name=SHOP, defaults={"platform": "taobao"})
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            # and every table referring to them (memberships and level history refer to customers without a key)
            "TRUNCATE customers_customer, orders_order, loyalty_membership, loyalty_levelchange"
            " RESTART IDENTITY CASCADE"
        )
        started = time.perf_counter()
        cur.execute(
            """
            INSERT INTO customers_customer (created_at, updated_at, name, real_name, gender, birthday_calendar,
                phone, email, province, city, district, address, pref_choice, pref_decision, pref_price,
                pref_knowledge, order_count, total_spent)
            SELECT now(), now(), 'buyer' || g, '', '', 'solar', '', '', '', '', '', '', '', '', '', '', 0, 0
            FROM generate_series(1, %s) g
            """,
            [customers],
        )
        cur.execute("SELECT MIN(id) FROM customers_customer")
        first = int(cur.fetchone()[0])
        cur.execute("SELECT setseed(0.2024)")
        cur.execute(
            """
            INSERT INTO orders_order (created_at, updated_at, order_no, status, goods_amount, shipping_fee,
                total_amount, paid_amount, refund_amount, ordered_at, logistics_company, tracking_no, gift,
                buyer_remark, seller_memo, receiver_name, receiver_phone, receiver_address, customer_id, shop_id)
            SELECT now(), now(), 'B' || g, r.status, r.paid, 0, r.paid, r.paid,
                   CASE WHEN r.refund THEN r.paid ELSE 0 END,
                   now() - (g %% 17520) * interval '1 hour', '', '', '', '', '', '', '', '',
                   %s + floor(random() * %s)::bigint, %s
            FROM generate_series(1, %s) g
            CROSS JOIN LATERAL (
                SELECT round((random() * 400)::numeric, 2) AS paid,
                       CASE WHEN random() < 0.05 THEN 'closed' ELSE %s END AS status,
                       random() < 0.03 AS refund
            ) r
            """,
            [first, customers, shop.pk, orders, Order.Status.COMPLETED.value],
        )
        print(f"built {customers} customers, {orders} orders in {time.perf_counter() - started:.0f} s")
    with connection.cursor() as cur:
        cur.execute("ANALYZE")


def dataset(customers: int, orders: int, *, reuse: bool) -> tuple[Any, bool]:
    """The benchmark shop with `customers` and `orders`: kept when `reuse` and the sizes match, else built afresh.
    Returns the shop and whether it was built (the care benchmark adds its own data then)."""
    from huitouke.orders.models import Shop

    shop = Shop.objects.filter(name=SHOP).first()
    have = _existing(shop.pk if shop else None)
    if reuse and have == (customers, orders):
        print(f"reusing the dataset: {have[0]} customers, {have[1]} orders")
        return shop, False
    _build(customers, orders)
    return Shop.objects.get(name=SHOP), True


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--customers", type=int, default=TARGET_CUSTOMERS)
    parser.add_argument("--orders", type=int, default=None, help="default: 3 per customer")
    parser.add_argument("--reuse", action="store_true", help="reuse the dataset when its sizes match")
    parser.add_argument("--export", action="store_true", help="also time the XLSX export of every member")
    args = parser.parse_args()
    orders = args.orders if args.orders is not None else 3 * args.customers
    _setup()

    from django.core.management import call_command
    from django.db import connection

    from huitouke.loyalty.exports import members_export
    from huitouke.loyalty.models import Level, LevelChange
    from huitouke.loyalty.selectors import level_distribution, levels_simulate, members_at_risk
    from huitouke.loyalty.services import LevelSpec, level_policy_set, levels_regrade, levels_set
    from huitouke.orders.models import Order

    call_command("migrate", verbosity=0)
    shop, _built = dataset(args.customers, orders, reuse=args.reuse)
    specs = [
        LevelSpec("普通会员", Decimal("0.01"), 1, 100),
        LevelSpec("高级会员", Decimal("500"), 3, 98),
        LevelSpec("VIP", Decimal("1200"), 5, 95),
        LevelSpec("至尊VIP", Decimal("2500"), 8, 90),
    ]
    level_policy_set(shop=shop)  # lifetime, never drop (the default)
    with connection.cursor() as cur:  # no memberships, no history: the first regrade grades everyone
        cur.execute("TRUNCATE loyalty_membership, loyalty_levelchange")
    if [(lv.min_amount, lv.min_orders) for lv in Level.objects.filter(shop=shop).order_by("rank")] != [
        (s.min_amount, s.min_orders) for s in specs
    ]:
        levels_set(shop=shop, specs=specs)  # (grades afresh, which the TRUNCATE below undoes)
    with connection.cursor() as cur:
        cur.execute("TRUNCATE loyalty_membership, loyalty_levelchange")
        cur.execute("VACUUM ANALYZE loyalty_membership")

    counted = ", ".join(f"'{s}'" for s in Order.COUNTED)
    bare_sql = (
        "SELECT count(*) FROM (SELECT customer_id, SUM(paid_amount - refund_amount), COUNT(*) FROM orders_order"
        f" WHERE shop_id = %s AND status IN ({counted}) GROUP BY customer_id) s"
    )
    raw: Any = connection.connection if connection.connection else connection.cursor().connection

    def bare() -> int:
        with raw.cursor() as cur:
            cur.execute(bare_sql, [shop.pk])
            return int(cur.fetchone()[0])

    load = os.getloadavg()
    bare1, groups = _timed(bare)
    first, held = _timed(levels_regrade)
    changes = LevelChange.objects.filter(shop=shop).count()
    distribution = level_distribution(shop_ids=[shop.pk])
    again, _ = _timed(levels_regrade)
    # the levels page: simulate raised thresholds, then save them (everyone graded afresh, moves both ways)
    raised = [LevelSpec(s.name, s.min_amount * 2, s.min_orders + 1, s.discount) for s in specs]
    simulate, sim = _timed(lambda: levels_simulate(shop=shop, specs=raised, window_months=None))
    afresh, _ = _timed(lambda: levels_set(shop=shop, specs=raised))
    moved = LevelChange.objects.filter(shop=shop, reason=LevelChange.Reason.LEVELS).count()
    # the at-risk list of a shop that counts 12 months and drops at review (its first page and the total)
    level_policy_set(shop=shop, window_months=12, downgrade="review", grace_days=30)
    risk, page = _timed(lambda: members_at_risk(shop=shop))
    level_policy_set(shop=shop)
    export = rss = 0.0
    if args.export:
        with tempfile.TemporaryDirectory() as tmp:
            export, exported = _timed(lambda: members_export(user=None, out=Path(tmp) / "members.xlsx", shop=shop))
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    bare2, _ = _timed(bare)
    reference = min(bare1, bare2)

    with connection.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM customers_customer")
        n_customers = int(cur.fetchone()[0])
        cur.execute("SELECT COUNT(*) FROM orders_order WHERE shop_id = %s", [shop.pk])
        n_orders = int(cur.fetchone()[0])
    full = n_customers >= TARGET_CUSTOMERS and n_orders >= TARGET_ORDERS
    print()
    print(
        f"customers: {n_customers}, orders: {n_orders}, customers with counted orders: {groups}, "
        f"PostgreSQL {connection.pg_version}, load average before the timings: {load[0]:.2f}"  # type: ignore[attr-defined]
    )
    print(f"first regrade: {held} memberships, {changes} history rows")
    print("distribution: " + ", ".join(f"{k} {v}" for k, v in distribution.items()))
    print(
        f"simulated raised thresholds: {sim.up} up, {sim.down} down, {sim.stay} stay; saving them moved {moved}; "
        f"at risk under a 12-month window: {page.count}"
    )
    header = f"{'measure':<44} | {'seconds':>8} | {'ratio':>6} | target"
    print(header)
    print("-" * len(header))
    print(f"{'bare aggregate, raw cursor (best of 2)':<44} | {reference:8.2f} | {1:6.2f} |")

    def line(label: str, seconds: float, target: str = "") -> None:
        print(f"{label:<44} | {seconds:8.2f} | {seconds / reference:6.2f} | {target}")

    def verdict(seconds: float) -> str:
        if not full:
            return f"<= {TARGET_S:.0f} s at 1M/3M: not measured at this size"
        return f"<= {TARGET_S:.0f} s at 1M/3M: {'PASS' if seconds <= TARGET_S else 'FAIL'}"

    line("levels_regrade() first (everyone joins)", first, verdict(first))
    line("levels_regrade() again (no changes)", again, verdict(again))
    line("levels_simulate() raised thresholds", simulate)
    line("levels_set() raised thresholds (afresh)", afresh)
    line("members_at_risk() first page and count", risk)
    if args.export:
        line(f"members_export() {exported} rows, peak {rss:.0f} MB", export)


if __name__ == "__main__":
    main()
