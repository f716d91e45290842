"""`huitouke sla-tick [--at ISO-DATETIME] [--json]`: run the SLA tick once (the worker runs it every minute)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from huitouke.service.services import sla_tick


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
    """Mark the running SLA clocks of unfinished tickets that are breaching soon or breached at an instant
    (default now), record each breach once, notify owners, first owners and managers, and escalate unassigned
    tickets past their first response. Prints the counts per clock; with --json one object
    {"at", "breached": {clock: n}, "breaching_soon": {clock: n}, "escalated", "notifications", "alerts"}."""

    help = "Run the SLA tick once: mark breaching-soon and breached tickets, record breaches, notify, escalate."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--at", metavar="ISO-DATETIME", help="the instant to run at (default: now)")
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")

    def handle(self, *args: Any, **options: Any) -> None:
        at = parse_instant(options["at"]) if options["at"] else timezone.now()
        result = sla_tick(at=at)
        if options["json"]:
            self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False))
            return
        local = timezone.localtime(result.at)
        self.stdout.write(f"SLA tick at {local:%Y-%m-%d %H:%M:%S %Z}:")
        for clock in result.breached:
            self.stdout.write(
                f"  {clock.replace('_', ' ')}: {result.breached[clock]} breached, "
                f"{result.breaching_soon.get(clock, 0)} breaching soon"
            )
        self.stdout.write(
            f"  escalated to managers: {result.escalated}; notifications: {result.notifications}; "
            f"robot alerts: {result.alerts}"
        )
