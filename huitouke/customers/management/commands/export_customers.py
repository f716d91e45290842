"""`huitouke export-customers --out FILE.csv|FILE.xlsx [filters]`: write the archive (or part of it) to a file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huitouke.core.errors import ApplicationError
from huitouke.customers.exports import FORMATS, customers_export
from huitouke.customers.registry import registry
from huitouke.customers.selectors import SORTS, CustomerFilter

#: Filter options of the command; each maps to the CustomerFilter parameter of the same name.
FILTER_OPTIONS = {
    "search": "name or buyer handle (exact or prefix), or a whole phone, email or real name",
    "tag": "customers carrying this tag",
    "province": "customers in this province",
    "last_order_from": "last order on or after this date (YYYY-MM-DD)",
    "last_order_to": "last order on or before this date (YYYY-MM-DD)",
    "spent_min": "total spent at least this amount",
    "spent_max": "total spent at most this amount",
    "orders_min": "at least this many orders",
    "orders_max": "at most this many orders",
}


class Command(BaseCommand):
    """Export customers with the same columns as the page's export, unmasked (an operator tool).

    The format follows the extension of --out (.csv: UTF-8 with BOM; .xlsx). Filters are those of the list page.
    Writes one audit entry (action export, actor "system"). Prints the number of customers written.
    """

    help = "Export customers to a CSV or XLSX file (same columns and filters as the customer list)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, help="the file to write: FILE.csv or FILE.xlsx")
        for name, text in FILTER_OPTIONS.items():
            parser.add_argument(f"--{name.replace('_', '-')}", dest=name, default="", help=text)
        for key, item in registry.filters.items():
            if key not in FILTER_OPTIONS:
                parser.add_argument(f"--{key.replace('_', '-')}", dest=key, default="", help=f"{item.label} (id)")
        parser.add_argument("--sort", default="", help=f"one of {', '.join(SORTS)}")
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of a sentence")

    def handle(self, *args: Any, **options: Any) -> None:
        out = Path(options["out"])
        fmt = out.suffix.lower().lstrip(".")
        if fmt not in FORMATS:
            raise CommandError(f"--out: the file name must end in .csv or .xlsx, not {out.name!r}")
        if not out.parent.is_dir():
            raise CommandError(f"--out: the folder {str(out.parent)!r} does not exist")
        keys = [*FILTER_OPTIONS, *registry.filters, "sort"]
        params = {k: str(options[k]) for k in keys if options.get(k)}
        try:
            filters = CustomerFilter.from_params(params, unmasked=True)
            count = customers_export(filters=filters, user=None, fmt=fmt, out=out)
        except ApplicationError as exc:
            raise CommandError(f"--{exc.field.replace('_', '-')}: {exc.message}" if exc.field else exc.message) from exc
        if options["json"]:
            self.stdout.write(json.dumps({"count": count, "out": str(out), "format": fmt}))
        else:
            self.stdout.write(f"Exported {count} customers to {out}.")
