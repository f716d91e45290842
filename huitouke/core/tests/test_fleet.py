"""The fleet's rules in one process: periodic claims, period stamps, hand-back on SIGTERM, lost-worker recovery,
queue names. The same rules across real worker processes: test_fleet_processes.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from huey import crontab

from huitouke.core import fleet
from huitouke.core.models import Job, PeriodicRun, WorkerBeat
from huitouke.core.services import (
    JOB_MAX_ATTEMPTS,
    LOST_WORKER_REASON,
    job_create,
    job_progress,
    job_register,
    job_start,
    jobs_recover,
    periodic_run_claim,
    periodic_runs_prune,
    worker_beat,
    worker_gone,
)
from huitouke.management.commands.worker import parse_queues

pytestmark = pytest.mark.django_db


def test_a_period_is_claimed_once_whoever_asks() -> None:
    period = datetime(2026, 3, 1, 8, 5, tzinfo=UTC)

    first = periodic_run_claim(task="care_tick", period=period, worker="a:1")
    second = periodic_run_claim(task="care_tick", period=period, worker="b:2")
    other_task = periodic_run_claim(task="service_sla_tick", period=period, worker="b:2")
    next_period = periodic_run_claim(task="care_tick", period=period + timedelta(minutes=5), worker="c:3")

    assert first is not None
    assert second is None
    assert other_task is not None
    assert next_period is not None
    assert list(PeriodicRun.objects.filter(task="care_tick").values_list("worker", flat=True)) == ["c:3", "a:1"]


def test_a_naive_period_is_read_as_utc() -> None:
    """Huey's scheduler works in naive UTC; the claim stores it as that instant."""
    assert periodic_run_claim(task="t", period=datetime(2026, 3, 1, 8, 5), worker="a:1") is not None
    assert periodic_run_claim(task="t", period=datetime(2026, 3, 1, 8, 5, tzinfo=UTC), worker="b:2") is None


def test_the_scheduler_stamps_each_tick_with_its_minute() -> None:
    tasks = fleet.primary().read_periodic(datetime(2026, 3, 1, 8, 5, 42, 123))
    names = {type(t).__name__: t.kwargs for t in tasks}

    assert names["care_tick"] == {"period": "2026-03-01T08:05:00"}
    assert names["service_sla_tick"] == {"period": "2026-03-01T08:05:00"}
    assert names["messages_tick"] == {"period": "2026-03-01T08:05:00"}
    assert "levels_nightly" not in names  # 03:30 only


def test_a_fleet_periodic_task_does_its_work_once_per_period() -> None:
    calls: list[int] = []

    @fleet.fleet_periodic_task(crontab(minute="*"))
    def test_fleet_counter() -> int:
        calls.append(1)
        return len(calls)

    try:
        run = test_fleet_counter.func  # the wrapped function the consumer calls with the stamped period
        assert run(period="2026-03-01T08:05:00") == 1
        assert run(period="2026-03-01T08:05:00") is None  # a second worker's copy of the same tick
        assert run(period="2026-03-01T08:06:00") == 2
        assert test_fleet_counter.call_local() == 3  # direct calls (tests, commands) never claim
        assert PeriodicRun.objects.filter(task="test_fleet_counter", finished_at__isnull=False).count() == 2
    finally:
        test_fleet_counter.unregister()


def test_old_claims_are_pruned() -> None:
    now = timezone.now()
    periodic_run_claim(task="t", period=now - timedelta(days=31), worker="a:1")
    periodic_run_claim(task="t", period=now - timedelta(days=29), worker="a:1")

    assert periodic_runs_prune(older_than_days=30) == 1
    assert PeriodicRun.objects.count() == 1


@pytest.fixture
def requeued(monkeypatch: Any) -> list[int]:
    """A job kind whose runner records what was queued again (instead of running it)."""
    queued: list[int] = []
    job_register("test_fleet_kind", queued.append)
    return queued


def test_a_stopping_worker_hands_its_job_back(requeued: list[int], django_capture_on_commit_callbacks: Any) -> None:
    job = job_create(kind="test_fleet_kind")
    job_start(job_id=job.pk)
    fleet.stopping.set()

    def work() -> None:
        job_progress(job_id=job.pk, done=10, total=100)
        raise AssertionError("the work goes on after the hand-back")  # pragma: no cover

    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert fleet._close_db(work)() is None
    finally:
        fleet.stopping.clear()

    job.refresh_from_db()
    assert (job.status, job.started_at, job.deadline, job.worker, job.attempts) == ("queued", None, None, "", 1)
    assert requeued == [job.pk]


def test_job_start_records_the_worker_and_counts_attempts() -> None:
    job = job_create(kind="test_fleet_kind")

    started = job_start(job_id=job.pk)

    assert started.worker == fleet.worker_name()
    assert started.attempts == 1


def test_the_jobs_of_a_killed_worker_are_queued_again(
    requeued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    now = timezone.now()
    worker_beat(name="dead:1", queues="default")
    worker_beat(name="alive:2", queues="default")
    WorkerBeat.objects.filter(name="dead:1").update(beat_at=now - timedelta(seconds=61))
    lost = job_create(kind="test_fleet_kind")
    again = job_create(kind="test_fleet_kind")
    healthy = job_create(kind="test_fleet_kind")
    Job.objects.filter(pk=lost.pk).update(status="running", worker="dead:1", attempts=1)
    Job.objects.filter(pk=again.pk).update(status="running", worker="dead:1", attempts=JOB_MAX_ATTEMPTS)
    Job.objects.filter(pk=healthy.pk).update(status="running", worker="alive:2", attempts=1)

    with django_capture_on_commit_callbacks(execute=True):
        result = jobs_recover(now=now)

    assert result == {"requeued": 1, "failed": 1, "workers": 1}
    assert requeued == [lost.pk]
    statuses = dict(Job.objects.values_list("pk", "status"))
    assert statuses == {lost.pk: "queued", again.pk: "failed", healthy.pk: "running"}
    assert Job.objects.get(pk=again.pk).error == LOST_WORKER_REASON
    assert list(WorkerBeat.objects.values_list("name", flat=True)) == ["alive:2"]
    assert jobs_recover(now=now) == {"requeued": 0, "failed": 0, "workers": 0}


def test_a_worker_that_stops_on_purpose_leaves_no_beat() -> None:
    worker_beat(name="w:1", queues="default,imports")
    worker_beat(name="w:1", queues="default,imports")
    assert WorkerBeat.objects.count() == 1

    worker_gone(name="w:1")

    assert WorkerBeat.objects.count() == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("default,imports,sending", ["default", "imports", "sending"]),
        ("imports", ["imports"]),
        (" sending , sending ", ["sending"]),
    ],
)
def test_queue_names(value: str, expected: list[str]) -> None:
    assert parse_queues(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "--queues needs at least one queue name"),
        ("imports,mail", "unknown queue 'mail' in --queues; the queues are default, imports, sending"),
    ],
)
def test_bad_queue_names_are_named(value: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(") + "$"):
        parse_queues(value)


def test_each_queue_is_its_own_huey() -> None:
    names = {name: fleet.queue(name).name for name in fleet.QUEUES}

    assert names == {"default": "huitouke", "imports": "huitouke-imports", "sending": "huitouke-sending"}
    # no REDIS_URL in the tests: the embedded queue file (the default queue runs in memory in immediate mode)
    assert type(fleet.queue("imports").storage).__name__ == "SqliteStorage"
    with pytest.raises(ValueError, match="unknown queue 'mail'"):
        fleet.queue("mail")
