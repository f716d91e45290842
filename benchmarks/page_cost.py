"""What a signed-in page costs: time per request and queries per request for a few pages, as a given role, through
Django's test client — optionally next to another checkout of the code, request by request.

    DATABASE_URL=postgres://…/db .venv/bin/python benchmarks/page_cost.py [--user agent] [--requests 40]
        [--compare /path/to/other/checkout] [--profile /visits/plans/] [--queries /visits/plans/]

It reads an existing database (the demo: `huitouke demo --customers 2000 --no-serve`); it writes only the
session of its signed-in user, as a browser's visit would. Pages: the plans page, the queue page, the dashboard and
the customer list (--page adds or replaces them).
  --compare DIR   run the same requests in a second process whose code comes from DIR (PYTHONPATH=DIR), the two
                  processes taking turns request by request, so both meet the same load; prints both and the ratio.
  --profile URL   print where the Python time of that page goes (cProfile, top functions by own and total time).
  --queries URL   print every query that page runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["/visits/plans/", "/visits/", "/", "/customers/"]


def _setup(user: str) -> object:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huitouke.settings")
    hosts = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
    os.environ["DJANGO_ALLOWED_HOSTS"] = f"{hosts},testserver"
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=user))
    return client


def _one(client: object, url: str) -> tuple[float, int, int]:
    """(ms, queries, status) of one request."""
    import time

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        response = client.get(url)  # type: ignore[attr-defined]
        ms = (time.perf_counter() - started) * 1000
    return ms, len(ctx.captured_queries), response.status_code


def _worker(user: str) -> None:
    """Serve requests read from stdin (one URL a line), answer one JSON line each."""
    client = _setup(user)
    for line in sys.stdin:
        url = line.strip()
        ms, queries, status = _one(client, url)
        print(json.dumps([ms, queries, status]), flush=True)


def _spawn(code_root: Path, user: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(code_root))
    return subprocess.Popen(
        [sys.executable, str(code_root / "benchmarks" / "page_cost.py"), "--worker", "--user", user],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=code_root,
    )


def _ask(proc: subprocess.Popen[str], url: str) -> tuple[float, int, int]:
    assert proc.stdin
    assert proc.stdout
    proc.stdin.write(url + "\n")
    proc.stdin.flush()
    ms, queries, status = json.loads(proc.stdout.readline())
    return ms, queries, status


def _summary(times: list[float]) -> str:
    p95 = statistics.quantiles(times, n=20)[18]
    return f"median {statistics.median(times):7.1f} ms  p95 {p95:7.1f} ms"


def _profile(user: str, url: str) -> None:
    import cProfile
    import pstats

    client = _setup(user)
    for _ in range(3):
        _one(client, url)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(20):
        _one(client, url)
    prof.disable()
    stats = pstats.Stats(prof)
    print(f"--- {url}: 20 requests, by own time")
    stats.sort_stats("tottime").print_stats(25)
    print(f"--- {url}: by cumulative time")
    stats.sort_stats("cumulative").print_stats(45)


def _queries(user: str, url: str) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = _setup(user)
    client.get(url)  # type: ignore[attr-defined]
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)  # type: ignore[attr-defined]
    print(f"--- {url}: {len(ctx.captured_queries)} queries")
    for q in ctx.captured_queries:
        print(f"{q['time']:>6}  {q['sql'][:300]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--user", default="agent", help="the signed-in user's name (default: the demo's agent)")
    parser.add_argument("--requests", type=int, default=40, help="requests timed per page and checkout")
    parser.add_argument("--page", action="append", help="a page to time (repeatable; default: four pages)")
    parser.add_argument("--compare", type=Path, help="another checkout to time next to this one")
    parser.add_argument("--profile", help="profile this page instead of timing")
    parser.add_argument("--queries", help="list the queries of this page instead of timing")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.user)
        return
    if not 5 <= args.requests <= 2000:
        sys.exit("--requests must be in [5, 2000]")
    if args.profile:
        _profile(args.user, args.profile)
        return
    if args.queries:
        _queries(args.user, args.queries)
        return
    pages = args.page or PAGES
    checkouts = {"this": ROOT}
    if args.compare:
        checkouts = {"other": args.compare.resolve(), "this": ROOT}
    procs = {name: _spawn(path, args.user) for name, path in checkouts.items()}
    print(f"load average {os.getloadavg()[0]:.2f}; user {args.user}; {args.requests} requests per page and checkout")
    try:
        for url in pages:
            for proc in procs.values():  # warm: templates, translations, connections
                for _ in range(3):
                    _ask(proc, url)
            times: dict[str, list[float]] = {name: [] for name in procs}
            queries: dict[str, int] = {}
            for _ in range(args.requests):
                for name, proc in procs.items():
                    ms, n, status = _ask(proc, url)
                    if status != 200:
                        sys.exit(f"{url} answered {status} ({name})")
                    times[name].append(ms)
                    queries[name] = n
            for name in procs:
                print(f"{url:<18} {name:<5} {_summary(times[name])}  {queries[name]:3d} queries  ({checkouts[name]})")
            if "other" in times:
                ratio = statistics.median(times["this"]) / statistics.median(times["other"])
                print(f"{url:<18} this/other median ratio {ratio:.2f}")
    finally:
        for proc in procs.values():
            assert proc.stdin
            proc.stdin.close()
            proc.wait()
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
