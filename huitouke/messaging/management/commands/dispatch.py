"""`huitouke dispatch`: send the messages that are due now, in this process (cron or a one-off run), and exit.

The worker (`huitouke worker`) does this continuously; this command is for installations without a worker and
for checking a channel by hand. Safe next to running workers: rows are claimed, never sent twice.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from huitouke.messaging.dispatch import messages_dispatch


class Command(BaseCommand):
    help = "Send the messages that are due now (the worker does this continuously) and print what happened."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--max-seconds", type=float, default=None, help="stop after this long (default: until done)"
        )
        parser.add_argument("--batch", type=int, default=None, help="messages claimed per batch")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch"] is not None and options["batch"] < 1:
            raise CommandError("--batch must be at least 1")
        stats = messages_dispatch(batch_size=options["batch"], max_seconds=options["max_seconds"])
        if options["json"]:
            self.stdout.write(json.dumps(stats.as_json()))
            return
        s = stats
        self.stdout.write(
            f"claimed {s.claimed}: sent {s.sent}, to agents {s.tasks}, held {s.held}, suppressed {s.suppressed},"
            f" expired {s.expired}, failed {s.failed}, to retry {s.retried}"
        )
