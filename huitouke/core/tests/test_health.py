"""Probes, metrics and request ids: /healthz, /readyz (503 naming the failing part), /metrics (token or network),
X-Request-ID on answers, log lines and queued tasks."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client

from huitouke.core import health
from huitouke.core.models import Job
from huitouke.core.observability import (
    JsonFormatter,
    RequestIdFilter,
    RequestIdSerializer,
    accept_request_id,
    request_id_var,
)
from huitouke.core.services import job_create, periodic_run_claim

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_migration_memory(monkeypatch: Any) -> None:
    monkeypatch.setattr(health, "_migrations_seen_applied", False)


def test_healthz_answers_without_a_login(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"].startswith("max-age=0")


def test_readyz_is_ok_when_everything_answers(client: Client) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "migrations": "ok", "queue": "ok"},
        "failing": [],
    }


def test_readyz_names_unapplied_migrations(client: Client) -> None:
    # core's newest migration (an older one would not show: the plan starts from the applied leaf)
    [(_app, newest)] = [node for node in MigrationLoader(None).graph.leaf_nodes() if node[0] == "core"]
    MigrationRecorder.Migration.objects.filter(app="core", name=newest).delete()

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "1 not applied"
    assert response.json()["failing"] == ["migrations"]


def test_readyz_names_an_unreachable_queue(client: Client, monkeypatch: Any) -> None:
    def down() -> None:
        raise ConnectionError("Error 111 connecting to 10.0.0.9:6379")

    monkeypatch.setitem(health._queue_probes, "tasks", down)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "migrations": "ok", "queue": "unreachable: tasks"},
        "failing": ["queue"],
    }


def test_readyz_refuses_posts(client: Client) -> None:
    assert client.post("/readyz").status_code == 405


def test_metrics_are_refused_outside_the_allowed_networks(client: Client) -> None:
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 403
    assert b"huitouke_" not in response.content


def test_metrics_with_the_token_from_anywhere(client: Client, settings: Any) -> None:
    settings.HUITOUKE_METRICS_TOKEN = "s3cret-token-for-scrapes"

    right = client.get("/metrics", REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION="Bearer s3cret-token-for-scrapes")
    wrong = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_AUTHORIZATION="Bearer guess")

    assert right.status_code == 200
    assert wrong.status_code == 403


def _samples(text: str) -> dict[str, float]:
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


def test_metrics_count_requests_jobs_and_periodic_runs(client: Client, settings: Any) -> None:
    settings.HUITOUKE_METRICS_CACHE_SECONDS = 0
    for _ in range(3):
        client.get("/healthz")
    Job.objects.bulk_create([Job(kind="orders_import", status="queued"), Job(kind="orders_import", status="done")])
    job_create(kind="orders_import")
    from datetime import UTC, datetime

    periodic_run_claim(task="care_tick", period=datetime(2026, 3, 1, 8, 5, tzinfo=UTC), worker="a:1")

    samples = _samples(client.get("/metrics").content.decode())

    assert samples['huitouke_http_requests_total{method="GET",status="200",view="core:healthz"}'] >= 3
    assert samples['huitouke_http_request_duration_seconds_count{view="core:healthz"}'] >= 3
    assert samples['huitouke_jobs{kind="orders_import",status="queued"}'] == 2
    assert samples['huitouke_jobs{kind="orders_import",status="done"}'] == 1
    assert samples['huitouke_periodic_runs_total{task="care_tick"}'] == 1
    assert samples['huitouke_queue_depth{queue="imports"}'] == 0
    assert samples["huitouke_fleet_metrics_up"] == 1
    assert {k for k in samples if k.startswith("huitouke_queue_depth")} == {
        'huitouke_queue_depth{queue="default"}',
        'huitouke_queue_depth{queue="imports"}',
        'huitouke_queue_depth{queue="sending"}',
    }


def test_every_answer_carries_a_request_id(client: Client) -> None:
    given = client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a9c21")
    fresh = client.get("/healthz")
    forged = client.get("/healthz", HTTP_X_REQUEST_ID='x"\n{"level":"ERROR"}')

    assert given["X-Request-ID"] == "lb-7f3a9c21"
    assert len(fresh["X-Request-ID"]) == 32
    assert forged["X-Request-ID"] != 'x"\n{"level":"ERROR"}'
    assert len(forged["X-Request-ID"]) == 32


@pytest.mark.parametrize(
    ("value", "kept"),
    [("abcdefgh", True), ("a" * 64, True), ("a" * 65, False), ("short", False), ("has space1", False), (None, False)],
)
def test_accepted_request_ids(value: str | None, kept: bool) -> None:
    assert (accept_request_id(value) == value) is kept


def test_json_log_lines_carry_the_request_id() -> None:
    record = logging.LogRecord("huitouke.jobs", logging.WARNING, __file__, 1, "care tick: %s", ("late",), None)
    token = request_id_var.set("req-12345678")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)

    line = json.loads(JsonFormatter().format(record))

    assert {k: line[k] for k in ("level", "logger", "message", "request_id")} == {
        "level": "WARNING",
        "logger": "huitouke.jobs",
        "message": "care tick: late",
        "request_id": "req-12345678",
    }


def test_a_queued_task_carries_the_request_id_to_the_worker() -> None:
    serializer = RequestIdSerializer()
    token = request_id_var.set("req-abcdef12")
    try:
        data = serializer.serialize(("message", 1))
    finally:
        request_id_var.reset(token)
    assert request_id_var.get() == ""

    assert serializer.deserialize(data) == ("message", 1)  # in the worker thread, before the task runs
    assert request_id_var.get() == "req-abcdef12"
    request_id_var.set("")


def test_metrics_survive_an_unreachable_queue(client: Client, settings: Any, monkeypatch: Any) -> None:
    from huitouke import metrics as fleet_metrics

    settings.HUITOUKE_METRICS_CACHE_SECONDS = 0

    def down() -> dict[str, int]:
        raise ConnectionError("Error 111 connecting to 10.0.0.9:6379")

    monkeypatch.setattr(fleet_metrics, "queue_depths", down)
    client.get("/healthz")

    response = client.get("/metrics")
    samples = _samples(response.content.decode())

    assert response.status_code == 200
    assert samples["huitouke_fleet_metrics_up"] == 0
    assert samples['huitouke_http_requests_total{method="GET",status="200",view="core:healthz"}'] >= 1
    assert not any(name.startswith("huitouke_jobs") for name in samples)
