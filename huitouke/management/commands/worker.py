"""`huitouke worker`: run the background worker (Huey consumer) that drains queued jobs."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the background worker: the message dispatcher, imports and other long jobs queued by the web pages."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--workers", type=int, default=None, help="worker threads (default from settings)")

    def handle(self, *args: Any, **options: Any) -> None:
        from huitouke.messaging.tasks import dispatch_start

        extra = ["--workers", str(options["workers"])] if options["workers"] else []
        dispatch_start()  # first finish what a stopped worker left in the outbox
        call_command("run_huey", *extra)
