"""`huitouke import-orders FILE [--items FILE] [--format …] [--shop NAME] [--mapping MAPPING.json] [--keep-levels]
[--json]`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from huitouke.core.audit import record
from huitouke.core.errors import ApplicationError
from huitouke.core.models import AuditEntry
from huitouke.jobs import ImportRequest, orders_import
from huitouke.orders.importers import ImportFileError

FORMATS = ("auto", "taobao", "jd", "pdd", "shopify", "woocommerce", "generic")


class Command(BaseCommand):
    help = "Import an order export (Taobao/Tmall, JD, Pinduoduo, Shopify, WooCommerce or any CSV/XLSX)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", help="the order export (CSV or XLSX)")
        parser.add_argument("--items", help="the Taobao/Tmall item report (宝贝报表) that goes with the order report")
        parser.add_argument("--format", default="auto", choices=FORMATS, help="file format (default: recognise)")
        parser.add_argument("--shop", default="", help="shop name (default: the file's 店铺名称, else 默认店铺)")
        parser.add_argument(
            "--mapping",
            help="JSON file {our_field: their_header} for generic files (default: recognised from the headers)",
        )
        parser.add_argument(
            "--keep-levels",
            action="store_true",
            help="keep the member level column (会员级别/会员等级/Member level) as each buyer's floor: matched by "
            "name to the shop's levels; unknown names go to the error report",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        items = options["items"]
        if items and not Path(items).is_file():
            raise CommandError(f"{items}: no such file")
        mapping = None
        if options["mapping"]:
            try:
                mapping = json.loads(Path(options["mapping"]).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise CommandError(f"--mapping: cannot read {options['mapping']}: {exc}") from exc
            if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
                raise CommandError("--mapping: expected a JSON object of field name → column header")
        request = ImportRequest(
            path=str(path),
            items_path=items,
            fmt=options["format"],
            shop=options["shop"],
            mapping=mapping,
            keep_levels=options["keep_levels"],
        )
        try:
            result = orders_import(request=request)
        except ImportFileError as exc:
            raise CommandError(f"{path}: {exc}") from exc
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        record(
            actor=None, action=AuditEntry.Action.IMPORT, target_type="orders", file=str(path), result=result.as_json()
        )
        if options["json"]:
            self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False))
            return
        if result.orders_created + result.orders_updated == 0 and result.errors == 0:
            self.stdout.write(f"{path}: nothing changed ({result.orders_unchanged} orders already up to date)")
        self.stdout.write(
            f"format {result.format}: {result.rows} rows; orders {result.orders_created} new, "
            f"{result.orders_updated} updated, {result.orders_unchanged} unchanged; {result.lines} lines; "
            f"{result.customers_created} new customers; {result.errors} rejected rows"
        )
        if options["keep_levels"]:
            self.stdout.write(
                f"member levels: {result.levels_kept} kept as floors, {result.levels_already} already at or above, "
                f"{result.level_errors} not one of the shop's levels"
            )
        if result.error_report:
            self.stdout.write(f"error report: {result.error_report}")
