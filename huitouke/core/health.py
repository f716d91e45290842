"""Probes for load balancers and orchestrators, and the Prometheus scrape endpoint.

- `GET /healthz`: the process answers (no database work): 200 {"status": "ok"}.
- `GET /readyz`: the database answers, every migration is applied and the task queue answers: 200 with each
  check "ok", or 503 naming the failing parts in "failing" (a short reason per check, no connection details).
- `GET /metrics`: Prometheus text format, for a bearer token (HUITOUKE_METRICS_TOKEN) or an allowed network.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from huitouke.core import metrics

log = logging.getLogger(__name__)

#: a process that once saw every migration applied need not load the migration graph again (new migrations come
#: with new code, and new code means new processes)
_migrations_seen_applied = False
#: queue probes registered by the project (core does not know the queues): name → callable raising when down
_queue_probes: dict[str, Callable[[], None]] = {}


def queue_probe_register(name: str, probe: Callable[[], None]) -> None:
    _queue_probes[name] = probe


def check_database() -> str:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any driver error means "not ready"; the detail goes to the log only
        log.warning("readyz: database check failed: %s", exc)
        return "unreachable"
    return "ok"


def check_migrations() -> str:
    global _migrations_seen_applied
    if _migrations_seen_applied:
        return "ok"
    try:
        executor = MigrationExecutor(connections["default"])
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:
        log.warning("readyz: migration check failed: %s", exc)
        return "unreadable"
    if pending:
        return f"{len(pending)} not applied"
    _migrations_seen_applied = True
    return "ok"


def check_queue() -> str:
    failing = []
    for name, probe in _queue_probes.items():
        try:
            probe()
        except Exception as exc:
            log.warning("readyz: queue %s check failed: %s", name, exc)
            failing.append(name)
    return f"unreachable: {', '.join(failing)}" if failing else "ok"


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """The process is up and answering."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> HttpResponse:
    """Ready to serve: database, migrations and queue. 503 names the failing parts."""
    checks = {"database": check_database()}
    checks["migrations"] = check_migrations() if checks["database"] == "ok" else "unknown (database unreachable)"
    checks["queue"] = check_queue()
    failing = [name for name, result in checks.items() if result != "ok"]
    body = {"status": "unavailable" if failing else "ok", "checks": checks, "failing": failing}
    return JsonResponse(body, status=503 if failing else 200)


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition; 403 without the token or outside the allowed networks."""
    if not metrics.scrape_allowed(
        remote_addr=request.META.get("REMOTE_ADDR", ""),
        authorization=request.headers.get("Authorization", ""),
        proxied="X-Forwarded-For" in request.headers,
    ):
        return HttpResponse("metrics: token or allowed network required\n", status=403, content_type="text/plain")
    return HttpResponse(metrics.render(), content_type="text/plain; version=0.0.4; charset=utf-8")
