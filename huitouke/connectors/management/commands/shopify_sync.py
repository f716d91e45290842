"""`huitouke shopify-sync --shop NAME [--since DATE] [--restart] [--json]`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from huitouke.connectors.backfill import SyncReport, shopify_sync, woocommerce_sync
from huitouke.connectors.models import Source
from huitouke.core.errors import ApplicationError


def parse_since(value: str | None) -> datetime | None:
    """--since as a date (shop-independent: midnight UTC) or an ISO time with offset."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(
            f"--since: not a date or time ({value!r}); write 2026-12-01 or 2026-12-01T08:00+08:00"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def print_report(command: BaseCommand, report: SyncReport, as_json: bool) -> None:
    if as_json:
        command.stdout.write(json.dumps(report.as_json(), ensure_ascii=False))
        return
    command.stdout.write(
        f"{report.pages} pages: orders {report.created} new, {report.updated} updated, {report.unchanged} unchanged; "
        f"{len(report.failed)} not readable; waited {report.waited:.1f} s for the rate limit"
        + ("" if report.done else " (stopped before the end; run again to resume)")
    )
    for failure in report.failed:
        command.stdout.write(f"  {failure}")


class Command(BaseCommand):
    """Backfill a shop's Shopify orders through the Admin GraphQL API, resuming where the last run stopped."""

    help = "Read a shop's Shopify orders through the Admin GraphQL API (resumes from the last page written)."
    kind = Source.Kind.SHOPIFY

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--shop", required=True, help="the shop whose store is connected")
        parser.add_argument("--since", help="only orders changed since this date (2026-12-01) or time")
        parser.add_argument("--restart", action="store_true", help="start from the first page again")
        parser.add_argument("--max-pages", type=int, default=None, help="stop after this many pages")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        source = Source.objects.select_related("shop").filter(shop__name=options["shop"], kind=self.kind).first()
        if source is None:
            raise CommandError(f"--shop: {options['shop']!r} has no {self.kind} connection (connect it on /sources/)")
        sync = shopify_sync if self.kind == Source.Kind.SHOPIFY else woocommerce_sync
        try:
            report = sync(
                source=source,
                since=parse_since(options["since"]),
                restart=options["restart"],
                max_pages=options["max_pages"],
            )
        except ApplicationError as exc:
            raise CommandError(f"{exc.field}: {exc.message}" if exc.field else exc.message) from exc
        print_report(self, report, options["json"])
