"""`huitouke visits-plan [--at ISO] [--dry-run] [--json]`: create the return-visit tasks due now."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from huitouke.care.management.commands.care_run import parse_instant
from huitouke.core.errors import ApplicationError
from huitouke.visits.services import visits_plan_run


class Command(BaseCommand):
    """Run every enabled visit plan at an instant (default now), as the worker does hourly: each plan creates
    one task per (plan, customer, occasion) that is due, never a second one. Prints per plan the tasks created
    and the customers skipped by reason; with --json one object {"at": ISO, "plans": [{"plan", "created",
    "skipped": {reason: n}}]}. --dry-run writes nothing and reports what a real run would create. A plan that
    cannot run (its segment no longer reads) gets "error" in its entry; the others still run, and the command
    then exits 1 with a one-line reason."""

    help = "Create the return-visit tasks that are due, plan by plan."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--at", metavar="ISO-DATETIME", help="the instant to plan for (default: now)")
        parser.add_argument("--dry-run", action="store_true", help="write nothing; report what would be created")
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")

    def handle(self, *args: Any, **options: Any) -> None:
        at = parse_instant(options["at"]) if options["at"] else timezone.now()
        try:
            results = visits_plan_run(at=at, dry_run=options["dry_run"])
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        failed = [r for r in results if r.error]
        if options["json"]:
            payload = {"at": at.isoformat(), "dry_run": options["dry_run"], "plans": [r.as_json() for r in results]}
            self.stdout.write(json.dumps(payload, ensure_ascii=False))
            self._fail(failed)
            return
        suffix = " (dry run: nothing written)" if options["dry_run"] else ""
        self.stdout.write(f"Visit plans at {timezone.localtime(at):%Y-%m-%d %H:%M %Z}{suffix}:")
        if not results:
            self.stdout.write("  no enabled plan.")
        for r in results:
            skipped = ", ".join(f"{k} {v}" for k, v in sorted(r.skipped.items())) or "none"
            line = f"  {r.plan}: created {r.created}, skipped: {skipped}"
            self.stdout.write(line + (f" — could not run: {r.error}" if r.error else ""))
        self._fail(failed)

    def _fail(self, failed: list[Any]) -> None:
        if failed:
            first = failed[0]
            raise CommandError(f"{len(failed)} plan(s) could not run; {first.plan}: {first.error}")
