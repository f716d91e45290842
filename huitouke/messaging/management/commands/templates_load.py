"""`huitouke templates-load`: create or update the system message templates (the library, zh-hans and en)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from huitouke.messaging.library import library_load


class Command(BaseCommand):
    help = "Create the missing system message templates and update the others to the shipped text."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        counts = library_load()
        if options["json"]:
            self.stdout.write(json.dumps(counts))
        else:
            self.stdout.write(
                f"system templates: {counts['total']} ({counts['created']} created, {counts['updated']} updated)"
            )
