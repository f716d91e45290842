"""`huitouke import-watch DIR [--shop NAME] [--once] [--interval S] [--settle S] [--pair-wait S] [--register]
[--json]`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from huitouke.connectors.folders import ScanReport, folder_register, folder_scan
from huitouke.core.errors import ApplicationError
from huitouke.jobs import watched_file_import


class Command(BaseCommand):
    """Import every export (or Taobao order + item report pair) dropped into DIR once it is completely written,
    then move it to DIR/done/ (with its error report) or DIR/failed/ (with the reason). Content imported before
    is never imported again. Runs until stopped, or one look with --once; --register hands the folder to the
    worker (`huitouke worker` then looks every minute) instead of watching here."""

    help = (
        "Watch a folder for order exports: import each new file or Taobao pair once it is complete, then move it "
        "to DIR/done/ or DIR/failed/. --register lets the worker watch it instead."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("dir", help="the folder that exports are dropped into")
        parser.add_argument("--shop", default="", help="shop name (default: the file's 店铺名称, else 默认店铺)")
        parser.add_argument("--once", action="store_true", help="look once, import what is ready, and stop")
        parser.add_argument("--interval", type=float, default=10.0, help="seconds between looks (default 10)")
        parser.add_argument(
            "--settle", type=float, default=5.0, help="a file is complete after this many seconds unchanged (5)"
        )
        parser.add_argument(
            "--pair-wait",
            type=float,
            default=120.0,
            help="seconds a Taobao report waits for its partner before going alone (120)",
        )
        parser.add_argument(
            "--register", action="store_true", help="let the worker watch DIR for --shop (every minute)"
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object per look")

    def handle(self, *args: Any, **options: Any) -> None:
        folder = Path(options["dir"])
        if not folder.is_dir():
            raise CommandError(f"{folder}: no such folder")
        for name in ("interval", "settle", "pair_wait"):
            if not 0 <= options[name] <= 86_400:
                raise CommandError(f"--{name.replace('_', '-')}: between 0 and 86400 seconds")
        if options["register"]:
            if not options["shop"]:
                raise CommandError("--register needs --shop: the worker imports a folder into one shop")
            try:
                source = folder_register(folder=folder, shop_name=options["shop"])
            except ApplicationError as exc:
                raise CommandError(exc.message) from exc
            self.stdout.write(f"the worker now watches {source.address} for {source.shop.name}")
            return
        previous: dict[str, int] = {}
        while True:
            try:
                report = folder_scan(
                    folder=folder,
                    importer=watched_file_import,
                    shop=options["shop"],
                    previous=previous,
                    settle=options["settle"],
                    pair_wait=options["pair_wait"],
                )
            except ApplicationError as exc:
                raise CommandError(exc.message) from exc
            self._print(report, options["json"])
            if options["once"]:
                return
            time.sleep(options["interval"])

    def _print(self, report: ScanReport, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(report.as_json(), ensure_ascii=False))
            return
        for item in report.imported:
            self.stdout.write(
                f"{item['file']}: orders {item['orders_created']} new, {item['orders_updated']} updated, "
                f"{item['orders_unchanged']} unchanged; {item['errors']} rejected rows → done/"
            )
        for name in report.duplicates:
            self.stdout.write(f"{name}: imported before (same content) → done/")
        for item in report.failed:
            self.stdout.write(f"{item['file']}: {item['error']} → failed/")
        if report.waiting:
            self.stdout.write(f"waiting (still being written or for its partner): {', '.join(report.waiting)}")
