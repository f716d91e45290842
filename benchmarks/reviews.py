"""Reviews benchmark (PostgreSQL): the full credit recomputation of 2,000,000 reviews over 1,000,000 customers,
and the import of 200,000 review rows.

    DATABASE_URL=postgres://…/bench_db .venv/bin/python benchmarks/reviews.py [--scale 1.0] [--reuse]

Builds (unless --reuse finds it) one shop, 1,000,000 customers and 2,000,000 completed orders with one buyer
review each (a tenth neutral or bad, some buyers with several orders of one item in a month, a few orders not
completed), in SQL, then ANALYZE. `--scale` multiplies every count (0.01 for a quick run). Timed:
  1. reference: the bare aggregate of the same reviews on a raw cursor (points per buyer and month, joined to
     their orders) — what any credit computation must at least read;
  2. `credit_recompute` from a ledger never computed (every review written), then again (nothing changes, nothing
     written): on PostgreSQL the buyers whose ratings cannot interact in SQL, the others through the rules
     module; every 25th buyer here has several trades of one item in a fortnight and goes through the rules
     module. Target: <= 30 s at scale 1.
  3. reference: raw COPY of a 200,000-row review CSV into a temporary table;
  4. `reviews_import_rows` of the same file (parse, match orders, create), then again (all unchanged).
Build only into a database of its own: it refuses one holding other shops' data.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: benchmarks.common from the repository's root
from benchmarks.common import django_setup_postgres  # noqa: E402

TARGET_S = 30.0
SHOP = "评价基准店"


def _setup() -> None:
    django_setup_postgres("reviews.py")


def _build(customers: int, reviews: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from huitouke.orders.models import Shop

    if Shop.objects.exclude(name=SHOP).exists():
        sys.exit("the database holds other shops: build into a database of its own")
    started = time.perf_counter()
    with connection.cursor() as cur:
        # the bench database holds only this shop: every order and what hangs on it (lines, reviews, tickets)
        cur.execute("TRUNCATE orders_order CASCADE")
        cur.execute("TRUNCATE reviews_reviewcredit")  # the review ledger (no database foreign key to cascade)
        cur.execute("DELETE FROM customers_customer WHERE name LIKE 'rb%%'")
        cur.execute(
            "INSERT INTO orders_shop (created_at, updated_at, name, platform, timezone, currency, is_demo) "
            "VALUES (now(), now(), %s, 'taobao', 'Asia/Shanghai', 'CNY', false) ON CONFLICT (name) DO NOTHING",
            [SHOP],
        )
        cur.execute("SELECT id FROM orders_shop WHERE name = %s", [SHOP])
        shop_id = cur.fetchone()[0]
    from huitouke.customers.models import Customer

    for start in range(0, customers, 20_000):  # the model's defaults fill the columns
        Customer.objects.bulk_create(
            [Customer(name=f"rb{i}") for i in range(start, min(customers, start + 20_000))], batch_size=20_000
        )
    with connection.cursor() as cur:
        cur.execute("SELECT min(id) FROM customers_customer WHERE name LIKE 'rb%%'")
        first = cur.fetchone()[0]
        # order g: buyer g % customers, created over two years, completed (every 50th closed), item g % 5000;
        # every 25th buyer's orders fall on one day and are of one item (the same-item rule: rules module)
        cur.execute(
            """INSERT INTO orders_order (created_at, updated_at, shop_id, order_no, customer_id, status,
                   goods_amount, shipping_fee, total_amount, paid_amount, refund_amount, ordered_at, paid_at,
                   confirmed_at, logistics_company, tracking_no, gift, buyer_remark, seller_memo, receiver_name,
                   receiver_phone, receiver_address)
               SELECT now(), now(), %s, 'RB' || g, %s + (g %% %s),
                   CASE WHEN g %% 50 = 0 THEN 'closed' ELSE 'completed' END, 100, 0, 100, 100, 0,
                   timestamptz '2024-01-01' + d * interval '1 day' + (g %% 86400) * interval '1 second',
                   timestamptz '2024-01-01' + d * interval '1 day' + (g %% 86400) * interval '1 second',
                   timestamptz '2024-01-06' + d * interval '1 day',
                   '', '', '', '', '', '', '', ''
               FROM generate_series(1, %s) g, LATERAL (SELECT CASE WHEN (g %% %s) %% 25 = 0
                   THEN (g %% %s) %% 700 ELSE g %% 700 END AS d) x""",
            [shop_id, first, customers, reviews, customers, customers],
        )
        cur.execute(
            """INSERT INTO reviews_review (shop_id, order_id, customer_id, role, result, content, pictures,
                   created_at, anonymous, is_default, follow_up, reply, tid, oid, num_iid, item_title, nick,
                   updated_at)
               SELECT o.shop_id, o.id, o.customer_id, 'buyer',
                   CASE WHEN o.id %% 10 = 0 THEN 'bad' WHEN o.id %% 10 = 5 THEN 'neutral' ELSE 'good' END,
                   '', 0, o.ordered_at + interval '7 days', o.id %% 7 = 0, false, '', '', o.order_no, '',
                   'I' || CASE WHEN (o.customer_id - %s) %% 25 = 0 THEN o.customer_id %% 5000 ELSE o.id %% 5000 END,
                   '', '', now()
               FROM orders_order o WHERE o.shop_id = %s""",
            [first, shop_id],
        )
        cur.execute("ANALYZE customers_customer")
        cur.execute("ANALYZE orders_order")
        cur.execute("ANALYZE reviews_review")
    print(f"built {customers:,} customers, {reviews:,} orders and reviews in {time.perf_counter() - started:.1f} s")


def _timed(label: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    seconds = time.perf_counter() - started
    print(f"{label:<58} {seconds:8.2f} s")
    return seconds, result


def _aggregate(shop_id: int) -> int:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            """SELECT count(*) FROM (
                 SELECT r.customer_id, date_trunc('month', o.ordered_at) AS m,
                        sum(CASE r.result WHEN 'good' THEN 1 WHEN 'bad' THEN -1 ELSE 0 END) AS net
                 FROM reviews_review r JOIN orders_order o ON o.id = r.order_id
                 WHERE r.shop_id = %s GROUP BY 1, 2) t""",
            [shop_id],
        )
        return int(cur.fetchone()[0])


def _csv(path: Path, rows: int) -> None:
    from huitouke.orders.models import Order

    nos = Order.objects.filter(shop__name=SHOP).order_by("id").values_list("order_no", flat=True)[:rows]
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["tid", "oid", "role", "nick", "result", "created", "item_title", "num_iid", "content", "anony"])
        for i, no in enumerate(nos.iterator(chunk_size=20_000)):
            result = "bad" if i % 10 == 3 else "good"
            w.writerow([no, f"S{i}", "buyer", f"nick{i}", result, "2025-03-01 10:00:00", "围巾", "I1", "好", "否"])


def _copy(path: Path) -> int:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE copy_ref (tid text, oid text, role text, nick text, result text, created text, "
            "item_title text, num_iid text, content text, anony text)"
        )
        with path.open("rb") as fh, cur.copy("COPY copy_ref FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            while chunk := fh.read(1 << 20):
                copy.write(chunk)
        cur.execute("SELECT count(*) FROM copy_ref")
        n = int(cur.fetchone()[0])
        cur.execute("DROP TABLE copy_ref")
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every count (default 1.0)")
    parser.add_argument("--reuse", action="store_true", help="keep the data of an earlier run with the same scale")
    args = parser.parse_args()
    _setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from huitouke.orders.models import Shop
    from huitouke.reviews.importer import parse_reviews
    from huitouke.reviews.models import Review, ReviewCredit
    from huitouke.reviews.services import reviews_import_rows

    customers, reviews, imported = (max(1, int(n * args.scale)) for n in (1_000_000, 2_000_000, 200_000))
    shop = Shop.objects.filter(name=SHOP).first()
    if not (args.reuse and shop and Review.objects.filter(shop=shop, oid="").count() == reviews):
        _build(customers, reviews)
        shop = Shop.objects.get(name=SHOP)
    from huitouke.reviews.crediting import credit_recompute

    Review.objects.filter(shop=shop).exclude(oid="").delete()
    print(f"credit over {reviews:,} reviews of {customers:,} customers (scale {args.scale})")
    ref, groups = _timed("reference: bare aggregate (points per buyer and month)", _aggregate, shop.pk)
    ReviewCredit.objects.filter(review__shop=shop).delete()  # a ledger never computed
    from django.db import connection

    with connection.cursor() as cur:  # without the dead rows of that reset, as after a first import
        cur.execute("VACUUM ANALYZE reviews_review")
        cur.execute("VACUUM ANALYZE reviews_reviewcredit")
    full, totals = _timed("credit_recompute, first (every review's ledger written)", credit_recompute, shop=shop)
    print(
        f"  score {totals.score}, scored {totals.scored:,}, not scored {dict(totals.not_scored)}; "
        f"{totals.written:,} reviews written; {groups:,} groups"
    )
    again, same = _timed("credit_recompute, again (nothing changed)", credit_recompute, shop=shop)
    print(f"  {same.written:,} reviews written")
    target = TARGET_S * args.scale
    for label, seconds in (("first", full), ("again", again)):
        verdict = "OK" if seconds <= target else "MISSED"
        print(f"  {label}: ratio to the aggregate {seconds / ref:.1f}x; target <= {target:.1f} s: {verdict}")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "reviews.csv"
        _csv(path, imported)
        copy_s, n = _timed(f"reference: raw COPY of {imported:,} review rows", _copy, path)

        def run() -> object:
            parsed = parse_reviews(path, tz=shop.timezone)
            return reviews_import_rows(
                shop=shop, rows=parsed.rows, report_path=Path(tmp) / "errors.csv", columns=parsed.columns
            )

        first_s, first = _timed(f"reviews_import_rows of {n:,} rows (new)", run)
        again_s, again = _timed("the same file again (unchanged)", run)
        print(f"  new: {first.as_json()}; again: {again.as_json()}")  # type: ignore[attr-defined]
        print(f"  ratio to COPY: new {first_s / copy_s:.1f}x, again {again_s / copy_s:.1f}x")


if __name__ == "__main__":
    main()
