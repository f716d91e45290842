"""Live order feed benchmark: orders pushed to `POST /api/v1/orders` by concurrent clients to a gunicorn server on
PostgreSQL, next to the CLI import of the same orders in the same run; single-order push and webhook latency.

    .venv/bin/python benchmarks/live_orders.py [--orders 200000] [--batch 500] [--clients 4] [--workers 2]
        [--single 300] [--webhooks 300] [--pg postgres://postgres@127.0.0.1:5432] [--workdir DIR]
        [--db-prefix htk_bench_live]

Default scale is reduced (20,000 orders); the issue's full run is `--orders 200000` (needs ~4 GB of disk for two
databases and roughly 10× the reduced run's time). Each run:

1. generates `--orders` orders (seeded; 1–3 lines each, ~0.6 buyers per order) once, as JSON for the push and as
   a Shopify "Export orders" CSV of the same orders for the import;
2. reference: `huitouke import-orders FILE --shop Bench` into a freshly migrated database, timed (wall clock of
   the command, stats and level refresh included) → orders/s;
3. push: a second freshly migrated database served by `gunicorn huitouke.wsgi` with `--workers` processes;
   `--clients` threads push the orders in batches of `--batch` with a push-scoped token (each answer checked:
   every order created, none rejected) → orders/s, and its ratio to the import (target ≥ 50 %);
4. single push: `--single` one-order pushes one after the other (new orders) → p95 ms (target ≤ 150 ms);
5. webhook acknowledgement: `--webhooks` signed Shopify `orders/create` webhooks one after the other → p95 ms
   (target ≤ 50 ms; the worker writes them later, not timed here);
6. reference for the latencies: the same number of bare requests (`GET /api/v1/me` without a token: 401 JSON,
   no database work) → p95 ms, the server's own round trip on this machine at this moment.

Prints one table and the targets with PASS/FAIL.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import hmac
import http.client
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import percentile  # noqa: E402

PG_DEFAULT = "postgres://postgres@127.0.0.1:5432"
#: the two databases are named PREFIX_import and PREFIX_push (`--db-prefix`: runs side by side stay apart)
DB_PREFIX = "htk_bench_live"
SHOP = "Bench"
WEBHOOK_SECRET = "bench-webhook-secret"
TARGET_RATIO, TARGET_SINGLE_MS, TARGET_WEBHOOK_MS = 0.5, 150.0, 50.0
PY = sys.executable


# ------------------------------------------------------------------------------------------------ the orders
def generate(count: int, seed: int = 19) -> list[dict[str, Any]]:
    """`count` paid, shipped or pending orders with 1–3 lines, buyers shared between orders."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    buyers = max(1, int(count * 0.6))
    products = [(f"SKU-{i:04d}", f"Tea {i}", f"{rng.randint(5, 200)}.00") for i in range(400)]
    orders = []
    for n in range(count):
        created = start + timedelta(minutes=n * 2)
        status = rng.choice(["paid", "paid", "shipped", "pending"])
        lines: list[dict[str, Any]] = []
        for sku, title, price in rng.sample(products, rng.randint(1, 3)):
            lines.append({"product_id": "", "title": title, "sku": sku, "quantity": rng.randint(1, 3), "price": price})
        goods = sum(int(ln["quantity"]) * float(ln["price"]) for ln in lines)
        order: dict[str, Any] = {
            "shop": SHOP,
            "platform": "shopify",
            "order_no": f"#B{n + 1:07d}",
            "buyer_handle": f"buyer{rng.randrange(buyers)}@example.com",
            "email": "",
            "buyer_name": f"Buyer {n % 997}",
            "city": "Berlin",
            "address": f"Street {n % 300}",
            "status": status,
            "goods_amount": f"{goods:.2f}",
            "total_amount": f"{goods:.2f}",
            "created_at": created.isoformat(),
            "paid_at": (created + timedelta(minutes=1)).isoformat() if status != "pending" else None,
            "shipped_at": (created + timedelta(days=1)).isoformat() if status == "shipped" else None,
            "lines": lines,
        }
        order["email"] = order["buyer_handle"]
        orders.append(order)
    return orders


def write_shopify_csv(orders: list[dict[str, Any]], path: Path) -> None:
    """The same orders as a Shopify "Export orders" file (one row per line, order cells on the first)."""
    financial = {"paid": "paid", "shipped": "paid", "pending": "pending"}
    fulfillment = {"paid": "unfulfilled", "shipped": "partial", "pending": "unfulfilled"}
    header = ["Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at", "Subtotal",
              "Shipping", "Total", "Created at", "Lineitem quantity", "Lineitem name", "Lineitem price",
              "Lineitem sku", "Shipping Name", "Shipping Address1", "Shipping City"]  # fmt: skip
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(header)
        for o in orders:
            for i, ln in enumerate(o["lines"]):
                first = i == 0
                out.writerow(
                    [
                        o["order_no"], o["email"],
                        financial[o["status"]] if first else "", o["paid_at"] or "" if first else "",
                        fulfillment[o["status"]] if first else "", o["shipped_at"] or "" if first else "",
                        o["goods_amount"] if first else "", "0.00" if first else "", o["total_amount"] if first else "",
                        o["created_at"] if first else "", ln["quantity"], ln["title"], ln["price"], ln["sku"],
                        o["buyer_name"] if first else "", o["address"] if first else "", o["city"] if first else "",
                    ]
                )  # fmt: skip


# ------------------------------------------------------------------------------------------------ databases
def _admin(pg: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def fresh_db(pg: str, name: str, home: Path) -> str:
    _admin(pg, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _admin(pg, f"CREATE DATABASE {name}")
    url = f"{pg}/{name}"
    run([PY, "-m", "huitouke.cli", "migrate", "-v", "0"], env_for(url, home))
    return url


def env_for(url: str, home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": url,
        "HUITOUKE_HOME": str(home),
        "DJANGO_SECRET_KEY": "bench-secret-key-live-orders-0123456789",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "HUEY_IMMEDIATE": "false",
        "REDIS_URL": "",
        "LOG_LEVEL": "ERROR",
    }


def run(cmd: list[str], env: dict[str, str], **kw: Any) -> str:
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False, **kw)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd[:4])} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done.stdout


SETUP = """
import django, json
django.setup()
from huitouke.core.services import token_create, user_create
from huitouke.connectors.services import store_connect
from huitouke.orders.services import shop_get_or_create
shop = shop_get_or_create(name=%(shop)r, platform="shopify")
user = user_create(username="bench", role="manager", password="bench-pass-123", validate=False)
_t, key = token_create(user=user, name="bench", scope="orders_push")
source = store_connect(shop=shop, kind="shopify", address="bench.myshopify.com",
                       secrets_given={"access_token": "x", "webhook_secret": %(secret)r})
print(json.dumps({"token": key, "webhook_key": source.key}))
"""


def setup_push_db(url: str, home: Path) -> dict[str, str]:
    out = run(
        [PY, "-c", SETUP % {"shop": SHOP, "secret": WEBHOOK_SECRET}],
        {**env_for(url, home), "DJANGO_SETTINGS_MODULE": "huitouke.settings"},
    )
    return dict(json.loads(out.strip().splitlines()[-1]))


# ------------------------------------------------------------------------------------------------ the server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_gunicorn(url: str, home: Path, workers: int) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    log = (home / "gunicorn.log").open("ab")
    proc = subprocess.Popen(
        [str(Path(PY).parent / "gunicorn"), "huitouke.wsgi", "-w", str(workers), "-b", f"127.0.0.1:{port}",
         "--timeout", "300", "--log-level", "warning"],
        env=env_for(url, home), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    sys.exit(f"gunicorn did not start: {(home / 'gunicorn.log').read_text()[-2000:]}")


def post(conn: http.client.HTTPConnection, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    conn.request("POST", path, body=body, headers={"Content-Type": "application/json", **headers})
    response = conn.getresponse()
    return response.status, response.read()


def push_all(port: int, token: str, orders: list[dict[str, Any]], batch: int, clients: int) -> float:
    """Seconds to push every order in batches over `clients` threads; every answer is checked."""
    batches = [orders[i : i + batch] for i in range(0, len(orders), batch)]
    lock = threading.Lock()
    errors: list[str] = []

    def client(mine: list[list[dict[str, Any]]]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        for chunk in mine:
            status, body = post(conn, "/api/v1/orders", json.dumps({"orders": chunk}).encode(),
                                {"Authorization": f"Bearer {token}"})  # fmt: skip
            answer = json.loads(body) if status == 200 else {}
            if status != 200 or answer.get("created") != len(chunk) or answer.get("rejected"):
                with lock:
                    errors.append(f"HTTP {status}: {body[:300]!r}")
        conn.close()

    threads = [threading.Thread(target=client, args=(batches[i::clients],)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    if errors:
        sys.exit(f"{len(errors)} pushes failed, first: {errors[0]}")
    return seconds


def single_pushes(port: int, token: str, orders: list[dict[str, Any]]) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times = []
    for order in orders:
        body = json.dumps({"orders": [order]}).encode()
        started = time.perf_counter()
        status, answer = post(conn, "/api/v1/orders", body, {"Authorization": f"Bearer {token}"})
        times.append((time.perf_counter() - started) * 1000)
        if status != 200 or json.loads(answer)["created"] != 1:
            sys.exit(f"single push failed: HTTP {status} {answer[:300]!r}")
    conn.close()
    return times


def floor_requests(port: int, count: int) -> list[float]:
    """The server's own round trip, the latencies' reference: GET /api/v1/me without a token (401 JSON through
    the same middleware, no database work)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times = []
    for _ in range(count):
        started = time.perf_counter()
        conn.request("GET", "/api/v1/me")
        response = conn.getresponse()
        response.read()
        times.append((time.perf_counter() - started) * 1000)
    conn.close()
    return times


def webhooks(port: int, key: str, count: int) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times = []
    for n in range(count):
        payload = {"id": 7_000_000 + n, "name": f"#W{n}", "email": f"w{n}@example.com",
                   "created_at": "2026-12-01T10:00:00+01:00", "updated_at": "2026-12-01T10:00:00+01:00",
                   "financial_status": "paid", "processed_at": "2026-12-01T10:01:00+01:00", "total_price": "12.00",
                   "line_items": [{"name": "Tea", "sku": "T1", "quantity": 1, "price": "12.00"}]}  # fmt: skip
        body = json.dumps(payload).encode()
        signature = base64.b64encode(hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).digest()).decode()
        headers = {"X-Shopify-Hmac-Sha256": signature, "X-Shopify-Topic": "orders/create",
                   "X-Shopify-Webhook-Id": f"bench-{n}"}  # fmt: skip
        started = time.perf_counter()
        status, answer = post(conn, f"/sources/shopify/{key}/webhook", body, headers)
        times.append((time.perf_counter() - started) * 1000)
        if status != 200:
            sys.exit(f"webhook failed: HTTP {status} {answer[:300]!r}")
    conn.close()
    return times


# ------------------------------------------------------------------------------------------------ main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--single", type=int, default=300)
    parser.add_argument("--webhooks", type=int, default=300)
    parser.add_argument("--pg", default=PG_DEFAULT)
    parser.add_argument("--workdir", default="")
    parser.add_argument("--db-prefix", default=DB_PREFIX, help="databases PREFIX_import and PREFIX_push")
    args = parser.parse_args()
    if not args.db_prefix.isidentifier():
        sys.exit("--db-prefix: letters, digits and underscores")
    if not 1 <= args.batch <= 1000:
        sys.exit("--batch: 1 to 1000 (the API's limit)")
    home = Path(args.workdir or tempfile.mkdtemp(prefix="htk-live-"))
    home.mkdir(parents=True, exist_ok=True)

    orders = generate(args.orders + args.single)
    bulk, singles = orders[: args.orders], orders[args.orders :]
    export = home / "orders_export.csv"
    write_shopify_csv(bulk, export)

    import_url = fresh_db(args.pg, f"{args.db_prefix}_import", home)
    started = time.perf_counter()
    out = run([PY, "-m", "huitouke.cli", "import-orders", str(export), "--shop", SHOP, "--json"],
              env_for(import_url, home))  # fmt: skip
    import_seconds = time.perf_counter() - started
    imported = json.loads(out.strip().splitlines()[-1])
    if imported["orders_created"] != args.orders or imported["errors"]:
        sys.exit(f"the CLI import did not create every order: {imported}")

    push_url = fresh_db(args.pg, f"{args.db_prefix}_push", home)
    keys = setup_push_db(push_url, home)
    server, port = start_gunicorn(push_url, home, args.workers)
    try:
        push_seconds = push_all(port, keys["token"], bulk, args.batch, args.clients)
        single = single_pushes(port, keys["token"], singles)
        hooks = webhooks(port, keys["webhook_key"], args.webhooks)
        floor = floor_requests(port, args.webhooks)
    finally:
        server.terminate()
        server.wait(timeout=30)

    import_rate = args.orders / import_seconds
    push_rate = args.orders / push_seconds
    ratio = push_rate / import_rate
    p95_single, p95_hook, p95_floor = percentile(single, 95), percentile(hooks, 95), percentile(floor, 95)
    print(f"live orders: {args.orders} orders, batches of {args.batch}, {args.clients} clients, "
          f"gunicorn {args.workers} workers, PostgreSQL")  # fmt: skip
    print(f"{'measure':<44}{'value':>14}")
    print(f"{'CLI import (reference), orders/s':<44}{import_rate:>14.0f}")
    print(f"{'push API, orders/s':<44}{push_rate:>14.0f}")
    print(f"{'push / import':<44}{ratio:>13.0%} ")
    print(f"{'single-order push p95, ms':<44}{p95_single:>14.1f}")
    print(f"{'webhook acknowledgement p95, ms':<44}{p95_hook:>14.1f}")
    print(f"{'reference: bare request (401) p95, ms':<44}{p95_floor:>14.1f}")
    print(f"push >= {TARGET_RATIO:.0%} of import: {'PASS' if ratio >= TARGET_RATIO else 'FAIL'}")
    print(f"single push p95 <= {TARGET_SINGLE_MS:.0f} ms: {'PASS' if p95_single <= TARGET_SINGLE_MS else 'FAIL'}")
    print(f"webhook ack p95 <= {TARGET_WEBHOOK_MS:.0f} ms: {'PASS' if p95_hook <= TARGET_WEBHOOK_MS else 'FAIL'}")
    if not args.workdir:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
