"""`huitouke care-run [--at ISO-DATETIME] [--dry-run] [--json]`: run the care tick once."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from huitouke.care.ticks import care_run


def parse_instant(text: str) -> datetime:
    """An ISO 8601 date-time; without an offset it is read in the business time zone (TIME_ZONE)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise CommandError(f"--at: {text!r} is not an ISO date-time like 2026-05-17T10:00:00+08:00") from exc
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_default_timezone())
    return value


class Command(BaseCommand):
    """Run the care tick at an instant (default now) over every enabled, valid rule, as the worker does every
    five minutes — except that a daily rule is looked at even when its day was already run. Nothing is sent
    twice for one (rule, customer, occasion). Prints per rule: matched, enqueued, suppressed by reason; with
    --json one object {"at": ISO, "rules": [{"id", "name", "trigger", "matched", "enqueued", "suppressed"}]}.
    --dry-run writes nothing and reports what a real run would do. Exits 1 when a rule failed."""

    help = "Run the care tick once: select each due rule's customers and enqueue their messages."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--at", metavar="ISO-DATETIME", help="the instant to run at (default: now)")
        parser.add_argument("--dry-run", action="store_true", help="write nothing; report what would happen")
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")

    def handle(self, *args: Any, **options: Any) -> None:
        at = parse_instant(options["at"]) if options["at"] else timezone.now()
        report = care_run(at=at, dry_run=options["dry_run"])
        if options["json"]:
            self.stdout.write(json.dumps(report.as_json(), ensure_ascii=False))
        else:
            local = timezone.localtime(report.at)
            self.stdout.write(f"Care tick at {local:%Y-%m-%d %H:%M:%S %Z}{' (dry run)' if report.dry_run else ''}:")
            if not report.rules:
                self.stdout.write("  no enabled rule is valid now.")
            for r in report.rules:
                if r.error:
                    self.stdout.write(f"  #{r.id} {r.name} [{r.trigger}]: failed: {r.error}")
                    continue
                if r.skipped:
                    self.stdout.write(f"  #{r.id} {r.name} [{r.trigger}]: not due ({r.skipped.replace('_', ' ')})")
                    continue
                held = ", ".join(f"{k} {v}" for k, v in sorted(r.suppressed.items())) or "none"
                self.stdout.write(
                    f"  #{r.id} {r.name} [{r.trigger}]: matched {r.matched}, enqueued {r.enqueued}, suppressed: {held}"
                )
        if report.failed:
            raise CommandError(f"{len(report.failed)} rule(s) failed: " + "; ".join(f"#{r.id}" for r in report.failed))
