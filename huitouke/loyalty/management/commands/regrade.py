"""`huitouke regrade [--json]`: regrade every customer's member level in every shop."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from huitouke.loyalty.selectors import level_distribution
from huitouke.loyalty.services import levels_regrade_report


class Command(BaseCommand):
    """Regrade all memberships (levels_regrade over everything) and print the members per level and the number
    of level changes recorded; with --json one object {"levels": {...}, "changes": n, "memberships": n}."""

    help = "Regrade every customer's member level and print the members per level and the number of changes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")

    def handle(self, *args: Any, **options: Any) -> None:
        result = levels_regrade_report()
        levels = level_distribution()
        if options["json"]:
            payload = {"levels": levels, "changes": result.changes, "memberships": result.memberships}
            self.stdout.write(json.dumps(payload, ensure_ascii=False))
            return
        for name, members in levels.items():
            self.stdout.write(f"{name}: {members}")
        self.stdout.write(f"{result.memberships} memberships, {result.changes} level changes.")
