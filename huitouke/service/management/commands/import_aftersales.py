"""`huitouke import-aftersales FILE [--shop NAME] [--mapping M.json] [--json]`: import a platform refund export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huitouke.core.audit import record
from huitouke.core.errors import ApplicationError
from huitouke.core.models import AuditEntry
from huitouke.service.importers import ImportFileError
from huitouke.service.services.aftersales_import import aftersales_import


class Command(BaseCommand):
    """Create or update one ticket per (shop, platform refund id) from a refund export (the Taobao layout —
    refund_id, tid, oid, status … or 退款编号, 订单编号 … — recognised by its headers; any other table through
    --mapping). With --json prints {"created", "updated", "unchanged", "rejected", "errors_file"}."""

    help = "Import a platform refund / after-sales export (Taobao layout, or any CSV/XLSX with --mapping)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the refund export (CSV or XLSX)")
        parser.add_argument("--shop", default="", help="the shop the refunds belong to (default: the order's shop)")
        parser.add_argument(
            "--mapping",
            help="JSON file {our_field: their_header} for JD/PDD/Shopify/other exports, e.g. "
            '{"refund_id": "服务单号", "order_no": "订单号", "status": "服务单状态"}',
        )
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
            if not isinstance(mapping, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
            ):
                raise CommandError("--mapping: expected a JSON object of field name → column header")
        try:
            result = aftersales_import(path=path, shop=options["shop"], mapping=mapping)
        except ImportFileError as exc:
            raise CommandError(f"{path}: {exc}") from exc
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        record(
            actor=None,
            action=AuditEntry.Action.IMPORT,
            target_type="aftersales",
            file=str(path),
            result=result.as_json(),
        )
        if options["json"]:
            self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False))
            return
        if result.created + result.updated == 0:
            self.stdout.write(f"{path}: nothing changed ({result.unchanged} refunds already up to date)")
        self.stdout.write(
            f"layout {result.layout}: tickets {result.created} new, {result.updated} updated, "
            f"{result.unchanged} unchanged; {result.rejected} rejected rows"
        )
        if result.errors_file:
            self.stdout.write(f"errors: {result.errors_file}")
