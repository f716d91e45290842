"""`huitouke credit [--shop NAME] [--at DATE] [--json]`: the shop's credit (recomputed and stored)."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandError

from huitouke.core.errors import ApplicationError
from huitouke.reviews.crediting import credit_recompute, credit_summary, summary_of
from huitouke.reviews.selectors import shop_named


class Command(BaseCommand):
    help = "Show a shop's credit: score, level, next level, and how many reviews do not score and why."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--shop", default="", help="shop name (default: the only shop)")
        parser.add_argument("--at", default="", help="as of the end of this date (YYYY-MM-DD, shop time; default now)")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            shop = shop_named(options["shop"])
            if options["at"]:
                try:
                    day = date.fromisoformat(options["at"])
                except ValueError:
                    raise CommandError(f"--at: not a date (YYYY-MM-DD): {options['at']!r}") from None
                at = datetime.combine(day, time.max, tzinfo=ZoneInfo(shop.timezone))
                summary = credit_summary(shop=shop, at=at)
            else:
                summary = summary_of(credit_recompute(shop=shop))
        except ApplicationError as exc:
            raise CommandError(f"--shop: {exc.message}" if exc.field == "shop" else exc.message) from exc
        if options["json"]:
            self.stdout.write(json.dumps(summary, ensure_ascii=False))
            return
        level = summary["level"]
        self.stdout.write(
            f"{shop.name} ({summary['preset']}): score {summary['score']}, level {level['index']} {level['name']}, "
            f"next level at {summary['next_level_at']}; {summary['reviews']} reviews, {summary['scored']} scored"
        )
        for reason, n in summary["not_scored"].items():
            self.stdout.write(f"  not scored, {reason}: {n}")
