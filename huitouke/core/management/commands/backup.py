"""`huitouke backup --out FILE`: one archive of the database, HUITOUKE_HOME's files and the secret key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huitouke.core.backup import BackupError, backup_create


class Command(BaseCommand):
    """Back up this installation while it runs (SQLite: online backup API; PostgreSQL: pg_dump in custom format
    from PATH). The archive holds personal data and the secret key: it is written with mode 0600."""

    help = "Back up the database, uploads, attachments, reports and the secret key into one archive (.tar.gz)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, help="archive to write, e.g. backups/huitouke-2026-01-31.tar.gz")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = backup_create(out=Path(options["out"]))
        except BackupError as exc:
            raise CommandError(exc.message) from exc
        if options["json"]:
            self.stdout.write(json.dumps(result.as_json()))
            return
        self.stdout.write(
            f"Backed up {result.engine}: {result.tables} tables, {result.rows} rows, {result.files} files "
            f"into {result.path} ({result.bytes / 1e6:.1f} MB)."
        )
