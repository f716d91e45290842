"""Three real `huitouke worker` processes sharing one Redis queue and the test database.

- Periodic ticks: every worker's scheduler queues each minute's ticks, and every copy is executed by some worker,
  yet per (task, period) exactly one run does the work (the log says "running here" once, "already run by another
  worker" for the other copies) and `PeriodicRun` holds one row per period.
- SIGKILL: the worker running an order import is killed mid-way; its beat goes silent, the next minute's tick
  queues the job again, another worker finishes it: every order of the file is there once, the job is done on its
  second attempt.
- SIGTERM: the worker running the next import is asked to stop; it hands the job back at its next progress report
  and leaves with code 0 ("Worker stopped."); another worker finishes the job.

Needs Redis on 127.0.0.1:6379 (database 14 of it is flushed); skipped with that reason otherwise. A fleet of
workers on several hosts is a PostgreSQL + Redis deployment (docs/deployment.md): the test runs in the PostgreSQL
run of the suite and is skipped on the embedded SQLite, which serves one machine's web process and worker.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from benchmarks.taobao_export import write_export_pair
from huitouke.core.models import Job, PeriodicRun, WorkerBeat
from huitouke.orders.models import Order

REDIS_URL = "redis://127.0.0.1:6379/14"
ROOT = Path(__file__).resolve().parents[3]


def _redis_up() -> bool:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception:
        return False
    return True


pytestmark = [
    pytest.mark.skipif(not _redis_up(), reason="needs Redis on 127.0.0.1:6379 for the shared queue"),
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3",
        reason="a worker fleet runs on PostgreSQL + Redis; the embedded SQLite serves one machine",
    ),
    pytest.mark.django_db(transaction=True),
]


def _database_url() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _env(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": _database_url(),
        "HUITOUKE_HOME": str(home),
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "REDIS_URL": REDIS_URL,
        "HUEY_IMMEDIATE": "false",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "HUITOUKE_WORKER_BEAT_TIMEOUT": "5",
        "HUITOUKE_WORKER_SHUTDOWN_SECONDS": "60",
    }


class Fleet:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str) -> subprocess.Popen[bytes]:
        log = (self.home / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "huitouke.cli", "worker", "--queues", "default,imports", "--workers", "1"],
            env=_env(self.home),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs[name] = proc
        return proc

    def by_pid(self, pid: int) -> str:
        return next(name for name, proc in self.procs.items() if proc.pid == pid)

    def lines(self) -> list[dict[str, Any]]:
        out = []
        for path in sorted(self.home.glob("w*.log")):
            for raw in path.read_text(errors="replace").splitlines():
                if raw.startswith("{"):
                    line = json.loads(raw)
                    line["file"] = path.stem
                    out.append(line)
        return out

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)


def _wait(what: str, check: Any, timeout: float, fleet: Fleet) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    tail = "\n".join(json.dumps(line, ensure_ascii=False) for line in fleet.lines()[-30:])
    raise AssertionError(f"timed out waiting for {what}; last log lines:\n{tail}")


def _enqueue_import(home: Path, job_id: int) -> None:
    """Queue the job's task into the shared Redis queue (as the upload page does, from a process with REDIS_URL)."""
    code = (
        "from huitouke.core.observability import request_id_var; from huitouke.jobs import orders_import_task; "
        f"request_id_var.set('upload-req-{job_id:06d}'); orders_import_task({job_id})"
    )  # as a web request queues it: the task carries that request's id
    subprocess.run(
        [sys.executable, "-m", "huitouke.cli", "shell", "-c", code],
        env=_env(home),
        check=True,
        capture_output=True,
        timeout=120,
    )  # fmt: skip


def _import_job(folder: Path, seed: int, shop: str) -> tuple[Job, int]:
    pair = write_export_pair(folder, lines=60_000, seed=seed)
    job = Job.objects.create(
        kind="orders_import",
        params={"path": str(pair.orders_path), "items_path": str(pair.items_path), "fmt": "auto", "shop": shop},
    )
    return job, pair.orders


def _worker_pid(job: Job) -> int:
    job.refresh_from_db()
    return int(job.worker.rsplit(":", 1)[1]) if job.status == "running" and job.worker else 0


def test_three_workers_share_work_run_ticks_once_and_survive_kill_and_stop(tmp_path: Path) -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    home = tmp_path / "fleet"
    home.mkdir()
    fleet = Fleet(home)
    try:
        for name in ("w1", "w2", "w3"):
            fleet.start(name)
        _wait("three beating workers", lambda: WorkerBeat.objects.count() == 3, 120, fleet)

        # periodic ticks: every worker queued the minute's copy; one run per period did the work
        def tick_lines() -> list[dict[str, Any]]:
            return [line for line in fleet.lines() if line["message"].startswith("periodic jobs_expire_periodic for ")]

        _wait("each worker's copy of the first tick", lambda: len(tick_lines()) >= 3, 90, fleet)
        per_period: dict[str, Counter[str]] = {}
        for line in tick_lines():
            period, outcome_text = line["message"].removeprefix("periodic jobs_expire_periodic for ").rsplit(": ", 1)
            outcome = "ran" if outcome_text == "running here" else "skipped"
            per_period.setdefault(period, Counter())[outcome] += 1
        assert all(counts["ran"] == 1 for counts in per_period.values()), per_period
        assert sum(sum(c.values()) for c in per_period.values()) >= 3
        assert PeriodicRun.objects.filter(task="jobs_expire_periodic").count() == len(per_period)

        # SIGKILL mid-import: the job is queued again and finished by another worker, nothing lost or doubled
        job, orders = _import_job(tmp_path / "a", seed=11, shop="Fleet A")
        _enqueue_import(home, job.pk)
        pid = _wait("the import to start", lambda: _worker_pid(job), 120, fleet)
        killed = fleet.by_pid(pid)
        os.killpg(pid, signal.SIGKILL)
        fleet.procs[killed].wait(timeout=30)
        _wait("the import to finish elsewhere", lambda: Job.objects.get(pk=job.pk).status in ("done", "failed"), 240,
              fleet)  # fmt: skip
        job.refresh_from_db()
        assert (job.status, job.attempts, job.error) == ("done", 2, "")
        assert not job.worker.endswith(f":{pid}")
        assert Order.objects.count() == orders
        # the worker's lines for the queued task carry the id of the request that queued it
        assert {
            line["file"]
            for line in fleet.lines()
            if line["request_id"] == f"upload-req-{job.pk:06d}" and "orders_import_task" in line["message"]
        }

        # SIGTERM mid-import: the job is handed back and finished by the last worker
        second, more = _import_job(tmp_path / "b", seed=12, shop="Fleet B")
        _enqueue_import(home, second.pk)
        pid = _wait("the second import to start", lambda: _worker_pid(second), 120, fleet)
        stopped = fleet.by_pid(pid)
        os.kill(pid, signal.SIGTERM)
        assert fleet.procs[stopped].wait(timeout=120) == 0
        assert "Worker stopped." in (home / f"{stopped}.log").read_text()
        _wait("the second import to finish", lambda: Job.objects.get(pk=second.pk).status in ("done", "failed"), 240,
              fleet)  # fmt: skip
        second.refresh_from_db()
        assert (second.status, second.attempts) == ("done", 2)
        assert any(
            line["message"] == f"job {second.pk} handed back to the queue (worker stopping)" for line in fleet.lines()
        )
        assert Order.objects.count() == orders + more
        assert WorkerBeat.objects.count() == 1  # the stopped one left, the killed one was forgotten
    finally:
        fleet.stop_all()
        redis.Redis.from_url(REDIS_URL).flushdb()
        shutil.rmtree(tmp_path / "a", ignore_errors=True)
        shutil.rmtree(tmp_path / "b", ignore_errors=True)
