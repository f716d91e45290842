"""The task queues of a fleet of workers (Huey), and periodic tasks that run once per period across the fleet.

Queues. Huey has one queue per instance; Huitouke has three, so an operator can dedicate workers
(`huitouke worker --queues imports`):

- `default`: everything else, and every periodic task (the care tick, SLA tick, nightly analytics …);
- `imports`: order imports (long, CPU-bound);
- `sending`: the message dispatcher's runs.

Each queue is a Huey instance of the configured class (Redis with REDIS_URL, the SQLite queue file otherwise)
named `huitouke` (default) or `huitouke-<queue>`. In immediate mode (tests, HUEY_IMMEDIATE) the other queues run
their tasks at once like the default one.

Periodic tasks. Every worker runs Huey's scheduler, which queues each periodic task when its crontab matches, so a
fleet of N workers queues each tick N times. `FleetHueyMixin.read_periodic` stamps each queued tick with its
period (the scheduler's minute), and `fleet_periodic_task` lets only the run that claims (task, period) in the
database (`core.PeriodicRun`, UNIQUE) do the work; the others return at once. A run killed mid-way is not redone
for that period: every periodic task here is a catch-up tick whose next period does what the lost one missed.

This module is loaded by Huey's Django integration while the apps are still loading: no models at import time.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from huey import RedisHuey, SqliteHuey
from huey.api import Huey

log = logging.getLogger(__name__)

QUEUES = ("default", "imports", "sending")
_PRIMARY_NAME = "huitouke"

#: set when this worker process is stopping (SIGTERM): a running job hands itself back at its next progress report
stopping = threading.Event()


class JobHandedBack(BaseException):
    """Raised by `job_progress` into a job's work while its worker stops. A BaseException, so that the work's own
    `except Exception` (which fails a job) lets it through to `queue_task`'s wrapper, which requeues the job."""

    def __init__(self, job_id: int) -> None:
        super().__init__(f"job {job_id} handed back by a stopping worker")
        self.job_id = job_id


class FleetHueyMixin:
    """Stamps each periodic task the scheduler queues with the minute it was queued for (its period)."""

    def read_periodic(self, timestamp: datetime | None) -> list[Any]:
        tasks = super().read_periodic(timestamp)  # type: ignore[misc]  # the Huey class this is mixed into
        stamp = (timestamp or self._get_timestamp()).replace(second=0, microsecond=0)  # type: ignore[attr-defined]
        for task in tasks:
            task.kwargs = {**task.kwargs, "period": stamp.isoformat()}
        return list(tasks)


class FleetRedisHuey(FleetHueyMixin, RedisHuey):
    pass


class FleetSqliteHuey(FleetHueyMixin, SqliteHuey):
    pass


def worker_name() -> str:
    """host:pid, written on claimed periodic runs and message leases."""
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def primary() -> Huey:
    from huey.contrib.djhuey import HUEY

    return HUEY


class _QueueHuey:
    """Created on first use from the primary's class and connection settings."""

    _instances: dict[str, Huey] = {}

    @classmethod
    def get(cls, name: str) -> Huey:
        if name == "default":
            return primary()
        if name not in QUEUES:
            raise ValueError(f"unknown queue {name!r}; the queues are {', '.join(QUEUES)}")
        if name not in cls._instances:
            from django.conf import settings

            config = dict(settings.HUEY)
            huey_class = _load(config.pop("huey_class"))
            connection = config.pop("connection", {})
            config.pop("consumer", None)
            config.pop("name", None)
            config["immediate"] = False
            cls._instances[name] = _follow_primary(huey_class)(f"{_PRIMARY_NAME}-{name}", **config, **connection)
        return cls._instances[name]


def _load(path: str) -> type[Huey]:
    from django.utils.module_loading import import_string

    return import_string(path)


def _follow_primary(huey_class: type[Huey]) -> type[Huey]:
    class FollowingHuey(huey_class):
        """Runs tasks at once whenever the primary queue does (tests flip the primary's immediate mode only)."""

        def enqueue(self, task: Any) -> Any:
            if primary().immediate:
                return primary().execute(task)  # a task for later lands in the primary's in-memory schedule
            return super().enqueue(task)

    return FollowingHuey


def queue(name: str) -> Huey:
    """The Huey instance of a queue (`default`, `imports`, `sending`)."""
    return _QueueHuey.get(name)


def _close_db(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def inner(*args: Any, **kwargs: Any) -> Any:
        from django.db import close_old_connections

        in_worker = not primary().immediate  # immediate mode runs inside the caller's connection (tests)
        if in_worker:
            close_old_connections()
        try:
            return fn(*args, **kwargs)
        except JobHandedBack as handed:
            from huitouke.core.services import job_hand_back

            job_hand_back(job_id=handed.job_id)
            log.warning("job %s handed back to the queue (worker stopping)", handed.job_id)
            return None
        finally:
            if in_worker:
                close_old_connections()

    return inner


def queue_task(name: str, **options: Any) -> Callable[[Callable[..., Any]], Any]:
    """Like djhuey's `db_task`, on the named queue."""

    def decorator(fn: Callable[..., Any]) -> Any:
        wrapped = queue(name).task(**options)(_close_db(fn))
        wrapped.call_local = fn
        return wrapped

    return decorator


def fleet_periodic_task(validate: Callable[[datetime], bool], **options: Any) -> Callable[[Callable[..., Any]], Any]:
    """A periodic task on the default queue that runs once per period across the fleet (see the module doc).
    `call_local()` runs the work directly without a claim (tests, commands)."""

    def decorator(fn: Callable[..., Any]) -> Any:
        name = fn.__name__

        def run(period: str | None = None) -> Any:
            from huitouke.core.services import periodic_run_claim, periodic_run_finish

            if period is None:
                return fn()
            claim = periodic_run_claim(task=name, period=datetime.fromisoformat(period), worker=worker_name())
            if claim is None:
                log.info("periodic %s for %s: already run by another worker", name, period)
                return None
            log.info("periodic %s for %s: running here", name, period)
            try:
                return fn()
            finally:
                periodic_run_finish(run_id=claim)

        run.__name__ = name
        run.__qualname__ = fn.__qualname__
        run.__module__ = fn.__module__
        run.__doc__ = fn.__doc__
        wrapped = primary().periodic_task(validate, name=name, **options)(_close_db(run))
        wrapped.call_local = fn
        return wrapped

    return decorator


def queue_depths() -> dict[str, int]:
    """Tasks waiting in each queue (not counting tasks scheduled for later)."""
    return {name: int(queue(name).pending_count()) for name in QUEUES}


def queue_ping() -> None:
    """Raise when the queue storage does not answer (Redis down, queue file unreadable)."""
    storage = primary().storage
    conn = getattr(storage, "conn", None)
    if conn is not None and hasattr(conn, "ping"):
        conn.ping()
    else:
        storage.queue_size()
