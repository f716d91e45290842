"""`huitouke audit_prune [--days N] [--json]`: remove audit entries past the retention period (itself audited)."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from huitouke.core.audit import audit_prune


class Command(BaseCommand):
    """Remove audit entries older than HUITOUKE_AUDIT_RETENTION_DAYS (or --days) and write one `prune` entry
    saying how many went. The worker runs the same every night; 0 days keeps everything."""

    help = "Remove audit entries older than the retention period (the removal is audited)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None, help="keep this many days (default: the setting)")
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of a sentence")

    def handle(self, *args: Any, **options: Any) -> None:
        days = settings.HUITOUKE_AUDIT_RETENTION_DAYS if options["days"] is None else options["days"]
        removed = audit_prune(days=days)
        if options["json"]:
            self.stdout.write(json.dumps({"removed": removed, "retention_days": days}))
        else:
            self.stdout.write(f"Removed {removed} audit entries older than {days} days.")
