"""`huitouke pii-rekey`: bring the personal data stored encrypted (customers' phone, email, real name and street
address; orders' delivery details) under the first key of HUITOUKE_PII_KEYS and recompute the search digests under
HUITOUKE_PII_HASH_KEY."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huitouke.core.pii_crypto import PiiKeyError
from huitouke.core.pii_fields import pii_cipher
from huitouke.core.pii_rekey import BATCH
from huitouke.customers.models import Customer
from huitouke.customers.pii_rekey import customers_reseal
from huitouke.orders.models import Order
from huitouke.orders.pii_rekey import orders_reseal


class Command(BaseCommand):
    """Re-encrypt the stored personal data after a key rotation.

    Rotation: put the new key first in HUITOUKE_PII_KEYS (keep the old ones after it), restart, run this command,
    then remove the old keys. After changing HUITOUKE_PII_HASH_KEY, run it at once: searches by phone, email or
    real name miss the rows it has not reached yet. Rows already right are left alone (running it twice writes
    nothing); clear text stored before encryption is encrypted. Works in batches, each its own transaction, so it
    can be stopped and run again.
    """

    help = "Re-encrypt customers' and orders' personal data with the current key and recompute the search digests."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=BATCH, help=f"rows per transaction (default {BATCH})")
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of a sentence")

    def handle(self, *args: Any, **options: Any) -> None:
        batch = options["batch"]
        if not 1 <= batch <= 100_000:
            raise CommandError("--batch must be between 1 and 100000")
        quiet = options["json"]
        cipher = pii_cipher()

        def progress(table: str) -> Any:
            def report(examined: int, rewritten: int) -> None:
                if not quiet:
                    self.stderr.write(f"{table}: {examined} examined, {rewritten} rewritten")

            return report

        try:
            customers = customers_reseal(model=Customer, cipher=cipher, batch=batch, progress=progress("customers"))
            orders = orders_reseal(model=Order, cipher=cipher, batch=batch, progress=progress("orders"))
        except PiiKeyError as exc:
            raise CommandError(str(exc)) from exc
        summary = {
            "customers": {"examined": customers.examined, "rewritten": customers.rewritten},
            "orders": {"examined": orders.examined, "rewritten": orders.rewritten},
        }
        if quiet:
            self.stdout.write(json.dumps(summary))
        else:
            self.stdout.write(
                f"{customers.examined} customers and {orders.examined} orders examined; re-encrypted with the current"
                f" key: {customers.rewritten} customers, {orders.rewritten} orders"
            )
