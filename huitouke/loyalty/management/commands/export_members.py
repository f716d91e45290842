"""`huitouke export-members --out FILE.xlsx [--shop NAME] [--json]`: members with level and discount to XLSX."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huitouke.loyalty.exports import members_export
from huitouke.orders.models import Shop


class Command(BaseCommand):
    """Export the members of one shop (--shop NAME) or of every shop with levels: customer, platform handle, phone,
    shop, level, discount, counted paid amount and orders, one row per membership, to apply on the platform's own
    member tool. Unmasked (an operator tool); writes one audit entry (action export, actor "system"). Prints the
    number of members written; with --json one object {"count": n, "out": path, "format": "xlsx"}."""

    help = "Export members with their level and discount to an XLSX file (for the platform's member tool)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, help="the file to write: FILE.xlsx")
        parser.add_argument("--shop", default="", help="only this shop's members (its name); default: every shop")
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of a sentence")

    def handle(self, *args: Any, **options: Any) -> None:
        out = Path(options["out"])
        if out.suffix.lower() != ".xlsx":
            raise CommandError(f"--out: the file name must end in .xlsx, not {out.name!r}")
        if not out.parent.is_dir():
            raise CommandError(f"--out: the folder {str(out.parent)!r} does not exist")
        shop = None
        if options["shop"]:
            shop = Shop.objects.filter(name=options["shop"]).first()
            if shop is None:
                names = ", ".join(Shop.objects.order_by("name").values_list("name", flat=True)[:10]) or "none"
                raise CommandError(f"--shop: no shop named {options['shop']!r} (shops: {names})")
        count = members_export(user=None, out=out, shop=shop)
        if options["json"]:
            self.stdout.write(json.dumps({"count": count, "out": str(out), "format": "xlsx"}))
        else:
            self.stdout.write(f"Exported {count} members to {out}.")
