"""Segment benchmark: counting a five-condition segment over a large archive (PostgreSQL).

    DATABASE_URL=postgres://…/htk_segments .venv/bin/python benchmarks/segments.py [--customers 1000000] [--reuse]
        [--repeat 5]

Builds (unless --reuse finds it) N customers (province, birthday, spend, order count, last order), three tags on
~10 % of customers each, a new-products consent for ~30 %, 200 products in 10 categories and ~1.5 N orders with
one line each, all in SQL (INSERT … SELECT generate_series), then ANALYZE. It then counts, through the real
selector (`audiences.selectors.segment_count`), a segment of five conditions — spend range, province, tags (any),
bought a category within a year, in the new-products consent group — and, as the reference measured in the same
run, the same five conditions written by hand as one SQL COUNT with EXISTS subqueries on a raw cursor. Prints the
median of --repeat runs of each. Target: <= 2 s for 1,000,000 customers.

Then a campaign to a segment of half the customers (the first five provinces: 500,000 at 1M) with a 10 % holdout
is launched through the real service (`campaigns.services.campaign_launch`: recipients with their holdout draw,
then the treated customers' messages rendered and enqueued through messaging's bulk enqueue), timed, next to
the raw reference of the same run: a psycopg COPY of the same number of message rows into a plain copy of the
message table. Target: the 500,000-recipient launch in <= 60 s. The campaign's rows are removed afterwards.

Build only into a database of its own: it refuses one holding other data.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHOP = "segments-bench"
TARGET_S = 2.0
TARGET_CUSTOMERS = 1_000_000
TARGET_LAUNCH_S = 60.0
HALF = ["浙江省", "广东省", "江苏省", "上海", "北京"]

DEFINITION: dict[str, Any] = {
    "op": "and",
    "conditions": [
        {"field": "total_spent", "min": "200", "max": "3000"},
        {"field": "region", "provinces": ["浙江省", "广东省", "江苏省"]},
        {"field": "tags", "match": "any", "tags": ["vip", "老客"]},
        {"field": "bought", "categories": ["茶叶", "茶具"], "within_days": 365},
        {"field": "consent", "purpose": "new_products"},
    ],
}

REFERENCE_SQL = """
SELECT COUNT(*) FROM customers_customer c
WHERE c.merged_into_id IS NULL
  AND c.total_spent BETWEEN 200 AND 3000
  AND c.province IN ('浙江省', '广东省', '江苏省')
  AND EXISTS (SELECT 1 FROM customers_customertag ct JOIN customers_tag t ON t.id = ct.tag_id
              WHERE ct.customer_id = c.id AND t.name IN ('vip', '老客'))
  AND EXISTS (SELECT 1 FROM orders_orderline l JOIN orders_order o ON o.id = l.order_id
              JOIN orders_product p ON p.id = l.product_id
              WHERE o.customer_id = c.id AND o.status IN ('paid', 'shipped', 'delivered', 'completed')
                AND l.refund_state <> 'refunded' AND p.category IN ('茶叶', '茶具')
                AND o.ordered_at >= now() - interval '365 days')
  AND EXISTS (SELECT 1 FROM customers_consent k
              WHERE k.customer_id = c.id AND k.purpose = 'new_products' AND k.granted)
"""


def _setup() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        sys.exit("benchmarks/segments.py needs DATABASE_URL=postgres://user@host/db (a database of its own)")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huitouke.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _build(customers: int) -> None:
    from django.db import connection, transaction

    from huitouke.orders.models import Shop

    if Shop.objects.exclude(name=SHOP).exists():
        sys.exit("this database holds other shops: point DATABASE_URL at a database of its own (e.g. htk_segments)")
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("TRUNCATE customers_customer, customers_tag, orders_shop RESTART IDENTITY CASCADE")
        shop, _ = Shop.objects.get_or_create(name=SHOP, defaults={"platform": "taobao"})
        cur.execute("SELECT setseed(0.42)")
        cur.execute(
            """
            INSERT INTO customers_customer (created_at, updated_at, name, real_name, gender, birthday_calendar,
                birthday, phone, email, province, city, district, address, pref_choice, pref_decision, pref_price,
                pref_knowledge, order_count, total_spent, first_order_at, last_order_at)
            SELECT now(), now(), 'buyer' || g, '', '', 'solar', date '1970-01-01' + (g %% 15000),
                   '', '', (ARRAY['浙江省','广东省','江苏省','上海','北京','四川省','湖北省','山东省','福建省',
                                  '河南省'])[1 + g %% 10],
                   '', '', '', '', '', '', '', r.n, r.n * 120 + (g %% 97), now() - interval '900 days',
                   now() - (g %% 700) * interval '1 day'
            FROM generate_series(1, %s) g CROSS JOIN LATERAL (SELECT (g %% 9) AS n) r
            """,
            [customers],
        )
        cur.execute("INSERT INTO customers_tag (created_at, updated_at, name, color) VALUES "
                    "(now(), now(), 'vip', '#64748b'), (now(), now(), '老客', '#64748b'),"
                    " (now(), now(), '差评', '#64748b')")  # fmt: skip
        cur.execute(
            """
            INSERT INTO customers_customertag (created_at, customer_id, tag_id)
            SELECT now(), c.id, t.id FROM customers_customer c JOIN customers_tag t ON random() < 0.1
            """
        )
        cur.execute(
            """
            INSERT INTO customers_consent (created_at, updated_at, customer_id, channel, purpose, granted, source)
            SELECT now(), now(), id, 'sms', 'new_products', true, 'bench' FROM customers_customer
            WHERE random() < 0.3
            """
        )
        cur.execute(
            """
            INSERT INTO orders_product (created_at, updated_at, shop_id, external_id, title, category, price)
            SELECT now(), now(), %s, 'P' || g, 'product ' || g,
                   (ARRAY['茶叶','茶具','零食','服装','家居','数码','美妆','母婴','图书','运动'])[1 + g %% 10], 99
            FROM generate_series(1, 200) g
            """,
            [shop.pk],
        )
        cur.execute("SELECT MIN(id) FROM customers_customer")
        first_customer = int(cur.fetchone()[0])
        cur.execute("SELECT MIN(id) FROM orders_product")
        first_product = int(cur.fetchone()[0])
        cur.execute(
            """
            INSERT INTO orders_order (created_at, updated_at, order_no, status, goods_amount, shipping_fee,
                total_amount, paid_amount, refund_amount, ordered_at, logistics_company, tracking_no, gift,
                buyer_remark, seller_memo, receiver_name, receiver_phone, receiver_address, customer_id, shop_id)
            SELECT now(), now(), 'S' || g, CASE WHEN random() < 0.05 THEN 'closed' ELSE 'completed' END,
                   99, 0, 99, 99, 0, now() - (g %% 730) * interval '1 day', '', '', '', '', '', '', '', '',
                   %s + floor(random() * %s)::bigint, %s
            FROM generate_series(1, %s) g
            """,
            [first_customer, customers, shop.pk, customers * 3 // 2],
        )
        cur.execute(
            """
            INSERT INTO orders_orderline (order_id, line_no, product_id, title, sku, quantity, unit_price, amount,
                refund_state)
            SELECT id, 1, %s + (id %% 200), 'item', '', 1, 99, 99, '' FROM orders_order
            """,
            [first_product],
        )
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    print(f"built {customers:,} customers in {time.perf_counter() - started:.0f} s")


def _median(op: Any, repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = op()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=TARGET_CUSTOMERS)
    parser.add_argument("--reuse", action="store_true", help="keep the data when the customer count matches")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    _setup()
    from django.core.management import call_command
    from django.db import connection

    from huitouke.audiences.selectors import segment_count

    call_command("migrate", verbosity=0)
    with connection.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM customers_customer")
        have = int(cur.fetchone()[0])
    if not (args.reuse and have == args.customers):
        _build(args.customers)

    def reference() -> int:
        with connection.cursor() as cur:
            cur.execute(REFERENCE_SQL)
            return int(cur.fetchone()[0])

    segment_count(DEFINITION)  # warm the caches once, for both
    ref_s, ref_n = _median(reference, args.repeat)
    seg_s, seg_n = _median(lambda: segment_count(DEFINITION), args.repeat)
    print(f"\n{args.customers:,} customers; five-condition segment (median of {args.repeat})")
    print(f"{'':28} | {'seconds':>8} | {'customers':>10}")
    print("-" * 54)
    print(f"{'segment_count (selector)':28} | {seg_s:8.3f} | {seg_n:>10,}")
    print(f"{'hand-written SQL (reference)':28} | {ref_s:8.3f} | {ref_n:>10,}")
    print(f"\nselector / reference: {seg_s / ref_s:.2f}×; same answer: {'yes' if seg_n == ref_n else 'NO'}")
    scaled = seg_s * TARGET_CUSTOMERS / args.customers
    verdict = "PASS" if scaled <= TARGET_S and seg_n == ref_n else "FAIL"
    print(f"target: count <= {TARGET_S:.0f} s at 1,000,000 customers   {verdict}  ({seg_s:.3f} s)")
    _campaign_launch(args.customers)


def _campaign_launch(customers: int) -> None:
    """Launch a campaign to half the customers and time it next to a raw COPY of as many message rows."""
    from django.db import connection

    from huitouke.audiences.models import Segment
    from huitouke.audiences.services import segment_create
    from huitouke.campaigns.models import Campaign, CampaignRecipient
    from huitouke.campaigns.services import CampaignInput, campaign_launch, campaign_save
    from huitouke.messaging import services as messaging_services
    from huitouke.messaging.models import Message, Template

    Message.objects.filter(source_kind="campaign").delete()
    CampaignRecipient.objects.all().delete()
    Campaign.objects.all().delete()
    Segment.objects.filter(name="bench-half").delete()
    segment = segment_create(name="bench-half", definition={"conditions": [{"field": "region", "provinces": HALF}]})
    template, _ = Template.objects.get_or_create(
        channel="sms",
        purpose="marketing",
        language="zh-hans",
        name="bench",
        defaults={"body": "亲，{name}，{shop}上新啦：{product}"},
    )
    campaign = campaign_save(
        data=CampaignInput(
            name="bench-launch", kind="winback", segment_id=segment.pk, channel="sms", template_id=template.pk,
            context={"product": "明前龙井", "shop": "茶小铺"}, holdout_share="0.10",
        )
    )  # fmt: skip
    listeners = list(messaging_services._ENQUEUE_LISTENERS)
    messaging_services._ENQUEUE_LISTENERS.clear()  # measure the launch, not a dispatcher woken by it
    started = time.perf_counter()
    result = campaign_launch(campaign=campaign)
    launch_s = time.perf_counter() - started
    messaging_services._ENQUEUE_LISTENERS[:] = listeners

    # the raw reference: the same number of complete message rows copied into a plain copy of the table
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_raw_message")
        cur.execute("CREATE TABLE bench_raw_message (LIKE messaging_message INCLUDING DEFAULTS INCLUDING IDENTITY)")
        cur.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_name = 'messaging_message' ORDER BY ordinal_position"
        )
        columns = [c for (c,) in cur.fetchall() if c != "id"]
        cur.execute(f"SELECT {', '.join(columns)} FROM messaging_message WHERE source_kind = 'campaign' LIMIT 1")
        sample = cur.fetchone()
    rows = [sample] * result.enqueued
    started = time.perf_counter()
    with (
        connection.cursor() as cur,
        cur.cursor.copy(f"COPY bench_raw_message ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
    raw_s = time.perf_counter() - started
    with connection.cursor() as cur:
        cur.execute("DROP TABLE bench_raw_message")
    print(f"\ncampaign to {result.targeted:,} customers ({result.held_out:,} held out, {result.enqueued:,} messages)")
    print(f"{'campaign_launch (service)':28} | {launch_s:8.1f} s | {result.enqueued / launch_s:10,.0f} msg/s")
    print(f"{'raw COPY of as many rows':28} | {raw_s:8.1f} s | {result.enqueued / raw_s:10,.0f} msg/s")
    scaled = launch_s * 500_000 / max(result.targeted, 1)
    verdict = "PASS" if scaled <= TARGET_LAUNCH_S else "FAIL"
    print(f"target: a 500,000-recipient launch <= {TARGET_LAUNCH_S:.0f} s   {verdict}  ({launch_s:.1f} s)")
    Message.objects.filter(source_kind="campaign").delete()
    CampaignRecipient.objects.all().delete()
    Campaign.objects.all().delete()
    segment.delete()


if __name__ == "__main__":
    main()
