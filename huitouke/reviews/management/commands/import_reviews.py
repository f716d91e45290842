"""`huitouke import-reviews FILE [--shop NAME] [--mapping M.json] [--json]`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from huitouke.core.audit import record
from huitouke.core.errors import ApplicationError
from huitouke.core.models import AuditEntry
from huitouke.orders.importers.rows import ImportFileError
from huitouke.reviews.importer import parse_reviews
from huitouke.reviews.selectors import shop_named
from huitouke.reviews.services import reviews_import_rows


class Command(BaseCommand):
    help = "Import a review export (TradeRate fields or their Chinese headers, or any CSV/XLSX with a mapping)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", help="the review export (CSV or XLSX)")
        parser.add_argument("--shop", default="", help="shop name (default: the only shop)")
        parser.add_argument("--mapping", help="JSON file {our_field: their_header} for other layouts")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        mapping = None
        if options["mapping"]:
            try:
                mapping = json.loads(Path(options["mapping"]).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise CommandError(f"--mapping: cannot read {options['mapping']}: {exc}") from exc
            if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
                raise CommandError("--mapping: expected a JSON object of field name → column header")
        try:
            shop = shop_named(options["shop"])
            parsed = parse_reviews(path, mapping=mapping, tz=shop.timezone)
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
            report = Path(settings.HUITOUKE_HOME) / "reports" / f"review-errors-{stamp}.csv"
            result = reviews_import_rows(
                shop=shop,
                rows=parsed.rows,
                report_path=report,
                layout=parsed.layout,
                columns=parsed.columns,
                tid_header=parsed.tid_header,
            )
        except ImportFileError as exc:
            raise CommandError(f"{path}: {exc}") from exc
        except ApplicationError as exc:
            raise CommandError(f"--shop: {exc.message}" if exc.field == "shop" else exc.message) from exc
        record(
            actor=None, action=AuditEntry.Action.IMPORT, target_type="reviews", file=str(path), result=result.as_json()
        )
        if options["json"]:
            self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False))
            return
        self.stdout.write(
            f"layout {parsed.layout}: reviews {result.created} new, {result.updated} updated, {result.unchanged} "
            f"unchanged; {result.rejected} rejected rows; {result.cases_opened} negative-review cases opened"
        )
        if result.errors_file:
            self.stdout.write(f"error report: {result.errors_file}")
