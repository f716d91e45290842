"""`huitouke rollups-rebuild [--json]`: recompute the analytics rollups (daily sales and product sales per shop,
customer months and cohort cells) from every order."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from huitouke.analytics.rollups import rollups_rebuild


class Command(BaseCommand):
    """Rebuild the rollups the dashboard, products and cohorts pages read (what the worker does every night at
    03:45) and print how many shop days and cohort cells they hold; with --json one object."""

    help = "Recompute the analytics rollups (daily sales, product days, cohorts) from every order."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")

    def handle(self, *args: Any, **options: Any) -> None:
        result = rollups_rebuild()
        if options["json"]:
            self.stdout.write(json.dumps(result.as_json()))
            return
        self.stdout.write(
            f"Rollups rebuilt in {result.seconds:.1f} s: {result.shop_days} shop days,"
            f" {result.cohort_cells} cohort cells."
        )
