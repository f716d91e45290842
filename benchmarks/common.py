"""What the PostgreSQL benchmarks share: Django set up against the database named by DATABASE_URL, and percentiles."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def django_setup_postgres(script: str, *, test_client: bool = False) -> None:
    """Exit with a one-line reason unless DATABASE_URL names a PostgreSQL database, then set Django up.
    `test_client`: also serve the test client's host (`testserver`), for benchmarks that time pages."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        sys.exit(f"benchmarks/{script} needs DATABASE_URL=postgres://user@host/db (a database of its own)")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huitouke.settings")
    os.environ.setdefault("HUITOUKE_HOME", str(ROOT / "var" / "bench"))
    if test_client:  # set before settings are read
        hosts = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
        os.environ["DJANGO_ALLOWED_HOSTS"] = f"{hosts},testserver"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank `p`th percentile of `values` (not empty)."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def demo_build_or_reuse(customers: int, reuse: bool) -> int:
    """Migrate, then build the demo with this many customers (or reuse the one there with --reuse); the count."""
    from django.core.management import call_command

    from huitouke.customers.models import Customer
    from huitouke.demo.services import demo_exists

    call_command("migrate", verbosity=0)
    if demo_exists() and reuse:
        n = Customer.objects.count()
        print(f"reusing the demo database: {n} customers")
        return n
    started = time.perf_counter()
    args = ["--no-serve", "--customers", str(customers)]
    if demo_exists():
        args.append("--reset")
    call_command("demo", *args)
    print(f"demo build: {customers} customers in {time.perf_counter() - started:.0f} s")
    return customers
