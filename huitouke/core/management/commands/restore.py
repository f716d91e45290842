"""`huitouke restore FILE [--force]`: put a backup back and verify every table against its manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huitouke.core.backup import BackupError, backup_restore


class Command(BaseCommand):
    """Restore an archive written by `huitouke backup` into this installation (same database engine). Stop the web
    and worker processes first. A database that already holds data is replaced only with --force. After the
    restore every table's row count and checksum are compared with the archive's; a difference fails the command
    and names the tables."""

    help = "Restore a backup archive (database, files, secret key), then verify every table. --force replaces data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="archive written by `huitouke backup`")
        parser.add_argument("--force", action="store_true", help="replace a database that already holds data")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = backup_restore(archive=Path(options["file"]), force=options["force"])
        except BackupError as exc:
            raise CommandError(exc.message) from exc
        if options["json"]:
            self.stdout.write(json.dumps(result.as_json()))
        else:
            self.stdout.write(
                f"Restored {result.engine}: {result.tables} tables, {result.rows} rows, {result.files} files; "
                + ("every table matches the backup." if not result.mismatched else "")
            )
        if result.mismatched:
            raise CommandError(f"restored tables differ from the backup: {', '.join(result.mismatched)}")
