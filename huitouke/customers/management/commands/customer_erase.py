"""`huitouke customer-erase ID --confirm`: erase one customer's personal data (PIPL deletion request)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huitouke.core.errors import ApplicationError
from huitouke.customers.pipl import customer_erase


class Command(BaseCommand):
    """Remove or irreversibly overwrite everything personal about the customer (profile, handles, notes, order
    addresses and remarks, message and ticket texts …), keeping their orders and amounts; they are never messaged
    again. Cannot be undone, hence --confirm. Erasing an erased customer does nothing. Writes one audit entry
    (action data_erase, actor "system")."""

    help = "Erase one customer's personal data (PIPL deletion request); needs --confirm."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("id", type=int, help="the customer's id")
        parser.add_argument("--confirm", action="store_true", help="required: erasure cannot be undone")
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of a sentence")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["confirm"]:
            raise CommandError("erasure cannot be undone: add --confirm to erase this customer's personal data")
        try:
            customer = customer_erase(customer_id=options["id"], actor=None)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        assert customer.erased_at is not None
        if options["json"]:
            self.stdout.write(json.dumps({"customer": customer.pk, "erased_at": customer.erased_at.isoformat()}))
        else:
            self.stdout.write(f"customer {customer.pk}: personal data erased ({customer.erased_at:%Y-%m-%d %H:%M} UTC)")
