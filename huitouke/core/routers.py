"""Reads from a PostgreSQL streaming replica (DATABASE_REPLICA_URL) for the heavy read-only pages.

- Only the GET/HEAD requests of the views listed in HUITOUKE_REPLICA_VIEWS (analytics, segment counts, exports,
  staff and review reports; "namespace:name" or "namespace:*") read from the replica; everything else, every write
  and all background work use the primary.
- Read-your-writes: a request that changes something (POST, PUT, PATCH, DELETE) sets a short cookie; while it
  lasts (HUITOUKE_REPLICA_PIN_SECONDS, longer than the replica's usual lag) that browser reads from the primary
  everywhere, so the person who just saved a segment or imported orders sees their change at once.
- Without a replica configured the router answers None everywhere (Django's default database).
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

REPLICA = "replica"
PIN_COOKIE = "htk_primary_until"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

_use_replica: contextvars.ContextVar[bool] = contextvars.ContextVar("use_replica", default=False)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


@contextmanager
def replica_reads() -> Iterator[None]:
    """Within the block, reads go to the replica (when one is configured)."""
    token = _use_replica.set(replica_configured())
    try:
        yield
    finally:
        _use_replica.reset(token)


class ReplicaRouter:
    """Reads in a `replica_reads` block go to the replica; writes, migrations and everything else to the primary."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        return REPLICA if _use_replica.get() else None

    def db_for_write(self, model: type[Any], **hints: Any) -> str | None:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True  # the replica is a copy of the primary: its rows are the same rows

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool | None:
        return db != REPLICA


def view_reads_replica(view_name: str, patterns: list[str]) -> bool:
    """Whether a URL name ("analytics:dashboard") matches one of the patterns ("analytics:*", "audiences:count")."""
    namespace = view_name.rsplit(":", 1)[0] if ":" in view_name else ""
    return any(p == view_name or (p.endswith(":*") and p[:-2] == namespace) for p in patterns)


def pinned(request: HttpRequest, now: float | None = None) -> bool:
    """The browser changed something a moment ago: read from the primary."""
    try:
        until = float(request.COOKIES.get(PIN_COOKIE, "0"))
    except ValueError:
        return False
    return until > (now if now is not None else time.time())


class ReplicaMiddleware:
    """Sends the listed views' reads to the replica unless the browser is pinned; pins after a change."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _use_replica.set(False)  # process_view may turn it on for this request only
        try:
            response = self.get_response(request)
        finally:
            _use_replica.reset(token)
        if replica_configured() and request.method not in SAFE_METHODS and response.status_code < 500:
            seconds = settings.HUITOUKE_REPLICA_PIN_SECONDS
            response.set_cookie(
                PIN_COOKIE,
                f"{time.time() + seconds:.0f}",
                max_age=seconds,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response

    def process_view(self, request: HttpRequest, view: Any, args: Any, kwargs: Any) -> HttpResponse | None:
        match = request.resolver_match
        if (
            replica_configured()
            and request.method in ("GET", "HEAD")
            and match is not None
            and view_reads_replica(match.view_name, settings.HUITOUKE_REPLICA_VIEWS)
            and not pinned(request)
        ):
            _use_replica.set(True)  # until __call__ resets it when the response is made
            request.reads_replica = True  # type: ignore[attr-defined]  # for the access log and tests
        return None
