"""Messaging benchmark: bulk enqueue against raw COPY, and dispatch with two worker processes (PostgreSQL).

    DATABASE_URL=postgres://…/htk_msgbench .venv/bin/python benchmarks/messages.py [--messages 1000000]
        [--reuse] [--skip-dispatch]

1. Builds (unless --reuse finds them) N customers with phones, in SQL.
2. Raw COPY reference: the same N rows — the final column values of the message table, built by a bare
   generator with no validation or rendering — COPYed straight into the (empty) message table, then removed.
3. message_enqueue_many of N care SMS rendered from a template ({name}, {order_no} from each row's context):
   validation, rendering, COPY into a staging table, INSERT … ON CONFLICT (idempotency_key) DO NOTHING.
4. The same N keys enqueued again: adds 0 (timed too).
5. Dispatch: two `huitouke worker` processes send everything to a local HTTP sink standing in for Aliyun SMS
   (SendBatchSms, 100 numbers per call); the care policy runs for every message (consent, budget with its
   per-customer locks, hooks; quiet hours off for the run). Dispatch messages/s = N / time until the sink has
   received every number (checked against the database at the end). Where the server runs with autovacuum off,
   the benchmark vacuums the message table itself when dead rows pass 100,000, and says how often.

Targets: enqueue >= 30 % of raw COPY rows/s; dispatch >= 2,000 messages/s. The machine's load average is printed
before and after: other work on the machine slows both sides.

Build only into a database of its own: it refuses one holding other shops' data.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHOP = "messages-bench"
ENQUEUE_TARGET = 0.30
DISPATCH_TARGET = 2000.0


def _setup() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        sys.exit("benchmarks/messages.py needs DATABASE_URL=postgres://user@host/db (a database of its own)")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huitouke.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _customers(n: int, reuse: bool) -> list[int]:
    from django.db import connection

    from huitouke.orders.models import Shop

    if Shop.objects.exclude(name=SHOP).exists():
        sys.exit("this database holds other shops: point DATABASE_URL at a database of its own (e.g. htk_msgbench)")
    with connection.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM customers_customer")
        have = int(cur.fetchone()[0])
        if not (reuse and have == n):
            started = time.perf_counter()
            cur.execute("TRUNCATE customers_customer RESTART IDENTITY CASCADE")
            cur.execute(
                """
                INSERT INTO customers_customer (created_at, updated_at, name, real_name, gender, birthday_calendar,
                    phone, email, province, city, district, address, pref_choice, pref_decision, pref_price,
                    pref_knowledge, order_count, total_spent)
                SELECT now(), now(), '顾客' || g, '', '', 'solar', '13' || lpad(g::text, 9, '0'), '', '', '', '',
                    '', '', '', '', '', 0, 0
                FROM generate_series(1, %s) g
                """,
                [n],
            )
            cur.execute("ANALYZE customers_customer")
            print(f"built {n:,} customers in {time.perf_counter() - started:.0f} s")
        cur.execute("SELECT id FROM customers_customer ORDER BY id")
        return [int(r[0]) for r in cur.fetchall()]


def _raw_copy(ids: list[int], template_id: int, shop_id: int) -> float:
    """Seconds to COPY the final rows of N messages straight into the message table (then emptied again)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from huitouke.messaging.services import ENQUEUE_COLUMNS

    now = timezone.now()
    cols = ", ".join(ENQUEUE_COLUMNS)

    def rows() -> Any:
        for cid in ids:
            yield (
                f"bench:{cid}", cid, shop_id, "sms", "care", 2, "manual", None, None, template_id, "zh-hans",
                json.dumps({"name": f"顾客{cid}", "order_no": f"B{cid}"}, ensure_ascii=False),
                "", f"亲，顾客{cid}，订单B{cid}已签收，有问题随时找我们～", "", now, None, "queued", "", "", 0, now,
                0, "", "", now, now,
            )  # fmt: skip

    started = time.perf_counter()
    with (
        transaction.atomic(),
        connection.cursor() as cur,
        cur.cursor.copy(f"COPY messaging_message ({cols}) FROM STDIN") as copy,
    ):
        for row in rows():
            copy.write_row(row)
    elapsed = time.perf_counter() - started
    with connection.cursor() as cur:
        cur.execute("TRUNCATE messaging_message")
    return elapsed


def _enqueue(ids: list[int], template_id: int, shop_id: int) -> tuple[float, int]:
    from huitouke.messaging.services import OutgoingMessage, message_enqueue_many

    messages = (
        OutgoingMessage(
            idempotency_key=f"bench:{cid}",
            channel="sms",
            purpose="care",
            customer_id=cid,
            shop_id=shop_id,
            template_id=template_id,
            context={"name": f"顾客{cid}", "order_no": f"B{cid}"},
        )
        for cid in ids
    )
    started = time.perf_counter()
    added = message_enqueue_many(messages=messages)
    return time.perf_counter() - started, added


class _Sink:
    """A local stand-in for Aliyun's SendBatchSms: answers OK and counts the numbers it received."""

    def __init__(self) -> None:
        from huitouke.messaging.tests.sinks import HttpSink

        self.numbers = 0
        self.calls = 0
        self.lock = threading.Lock()
        self.http = HttpSink(responder=self.answer)
        self.http.hits = _NoList()  # keep no request bodies: a million numbers
        self.http.start()

    def answer(self, hit: Any) -> tuple[int, Any, dict[str, str]]:
        form = hit.form()
        count = len(json.loads(form["PhoneNumberJson"])) if "PhoneNumberJson" in form else 1
        with self.lock:
            self.numbers += count
            self.calls += 1
            return 200, {"Code": "OK", "Message": "OK", "BizId": f"bench^{self.calls}"}, {}


class _NoList(list):  # type: ignore[type-arg]
    def append(self, _item: Any) -> None:
        return None


class _Vacuum:
    """Stands in for autovacuum when the server runs without it (autovacuum = off): every message row is rewritten
    twice, and without vacuum the dead versions pile up and every claim and update slows down. Vacuums the
    message table when it holds more than 100,000 dead rows, as the table's autovacuum settings would."""

    def __init__(self) -> None:
        import psycopg
        from django.db import connection

        with connection.cursor() as cur:
            cur.execute("SHOW autovacuum")
            self.needed = cur.fetchone()[0] == "off"
        self.runs = 0
        self.stop = threading.Event()
        if self.needed:
            params = connection.get_connection_params()
            params.pop("cursor_factory", None)
            params.pop("context", None)
            self.conn = psycopg.connect(**params, autocommit=True)
            self.thread = threading.Thread(target=self.loop, daemon=True)
            self.thread.start()

    def loop(self) -> None:
        while not self.stop.wait(10):
            dead = self.conn.execute(
                "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'messaging_message'"
            ).fetchone()
            if dead and dead[0] > 100_000:
                self.conn.execute("VACUUM messaging_message")
                self.runs += 1

    def close(self) -> None:
        self.stop.set()
        if self.needed:
            self.thread.join()
            self.conn.close()


def _dispatch(n: int, home: Path) -> tuple[float, int, int | None]:
    """Seconds for two worker processes to send N messages to the sink (and the vacuums it took, when the
    benchmark had to stand in for autovacuum)."""
    from django.conf import settings

    from huitouke.messaging.models import Message
    from huitouke.messaging.services import channel_config_save

    sink = _Sink()
    channel_config_save(
        shop_id=None,
        channel="sms",
        provider="aliyun",
        options={"endpoint": f"{sink.http.url}/", "sign_name": "回头客测试"},
        secrets_new={"access_key_id": "bench", "access_key_secret": "bench"},
    )
    home.mkdir(parents=True, exist_ok=True)
    for stale in home.glob("queue.sqlite3*"):
        stale.unlink()
    env = {
        **os.environ,
        "HUITOUKE_HOME": str(home),
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "REDIS_URL": "",
        "HUEY_IMMEDIATE": "false",
        "LOG_LEVEL": "WARNING",
    }
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "huitouke.cli", "worker", "--workers", "1"],
            env=env,
            stdout=(home / f"worker{i}.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for i in (1, 2)
    ]
    vacuum = _Vacuum()
    started = time.perf_counter()
    try:
        last, last_t = 0, started
        while sink.numbers < n:
            time.sleep(1.0)
            if any(w.poll() is not None for w in workers):
                sys.exit(f"a worker stopped; see {home}/worker*.log")
            now = time.perf_counter()
            if now - last_t >= 30:
                print(f"  … {sink.numbers:,} sent ({(sink.numbers - last) / (now - last_t):,.0f}/s)")
                last, last_t = sink.numbers, now
        elapsed = time.perf_counter() - started
    finally:
        for w in workers:
            if w.poll() is None:
                os.killpg(w.pid, signal.SIGTERM)
                w.wait(timeout=30)
        sink.http.stop()
        vacuum.close()
    sent = Message.objects.filter(status=Message.Status.SENT).count()
    return elapsed, sent, vacuum.runs if vacuum.needed else None


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="reuse the customers when their number matches")
    parser.add_argument("--skip-dispatch", action="store_true")
    args = parser.parse_args()
    _setup()

    from datetime import time as clock

    from django.core.management import call_command
    from django.db import connection

    from huitouke.messaging.services import contact_policy_save, template_save
    from huitouke.orders.models import Shop

    call_command("migrate", verbosity=0)
    load_before = os.getloadavg()
    ids = _customers(args.messages, args.reuse)
    shop, _ = Shop.objects.get_or_create(name=SHOP, defaults={"platform": "taobao"})
    with connection.cursor() as cur:
        cur.execute("TRUNCATE messaging_message, messaging_channelconfig, messaging_ratebucket")
    # quiet hours off for the run (it must not depend on the clock); a care budget the run cannot exhaust
    contact_policy_save(
        shop_id=None, quiet_start=clock(0), quiet_end=clock(0), budget_days=7, budget_marketing=1, budget_care=100
    )
    template = template_save(
        channel="sms",
        purpose="care",
        language="zh-hans",
        name="bench",
        body="亲，{name}，订单{order_no}已签收，有问题随时找我们～",
        provider_code="SMS_BENCH",
    )
    n = len(ids)
    copy_s = _raw_copy(ids, template.pk, shop.pk)
    enqueue_s, added = _enqueue(ids, template.pk, shop.pk)
    again_s, added_again = _enqueue(ids, template.pk, shop.pk)
    with connection.cursor() as cur:
        cur.execute("ANALYZE messaging_message")
    dispatch_s, sent, vacuums = (0.0, 0, None) if args.skip_dispatch else _dispatch(n, ROOT / "var" / "bench-messages")
    load_after = os.getloadavg()

    copy_rate, enqueue_rate = n / copy_s, n / enqueue_s
    ratio = enqueue_rate / copy_rate
    full = n >= 1_000_000
    print()
    print(
        f"messages: {n:,}, PostgreSQL {connection.pg_version}, "  # type: ignore[attr-defined]
        f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (2 CPUs)"
    )
    header = f"{'measure':<46} | {'seconds':>8} | {'rows/s':>9} | target"
    print(header)
    print("-" * len(header))
    print(f"{'raw COPY of the same rows (reference)':<46} | {copy_s:8.1f} | {copy_rate:9,.0f} |")
    verdict = ("PASS" if ratio >= ENQUEUE_TARGET else "FAIL") if full else "not measured at this size"
    print(
        f"{'message_enqueue_many (added ' + format(added, ',') + ')':<46} | {enqueue_s:8.1f} | {enqueue_rate:9,.0f} |"
        f" {ratio:.0%} of COPY, target >= {ENQUEUE_TARGET:.0%}: {verdict}"
    )
    print(f"{'same keys again (added ' + format(added_again, ',') + ')':<46} | {again_s:8.1f} | {n / again_s:9,.0f} |")
    if not args.skip_dispatch:
        rate = n / dispatch_s
        verdict = ("PASS" if rate >= DISPATCH_TARGET else "FAIL") if full else "not measured at this size"
        print(
            f"{'dispatch, 2 worker processes (sent ' + format(sent, ',') + ')':<46} | {dispatch_s:8.1f} |"
            f" {rate:9,.0f} | target >= {DISPATCH_TARGET:,.0f}/s: {verdict}"
        )
        if vacuums is not None:
            print(f"autovacuum is off on this server: the benchmark vacuumed the message table {vacuums} times")


if __name__ == "__main__":
    main()
