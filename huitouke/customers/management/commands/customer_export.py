"""`huitouke customer-export ID [--out FILE.zip]`: everything held about one customer (PIPL access request)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huitouke.core.errors import ApplicationError
from huitouke.customers.pipl import customer_data_export


class Command(BaseCommand):
    """Write the customer's data bundle (a ZIP of customer-ID.json and customer-ID.xlsx: profile, identities,
    orders, messages, tickets, visits, reviews, consents and the audit of who saw them). Without --out it goes to
    ./customer-ID.zip. Writes one audit entry (action data_export, actor "system")."""

    help = "Export everything held about one customer (PIPL access request) as a ZIP of JSON and XLSX."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("id", type=int, help="the customer's id")
        parser.add_argument("--out", default="", help="the ZIP file to write (default: ./customer-ID.zip)")
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of a sentence")

    def handle(self, *args: Any, **options: Any) -> None:
        out = Path(options["out"] or f"customer-{options['id']}.zip")
        if out.suffix.lower() != ".zip":
            raise CommandError(f"--out: the file name must end in .zip, not {out.name!r}")
        if not out.parent.is_dir():
            raise CommandError(f"--out: the folder {str(out.parent)!r} does not exist")
        try:
            bundle = customer_data_export(customer_id=options["id"], actor=None)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        out.write_bytes(bundle.content)
        records = {k: len(v["rows"]) for k, v in bundle.data["related"].items()}
        if options["json"]:
            self.stdout.write(json.dumps({"customer": options["id"], "file": str(out), "records": records}))
        else:
            self.stdout.write(f"customer {options['id']}: {sum(records.values())} related records written to {out}")
