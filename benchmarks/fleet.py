"""Fleet load and fault test: several web and worker processes on PostgreSQL + Redis, under Locust, with faults.

    .venv/bin/python benchmarks/fleet.py [--customers 3000] [--users 10] [--duration 60] [--messages 2000]
        [--import-lines 5000] [--web 3] [--workers 3] [--pg postgres://postgres@127.0.0.1:5432] [--db htk_fleet]
        [--redis redis://127.0.0.1:6379/15] [--port 18500] [--reuse]

    The issue's full run: --customers 1000000 --users 50 --duration 600 --messages 200000 --import-lines 200000
    (builds the 1,000,000-customer demo first: about an hour here; --reuse keeps a built database).

Everything listens on 127.0.0.1 only and every number of the run is bounded by the flags. Steps:

1. A database of its own (dropped and rebuilt unless --reuse): `huitouke migrate`, `huitouke demo --customers N`.
2. A local webhook receiver counts every delivery per Idempotency-Key; the shop's webhook channel points at it.
3. `huitouke serve --workers WEB` (gunicorn) and WORKERS `huitouke worker` processes share Redis.
4. Alone: every page type timed with one logged-in session, one request after another (the reference).
5. Load: Locust runs USERS staff sessions (search, customer 360, ticket queue, segment count, analytics) for
   DURATION seconds while a care tick, a bulk send of MESSAGES service messages (the campaign-sized send) and an
   order import run; at 40 % of the run one worker is SIGKILLed (and started again 3 s later), at 60 % one web
   process gets SIGTERM (gunicorn starts a new one).
6. Prints requests/s, p50/p95/p99 per page type under load next to alone, server errors, the receiver's count
   (missing keys, duplicates, and requests repeating a delivered key, which a receiver drops), the import job,
   and periodic ticks: copies queued across the fleet against runs that did the work, per (task, period).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SECRET = "fleet-benchmark-secret-key-not-for-production-0123456789"
PAGES = ("search", "customer 360", "ticket queue", "segment count", "analytics")


# ----------------------------------------------------------------------------------------- steps inside Django
def _django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huitouke.settings")
    import django

    django.setup()


def step_setup(sink_url: str) -> dict[str, Any]:
    """Point the webhook channel at the receiver; pick customers, a segment and search terms for the staff."""
    from huitouke.audiences.models import Segment
    from huitouke.customers.models import Customer
    from huitouke.messaging.services import channel_config_save

    channel_config_save(
        shop_id=None,
        channel="webhook",
        provider="webhook",
        options={"url": sink_url},
        secrets_new={"signing_secret": "fleet"},
    )
    ids = list(Customer.objects.order_by("?").values_list("pk", flat=True)[:300])
    names = [n for n in Customer.objects.filter(pk__in=ids[:60]).values_list("name", flat=True) if n]
    segment = Segment.objects.order_by("pk").values_list("pk", flat=True).first()
    return {"customers": ids, "terms": [n[:2] for n in names] or ["王"], "segment": segment}


def step_messages(n: int, run: str) -> dict[str, Any]:
    """The campaign-sized send: n service messages to the webhook channel, one per customer (keys
    fleet:<run>:<id>, new for every run so a reused database sends them again)."""
    from huitouke.customers.models import Customer
    from huitouke.messaging.services import OutgoingMessage, message_enqueue_many

    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True)[:n])
    added = message_enqueue_many(
        messages=(
            OutgoingMessage(
                idempotency_key=f"fleet:{run}:{cid}",
                channel="webhook",
                purpose="service",
                customer_id=cid,
                body="已发货",
            )
            for cid in ids
        )
    )
    return {"added": added, "keys": len(ids)}


def step_care() -> dict[str, Any]:
    from huitouke.jobs import care_tick

    care_tick()  # queued for the fleet (not run here)
    return {"queued": True}


def step_import(lines: int, folder: str) -> dict[str, Any]:
    from benchmarks.taobao_export import write_export_pair
    from huitouke.core.models import Job
    from huitouke.jobs import orders_import_task

    pair = write_export_pair(Path(folder), lines=lines, seed=21)
    job = Job.objects.create(
        kind="orders_import",
        params={"path": str(pair.orders_path), "items_path": str(pair.items_path), "fmt": "auto", "shop": "Fleet"},
    )
    orders_import_task(job.pk)
    return {"job": job.pk, "orders": pair.orders}


def step_report(job: int, run: str) -> dict[str, Any]:
    from django.db.models import Count

    from huitouke.core.models import Job, PeriodicRun
    from huitouke.messaging.models import Message

    fleet = Message.objects.filter(idempotency_key__startswith=f"fleet:{run}:")
    status = dict(fleet.values_list("status").annotate(n=Count("id")).order_by())
    runs = Counter(PeriodicRun.objects.values_list("task", flat=True))
    j = Job.objects.filter(pk=job).values("status", "attempts", "error", "result").first()
    return {"messages": status, "periodic_runs": dict(runs), "job": j}


# ------------------------------------------------------------------------------------------------- controller
class Receiver:
    """A webhook endpoint on 127.0.0.1 that behaves as docs/user-guide.md asks of a receiver: it acts on each
    Idempotency-Key once and answers a repeat of a key it has seen with 200 without acting again. It counts the
    requests per key, the message ids per key and the keys per customer, so that a message sent twice as two
    deliveries (another key, or the same key for another message) shows as a duplicate."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.per_key: Counter[str] = Counter()
        self.ids: dict[str, set[Any]] = defaultdict(set)
        self.customer_keys: dict[Any, set[str]] = defaultdict(set)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(min(length, 1 << 20))
                key = self.headers.get("Idempotency-Key", "")
                try:
                    payload = json.loads(raw)
                except ValueError:
                    payload = {}
                with receiver.lock:
                    receiver.per_key[key] += 1
                    receiver.ids[key].add(payload.get("id"))
                    receiver.customer_keys[payload.get("customer_id")].add(key)
                body = b'{"ok": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def fleet_keys(self, run: str) -> Counter[str]:
        with self.lock:
            return Counter({k: v for k, v in self.per_key.items() if k.startswith(f"fleet:{run}:")})

    def duplicates(self, run: str) -> int:
        """Deliveries acted on twice: a key that carried more than one message, or a customer of the run reached
        under more than one key (the run sends each customer one message)."""
        prefix = f"fleet:{run}:"
        with self.lock:
            by_key = sum(len(ids) - 1 for k, ids in self.ids.items() if k.startswith(prefix))
            by_customer = sum(
                max(sum(1 for k in ks if k.startswith(prefix)) - 1, 0) for ks in self.customer_keys.values()
            )
        return by_key + by_customer


def _env(args: argparse.Namespace, home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"{args.pg.rstrip('/')}/{args.db}",
        "REDIS_URL": args.redis,
        "HUITOUKE_HOME": str(home),
        "DJANGO_SECRET_KEY": SECRET,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "HUEY_IMMEDIATE": "false",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "HUITOUKE_WORKER_BEAT_TIMEOUT": "20",
        "HUITOUKE_CONTACT_SEARCHES_PER_HOUR": "100000",
        # the webhook sink is this script's own receiver on 127.0.0.1: the operator allows loopback destinations
        "HUITOUKE_OUTBOUND_ALLOW_PRIVATE": "true",
    }


def _cli(env: dict[str, str], *argv: str, timeout: float = 7200) -> None:
    subprocess.run([sys.executable, "-m", "huitouke.cli", *argv], env=env, check=True, timeout=timeout)


def _step(env: dict[str, str], *argv: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--step", *argv], env=env, check=True, capture_output=True, text=True, timeout=3600
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))] if ordered else 0.0


def _paths(setup: dict[str, Any]) -> dict[str, Any]:
    rnd = random.Random()
    return {
        "search": lambda: f"/customers/?q={rnd.choice(setup['terms'])}",
        "customer 360": lambda: f"/customers/{rnd.choice(setup['customers'])}/",
        "ticket queue": lambda: "/service/",
        "segment count": lambda: f"/segments/{setup['segment']}/count/" if setup["segment"] else "/segments/",
        "analytics": lambda: "/analytics/",
    }


def _login(session: Any, base: str) -> None:
    session.get(f"{base}/login/")
    token = session.cookies.get("csrftoken", "")
    answer = session.post(
        f"{base}/login/",
        data={"username": "owner", "password": "huitouke-owner", "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/login/"},
        allow_redirects=False,
    )
    if answer.status_code != 302:
        sys.exit(f"login failed ({answer.status_code}): is the demo built?")


def _alone(base: str, paths: dict[str, Any], rounds: int) -> dict[str, list[float]]:
    import requests

    session = requests.Session()
    _login(session, base)
    times: dict[str, list[float]] = defaultdict(list)
    for _ in range(rounds):
        for name, path in paths.items():
            started = time.perf_counter()
            answer = session.get(base + path())
            times[name].append((time.perf_counter() - started) * 1000)
            if answer.status_code >= 400:
                sys.exit(f"{name}: {answer.status_code} alone")
    return times


def _gunicorn_children(arbiter: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(arbiter)], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in out]


def _periodic(home: Path) -> tuple[int, int, int]:
    """(periods, runs that did the work, copies skipped) over the workers' logs; runs must equal periods."""
    outcome: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for path in home.glob("worker*.log"):
        for raw in path.read_text(errors="replace").splitlines():
            if not raw.startswith("{"):
                continue
            message = json.loads(raw).get("message", "")
            if message.startswith("periodic ") and " for " in message:
                task, rest = message.removeprefix("periodic ").split(" for ", 1)
                period, what = rest.rsplit(": ", 1)
                outcome[(task, period)]["ran" if what == "running here" else "skipped"] += 1
    ran = sum(c["ran"] for c in outcome.values())
    skipped = sum(c["skipped"] for c in outcome.values())
    twice = [k for k, c in outcome.items() if c["ran"] != 1]
    if twice:
        print(f"  !! periods not run exactly once: {twice[:5]}")
    return len(outcome), ran, skipped


def run(args: argparse.Namespace) -> None:
    from gevent import monkey

    monkey.patch_all()
    import gevent
    import redis
    from locust import HttpUser, constant, task
    from locust.env import Environment

    run_tag = time.strftime("%Y%m%d%H%M%S")
    home = Path(args.home) if args.home else ROOT / "var" / "fleet"
    home.mkdir(parents=True, exist_ok=True)
    for old in home.glob("*.log"):
        old.unlink()
    env = _env(args, home)
    base = f"http://127.0.0.1:{args.port}"
    if not args.reuse:
        print(f"building: database {args.db}, demo with {args.customers:,} customers …", flush=True)
        subprocess.run(["dropdb", "--if-exists", "-h", "127.0.0.1", "-U", "postgres", args.db], check=True)
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", args.db], check=True)
        _cli(env, "migrate", "--no-input", "-v0")
        _cli(env, "demo", "--customers", str(args.customers), "--no-serve")
    receiver = Receiver()
    setup = _step(env, "setup", receiver.url)
    redis.Redis.from_url(args.redis).flushdb()
    procs: dict[str, subprocess.Popen[bytes]] = {}

    def start_worker(name: str) -> None:
        procs[name] = subprocess.Popen(
            [sys.executable, "-m", "huitouke.cli", "worker", "--workers", "2"],
            env=env,
            stdout=(home / f"{name}.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    for i in range(1, args.workers + 1):
        start_worker(f"worker{i}")
    procs["web"] = subprocess.Popen(
        [sys.executable, "-m", "huitouke.cli", "serve", "--bind", f"127.0.0.1:{args.port}", "--workers", str(args.web)],
        env=env,
        stdout=(home / "web.log").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    paths = _paths(setup)
    try:
        import requests

        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(1)
        else:
            sys.exit(f"the web server did not become ready; see {home}/web.log")
        print(f"alone: {args.alone_rounds} rounds of {len(paths)} pages …", flush=True)
        alone = _alone(base, paths, args.alone_rounds)

        class Staff(HttpUser):
            wait_time = constant(args.think)
            host = base

            def on_start(self) -> None:
                _login(self.client, base)

            @task(4)
            def search(self) -> None:
                self.client.get(paths["search"](), name="search")

            @task(4)
            def customer(self) -> None:
                self.client.get(paths["customer 360"](), name="customer 360")

            @task(2)
            def tickets(self) -> None:
                self.client.get(paths["ticket queue"](), name="ticket queue")

            @task(1)
            def segment(self) -> None:
                self.client.get(paths["segment count"](), name="segment count")

            @task(1)
            def analytics(self) -> None:
                self.client.get(paths["analytics"](), name="analytics")

        locust_env = Environment(user_classes=[Staff])
        runner = locust_env.create_local_runner()
        print(f"load: {args.users} staff for {args.duration} s with the background work and faults …", flush=True)
        runner.start(args.users, spawn_rate=max(args.users / 5, 1))
        started = time.monotonic()
        events: list[str] = []
        background: dict[str, Any] = {}

        def at(seconds: float) -> None:
            gevent.sleep(max(seconds - (time.monotonic() - started), 0))

        def scenario() -> None:
            at(3)
            steps = {
                "care": ("care",),
                "messages": ("messages", str(args.messages), run_tag),
                "import": ("import", str(args.import_lines), str(home / "import")),
            }
            jobs = {name: gevent.spawn(_step, env, *argv) for name, argv in steps.items()}
            gevent.joinall(list(jobs.values()))
            background.update({name: job.get() for name, job in jobs.items()})
            queued_at = time.monotonic() - started
            events.append(f"t={queued_at:.0f}s care tick, {args.messages:,} messages, import queued")
            at(max(args.duration * 0.4, queued_at + 5))  # the kill lands while the background work runs
            victim = procs["worker1"]
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait()
            events.append(f"t={time.monotonic() - started:.0f}s worker1 SIGKILLed")
            gevent.sleep(3)
            start_worker("worker1")
            at(max(args.duration * 0.6, queued_at + 10))
            children = _gunicorn_children(procs["web"].pid)
            if children:
                os.kill(children[0], signal.SIGTERM)
                events.append(f"t={time.monotonic() - started:.0f}s web process {children[0]} SIGTERMed (replaced)")

        greenlet = gevent.spawn(scenario)
        gevent.sleep(args.duration)
        runner.quit()
        greenlet.join(timeout=600)
        elapsed = time.monotonic() - started

        keys = background.get("messages", {}).get("keys", 0)
        print("waiting for the sends and the import to finish …", flush=True)
        wait_until = time.monotonic() + args.drain_timeout
        report: dict[str, Any] = {}
        while time.monotonic() < wait_until:
            report = _step(env, "report", str(background.get("import", {}).get("job", 0)), run_tag)
            job_done = (report.get("job") or {}).get("status") in ("done", "failed")
            if len(receiver.fleet_keys(run_tag)) >= keys and job_done:
                break
            time.sleep(5)
        _print(
            args,
            alone,
            locust_env.stats,
            elapsed,
            receiver.fleet_keys(run_tag),
            receiver.duplicates(run_tag),
            keys,
            report,
            events,
            home,
        )
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        receiver.server.shutdown()


def _print(
    args: argparse.Namespace,
    alone: dict[str, list[float]],
    stats: Any,
    elapsed: float,
    seen: Counter[str],
    duplicates: int,
    keys: int,
    report: dict[str, Any],
    events: list[str],
    home: Path,
) -> None:
    print()
    print(
        f"fleet: {args.web} web processes (gunicorn) + {args.workers} workers, PostgreSQL + Redis, "
        f"{args.customers:,} customers, {args.users} staff, {elapsed:.0f} s"
    )
    print(f"  machine load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for event in events:
        print(f"  {event}")
    header = f"{'page':<14} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} |"
    print(f"{header} {'alone p50':>9} {'p95':>7} {'errors':>7}")
    total_errors = 0
    for name in PAGES:
        entry = stats.get(name, "GET")
        total_errors += entry.num_failures
        lone = alone.get(name, [])
        print(
            f"{name:<14} {entry.num_requests / elapsed:>7.1f} {entry.get_response_time_percentile(0.5):>8.0f} "
            f"{entry.get_response_time_percentile(0.95):>8.0f} {entry.get_response_time_percentile(0.99):>8.0f} | "
            f"{_percentile(lone, 50):>9.0f} {_percentile(lone, 95):>7.0f} {entry.num_failures:>7}"
        )
    print(
        f"{'all':<14} {stats.total.num_requests / elapsed:>7.1f} {stats.total.get_response_time_percentile(0.5):>8.0f} "
        f"{stats.total.get_response_time_percentile(0.95):>8.0f} {stats.total.get_response_time_percentile(0.99):>8.0f}"
    )
    server_errors = sum(
        count for (method, name), errs in _errors(stats).items() for err, count in errs.items() if "50" in err
    )
    print(f"errors: {total_errors} failed requests ({server_errors} server errors 5xx)")
    missing = keys - len(seen)
    repeated = sum(1 for v in seen.values() if v > 1)
    resent = sum(v - 1 for v in seen.values() if v > 1)
    # A repeat of a delivered key is dropped by the receiver (the killed worker's leased chunk, sent again): it is
    # printed apart from the duplicates, which a receiver would act on twice.
    print(
        f"messages: {keys:,} queued, {len(seen):,} delivered, {missing} missing, {duplicates} duplicates; "
        f"{resent} repeated requests for {repeated} keys already delivered (same Idempotency-Key, dropped by the "
        f"receiver), statuses {report.get('messages')}"
    )
    print(f"import job: {report.get('job', {}) and {k: report['job'][k] for k in ('status', 'attempts', 'error')}}")
    periods, ran, skipped = _periodic(home)
    print(f"periodic: {periods} (task, period) pairs, {ran} runs did the work, {skipped} fleet copies skipped")


def _errors(stats: Any) -> dict[tuple[str, str], Counter[str]]:
    out: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for error in stats.errors.values():
        out[(error.method, error.name)][str(error.error)] += error.occurrences
    return out


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--step":
        _django()
        name, rest = sys.argv[2], sys.argv[3:]
        steps = {
            "setup": lambda: step_setup(rest[0]),
            "messages": lambda: step_messages(int(rest[0]), rest[1]),
            "care": step_care,
            "import": lambda: step_import(int(rest[0]), rest[1]),
            "report": lambda: step_report(int(rest[0]), rest[1]),
        }
        print(json.dumps(steps[name](), default=str))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--import-lines", type=int, default=5000)
    parser.add_argument("--web", type=int, default=3)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--think", type=float, default=1.0, help="seconds each simulated person waits between pages")
    parser.add_argument("--alone-rounds", type=int, default=10)
    parser.add_argument("--drain-timeout", type=int, default=600)
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--db", default="htk_fleet")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--port", type=int, default=18500)
    parser.add_argument("--reuse", action="store_true", help="keep the database built by an earlier run")
    parser.add_argument("--home", default="", help="HUITOUKE_HOME of the fleet (default: var/fleet)")
    args = parser.parse_args()
    for name in ("customers", "users", "duration", "messages", "import_lines", "web", "workers"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.messages > args.customers:
        parser.error("--messages is one per customer: at most --customers")
    run(args)


if __name__ == "__main__":
    main()
