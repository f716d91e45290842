"""Reads from a replica: which views read from it, pinning after a change, and the whole path against a real
PostgreSQL streaming replica started by the test (pgcluster.py: initdb + pg_basebackup -R + pg_ctl)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.urls import resolve

from huitouke.core import routers
from huitouke.core.models import Job
from huitouke.core.routers import PIN_COOKIE, ReplicaMiddleware, ReplicaRouter, pinned, view_reads_replica
from huitouke.core.tests import pgcluster

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        ("analytics:dashboard", True),
        ("service_reports:performance", True),
        ("service_reports:recovery", True),
        ("audiences:count", True),
        ("audiences:edit", False),
        ("analytics:refresh", False),
        ("customers:list", False),
        ("login", False),
    ],
)
def test_the_listed_views_read_from_the_replica(view: str, expected: bool, settings: Any) -> None:
    assert view_reads_replica(view, settings.HUITOUKE_REPLICA_VIEWS) is expected


@pytest.mark.parametrize(("cookie", "expected"), [("1000", True), ("999", False), ("", False), ("soon", False)])
def test_a_recent_change_pins_the_browser_to_the_primary(cookie: str, expected: bool) -> None:
    request = RequestFactory().get("/", HTTP_COOKIE=f"{PIN_COOKIE}={cookie}")

    assert pinned(request, now=999.5) is expected


def _run(request: HttpRequest) -> tuple[HttpResponse, list[str | None]]:
    """The request through ReplicaMiddleware; the view records where the router sends a read."""
    seen: list[str | None] = []

    def view(req: HttpRequest) -> HttpResponse:
        seen.append(ReplicaRouter().db_for_read(Job))
        return HttpResponse("ok")

    def handler(req: HttpRequest) -> HttpResponse:  # as Django's handler: process_view, then the view
        middleware.process_view(req, view, (), {})
        return view(req)

    middleware = ReplicaMiddleware(handler)
    request.resolver_match = resolve(request.path)
    return middleware(request), seen


def test_the_middleware_routes_listed_gets_and_pins_after_posts(monkeypatch: Any, settings: Any) -> None:
    monkeypatch.setattr(routers, "replica_configured", lambda: True)
    settings.HUITOUKE_REPLICA_PIN_SECONDS = 10
    factory = RequestFactory()

    _, listed = _run(factory.get("/analytics/"))
    _, other = _run(factory.get("/customers/"))
    posted, on_post = _run(factory.post("/analytics/"))
    pin = posted.cookies[PIN_COOKIE]
    _, after_post = _run(factory.get("/analytics/", HTTP_COOKIE=f"{PIN_COOKIE}={pin.value}"))

    assert listed == ["replica"]
    assert other == [None]
    assert on_post == [None]
    assert pin["max-age"] == 10
    assert pin["httponly"] is True
    assert float(pin.value) > time.time() + 5
    assert after_post == [None]
    assert ReplicaRouter().db_for_read(Job) is None  # nothing leaks into the next request
    assert ReplicaRouter().db_for_write(Job) == "default"
    assert ReplicaRouter().allow_migrate("replica", "core") is False


def test_without_a_replica_nothing_changes(settings: Any) -> None:
    assert "replica" not in settings.DATABASES
    response, seen = _run(RequestFactory().post("/analytics/"))

    assert seen == [None]
    assert PIN_COOKIE not in response.cookies


SCRIPT = r"""
import json, time
from django.contrib.auth.models import User
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from huitouke.core.models import Job

def replica_has(model, **filters):
    deadline = time.time() + 30
    while time.time() < deadline:
        if model.objects.using("replica").filter(**filters).exists():
            return True
        time.sleep(0.05)
    return False

out = {}
with connections["replica"].cursor() as c:
    c.execute("SELECT pg_is_in_recovery()")
    out["replica_in_recovery"] = c.fetchone()[0]
with connections["default"].cursor() as c:
    c.execute("SELECT pg_is_in_recovery()")
    out["primary_in_recovery"] = c.fetchone()[0]

user = User.objects.create_user("replica-reader", password="pass-word-123")
job = Job.objects.create(kind="probe", created_by=user, status="done", result={"rows": 7})
client = Client()
client.force_login(user)  # the session is written on the primary, without a request (so without a pin)
from django.contrib.sessions.models import Session
out["replicated"] = replica_has(Job, pk=job.pk) and replica_has(Session, session_key=client.session.session_key)

with CaptureQueriesContext(connections["replica"]) as on_replica:
    page = client.get(f"/jobs/{job.pk}/")
out["listed_status"] = page.status_code
out["listed_replica_queries"] = len(on_replica.captured_queries)
out["listed_job_read_on_replica"] = any('"core_job"' in q["sql"] for q in on_replica.captured_queries)

# a change (any POST) pins this browser to the primary: a job created just now is found at once, lag or not
changed = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
out["pin_cookie"] = "htk_primary_until" in changed.cookies
fresh = Job.objects.create(kind="probe", created_by=user, status="done", result={"rows": 8})
with CaptureQueriesContext(connections["replica"]) as on_replica:
    page = client.get(f"/jobs/{fresh.pk}/")
out["pinned_status"] = page.status_code
out["pinned_replica_queries"] = len(on_replica.captured_queries)

try:
    with connections["replica"].cursor() as c:
        c.execute("UPDATE core_job SET stage = 'x'")
    out["replica_write"] = "accepted"
except Exception as exc:
    out["replica_write"] = type(exc).__name__ + ": " + str(exc).splitlines()[0]
print("RESULT " + json.dumps(out))
"""


@pytest.mark.skipif(pgcluster.why_impossible() is not None, reason=str(pgcluster.why_impossible()))
def test_heavy_pages_read_from_a_real_streaming_replica(tmp_path: Path) -> None:
    cluster = pgcluster.start()
    try:
        env = {
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(ROOT),
            "HUITOUKE_HOME": str(tmp_path),
            "DATABASE_URL": cluster.primary_url,
            "DATABASE_REPLICA_URL": cluster.replica_url,
            "DJANGO_ALLOWED_HOSTS": "testserver",
            "HUITOUKE_REPLICA_VIEWS": "core:job",
            "HUEY_IMMEDIATE": "true",
        }
        cli = [sys.executable, "-m", "huitouke.cli"]
        subprocess.run([*cli, "migrate", "--no-input", "-v0"], env=env, check=True, timeout=600)
        done = subprocess.run([*cli, "shell", "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300)
        line = next((ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")), None)
        assert line is not None, done.stderr[-3000:]
        out = json.loads(line.removeprefix("RESULT "))
    finally:
        pgcluster.stop(cluster)

    assert out["replica_in_recovery"] is True
    assert out["primary_in_recovery"] is False
    assert out["replicated"] is True
    assert out["listed_status"] == 200
    # the job (the session and the user are read by AccessMiddleware before the view is routed: on the primary)
    assert out["listed_replica_queries"] >= 1
    assert out["listed_job_read_on_replica"] is True
    assert out["pin_cookie"] is True
    assert out["pinned_status"] == 200
    assert out["pinned_replica_queries"] == 0
    assert "cannot execute UPDATE in a read-only transaction" in out["replica_write"]
