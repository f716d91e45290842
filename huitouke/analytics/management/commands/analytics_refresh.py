"""`huitouke analytics-refresh [--json]`: score every buyer (RFM, segment, CLV) and take the weekly snapshot."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from huitouke.analytics.rfm import BY_KEY
from huitouke.analytics.services import scores_refresh


class Command(BaseCommand):
    """Run the analytics refresh (what the worker does every night and after imports) and print the customers
    per RFM segment, the fitted models or why they could not be fitted, and the biggest movements; with --json
    one object (RefreshResult.as_json)."""

    help = "Score every buyer (RFM segments, P(alive), expected orders, 12-month CLV) and snapshot the week."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")

    def handle(self, *args: Any, **options: Any) -> None:
        result = scores_refresh()
        if options["json"]:
            self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False))
            return
        self.stdout.write(f"{result.customers} customers scored in {result.seconds:.1f} s (week of {result.week}).")
        for key, count in result.segments.items():
            self.stdout.write(f"  {BY_KEY[key].name:<20} {count:>9}")
        if result.bgnbd:
            bg = result.bgnbd
            self.stdout.write(
                f"BG/NBD (days): r={bg['r']:.4f} alpha={bg['alpha']:.4f} a={bg['a']:.4f} b={bg['b']:.4f}"
                f" loglik={bg['loglik']:.1f}"
            )
        if result.gamma_gamma:
            gg = result.gamma_gamma
            self.stdout.write(f"Gamma-Gamma: p={gg['p']:.4f} q={gg['q']:.4f} gamma={gg['gamma']:.4f}")
        if result.fit_error:
            self.stdout.write(f"No predictions: {result.fit_error}" if not result.bgnbd else result.fit_error)
        if result.previous_week:
            self.stdout.write(f"Biggest movements since the week of {result.previous_week}:")
            for source, target, count in result.movements[:10]:
                self.stdout.write(f"  {BY_KEY[source].name} → {BY_KEY[target].name}: {count}")
