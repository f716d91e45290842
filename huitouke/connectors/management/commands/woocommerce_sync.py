"""`huitouke woocommerce-sync --shop NAME [--since DATE] [--restart] [--json]`."""

from __future__ import annotations

from huitouke.connectors.management.commands.shopify_sync import Command as ShopifyCommand
from huitouke.connectors.models import Source


class Command(ShopifyCommand):
    """Backfill a shop's WooCommerce orders through its REST API, resuming where the last run stopped."""

    help = "Read a shop's WooCommerce orders through its REST API (resumes from the last page written)."
    kind = Source.Kind.WOOCOMMERCE
