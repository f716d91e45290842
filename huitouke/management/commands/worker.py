"""`huitouke worker`: a background worker of the fleet (Huey consumers for the chosen queues)."""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, close_old_connections
from django.utils.module_loading import autodiscover_modules

from huitouke.core.fleet import QUEUES, queue, stopping, worker_name
from huitouke.core.services import worker_beat, worker_gone

#: seconds between two beats of a worker (HUITOUKE_WORKER_BEAT_TIMEOUT should be several of them)
BEAT_SECONDS = 10


def parse_queues(value: str) -> list[str]:
    """`imports,sending` → ["imports", "sending"]; raises ValueError naming an unknown queue."""
    names = [part.strip() for part in value.split(",") if part.strip()]
    if not names:
        raise ValueError("--queues needs at least one queue name")
    unknown = [name for name in names if name not in QUEUES]
    if unknown:
        raise ValueError(f"unknown queue {unknown[0]!r} in --queues; the queues are {', '.join(QUEUES)}")
    return list(dict.fromkeys(names))


class Command(BaseCommand):
    help = (
        "Run a background worker: message sending, imports, care/SLA ticks and other queued work. Start as many as "
        "you like on any machines (REDIS_URL shared); periodic ticks still run once per period."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--workers", type=int, default=None, help="threads per queue (default from settings)")
        parser.add_argument(
            "--queues",
            default=",".join(QUEUES),
            help=f"comma-separated queues to work on: {', '.join(QUEUES)} (default: all). Periodic ticks are "
            "queued by workers that take `default`.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from huey.consumer import Consumer

        from huitouke.messaging.tasks import dispatch_start

        try:
            names = parse_queues(options["queues"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        threads = options["workers"] or settings.HUEY.get("consumer", {}).get("workers", 2)
        if threads < 1 or threads > 64:
            raise CommandError(f"--workers must be between 1 and 64, got {threads}")
        autodiscover_modules("tasks")
        consumers = [
            Consumer(
                queue(name),
                workers=threads,
                worker_type="thread",
                periodic=name == "default",
                check_worker_health=False,
                shutdown_timeout=settings.HUITOUKE_WORKER_SHUTDOWN_SECONDS,
                max_delay=2.0,  # idle threads poll at least every 2 s (a stop or a new task waits no longer)
            )
            for name in names
        ]
        if "sending" in names:
            dispatch_start()  # first finish what a stopped worker left in the outbox
        for consumer in consumers:
            consumer.start()  # each sets its own signal handlers: ours below replace them
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stopping.set()  # running jobs hand themselves back at their next progress report
            stop.set()

        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, on_signal)
        me = worker_name()
        self.stdout.write(f"Worker {me} on queues {', '.join(names)} with {threads} threads each.")
        self.stdout.flush()
        beat_at = 0.0
        while not stop.wait(1.0):
            if time.monotonic() - beat_at >= BEAT_SECONDS:
                self._beat(me, ",".join(names))
                beat_at = time.monotonic()
        self.stdout.write("Stopping: finishing or handing back the running tasks…")
        self.stdout.flush()
        stoppers = [threading.Thread(target=c.stop, kwargs={"graceful": True}) for c in consumers]
        for thread in stoppers:
            thread.start()
        for thread in stoppers:
            thread.join()
        try:
            worker_gone(name=me)
        except DatabaseError as exc:  # the beat then just ages out
            self.stderr.write(f"could not remove the worker's beat: {exc}")
        close_old_connections()
        self.stdout.write("Worker stopped.")

    def _beat(self, name: str, queues: str) -> None:
        try:
            worker_beat(name=name, queues=queues)
        except DatabaseError as exc:  # a database blip must not stop the worker; the next beat retries
            self.stderr.write(f"worker beat failed: {exc}")
        finally:
            close_old_connections()
