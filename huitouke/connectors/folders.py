"""The watched import folder: every complete export (or Taobao pair) dropped into a folder is imported once and
moved to `done/` (with its error report, if rows were rejected) or `failed/` (with the reason). What is ready
is decided by `watch.plan`; the import itself is the caller's (`huitouke import-watch` and the worker pass
huitouke/jobs.py's `orders_import`, which refreshes stats and levels), so this app never calls above itself.

A unit is claimed by moving it into `.processing/` first (a rename: of two watchers on one folder only one gets
it). Its content's SHA-256 (order file, then item file) is recorded; content imported before is moved to
`done/` without importing it again, whatever its name.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from huitouke.connectors.models import Source, WatchedFile
from huitouke.connectors.services import after_write_notify, source_event_record, source_get_or_create
from huitouke.connectors.watch import Entry, Unit, plan
from huitouke.core.errors import ApplicationError
from huitouke.orders.importers import ImportFileError
from huitouke.orders.importing import ImportResult
from huitouke.orders.models import Shop

log = logging.getLogger(__name__)

#: import(order file, item file or None, shop name or "") -> the import's result; raises ImportFileError or
#: ApplicationError when the file cannot be imported at all
Importer = Callable[[str, str | None, str], ImportResult]

PROCESSING, DONE, FAILED = ".processing", "done", "failed"


@dataclass
class ScanReport:
    """One look at a folder: what was imported, skipped as already imported, failed, and what still waits."""

    imported: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "duplicates": self.duplicates,
            "failed": self.failed,
            "waiting": self.waiting,
        }


def _listing(folder: Path) -> list[Entry]:
    entries = []
    for path in folder.iterdir():
        try:
            if path.is_file():
                stat = path.stat()
                entries.append(Entry(path.name, stat.st_size, stat.st_mtime))
        except FileNotFoundError:  # moved away meanwhile
            continue
    return entries


def _digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        digest.update(b"\x00--next file--\x00")
    return digest.hexdigest()


def _free(target: Path) -> Path:
    """`target`, or the same name with a number when something of that name is already there."""
    if not target.exists():
        return target
    n = 1
    while (candidate := target.with_name(f"{target.stem}.{n}{target.suffix}")).exists():
        n += 1
    return candidate


def _claim(folder: Path, unit: Unit) -> list[Path] | None:
    """Move the unit's files into .processing/; None when another watcher took them first."""
    work = folder / PROCESSING
    work.mkdir(exist_ok=True)
    claimed: list[Path] = []
    for name in unit.names:
        target = work / name
        try:
            (folder / name).rename(target)
        except FileNotFoundError:
            for path in claimed:  # give back what was taken: the other watcher has the rest
                path.rename(folder / path.name)
            return None
        claimed.append(target)
    return claimed


def _file_away(paths: list[Path], folder: Path, where: str, note: dict[str, Any] | None = None) -> Path:
    """Move the claimed files to done/ or failed/; `note` is written beside the first as <name>.result.json."""
    target_dir = folder / where
    target_dir.mkdir(exist_ok=True)
    first = None
    for path in paths:
        moved = _free(target_dir / path.name)
        path.rename(moved)
        first = first or moved
    assert first is not None
    if note is not None:
        _free(first.with_name(first.name + ".result.json")).write_text(
            json.dumps(note, ensure_ascii=False, indent=1), encoding="utf-8"
        )
    return first


def folder_scan(
    *,
    folder: Path,
    importer: Importer,
    shop: str = "",
    previous: dict[str, int] | None = None,
    now: float | None = None,
    settle: float = 5.0,
    pair_wait: float = 120.0,
) -> ScanReport:
    """Look at `folder` once and import what is ready (see the module docstring). `previous` (name → size) is
    updated with this look's sizes for the next one. With `shop`, the imports go into that shop and the shop's
    watched-folder source records each file (health page); care reacts to the touched customers."""
    if not folder.is_dir():
        raise ApplicationError(f"{folder} is not a folder", field="folder")
    sizes = previous if previous is not None else {}
    entries = _listing(folder)
    look = plan(entries, now=time.time() if now is None else now, previous=sizes, settle=settle, pair_wait=pair_wait)
    sizes.clear()
    sizes.update({e.name: e.size for e in entries})
    report = ScanReport(waiting=list(look.waiting))
    source = _source(shop, folder)
    for unit in look.units:
        claimed = _claim(folder, unit)
        if claimed is None:
            continue
        _take(unit, claimed, folder, importer, shop, source, report)
    return report


def _source(shop: str, folder: Path) -> Source | None:
    if not shop:
        return None
    found = Shop.objects.filter(name=shop.strip()).values_list("pk", flat=True).first()
    if found is None:
        return None  # the first import creates the shop; the next look records the source
    return source_get_or_create(shop_id=found, kind=Source.Kind.FOLDER, address=str(folder))


def _take(
    unit: Unit,
    claimed: list[Path],
    folder: Path,
    importer: Importer,
    shop: str,
    source: Source | None,
    report: ScanReport,
) -> None:
    if unit.error:
        _file_away(claimed, folder, FAILED, {"error": unit.error})
        report.failed.append({"file": unit.path, "error": unit.error})
        if source is not None:
            source_event_record(source=source, orders=0, ok=False, reason=f"{unit.path}: {unit.error}")
        return
    digest = _digest(claimed)
    seen = WatchedFile.objects.filter(sha256=digest, status=WatchedFile.Status.DONE).first()
    if seen is not None:
        _file_away(claimed, folder, DONE, {"duplicate_of": seen.name, "imported_at": seen.created_at.isoformat()})
        report.duplicates.append(unit.path)
        return
    try:
        result = importer(str(claimed[0]), str(claimed[1]) if len(claimed) > 1 else None, shop)
    except (ImportFileError, ApplicationError) as exc:
        reason = getattr(exc, "message", str(exc))
        _file_away(claimed, folder, FAILED, {"error": reason})
        WatchedFile.objects.update_or_create(
            sha256=digest,
            defaults={"source": source, "folder": str(folder), "name": unit.path, "status": "failed",
                      "result": {"error": reason}},
        )  # fmt: skip
        report.failed.append({"file": unit.path, "error": reason})
        if source is not None:
            source_event_record(source=source, orders=0, ok=False, reason=f"{unit.path}: {reason}")
        return
    summary = result.as_json()
    first = _file_away(claimed, folder, DONE, summary)
    if result.error_report:
        shutil.copyfile(result.error_report, _free(first.with_name(first.name + ".errors.csv")))
    WatchedFile.objects.update_or_create(
        sha256=digest,
        defaults={"source": source, "folder": str(folder), "name": unit.path, "status": "done", "result": summary},
    )
    report.imported.append({"file": unit.path, **summary})
    if source is not None:
        written = result.orders_created + result.orders_updated + result.orders_unchanged
        reason = f"{unit.path}: {result.errors} rows rejected" if result.errors else ""
        source_event_record(source=source, orders=written, ok=not result.errors, reason=reason)
    after_write_notify(sorted(result.customer_ids))


def folder_register(*, folder: Path, shop_name: str) -> Source:
    """Let the worker watch `folder` for `shop_name` (an existing shop): its watched-folder source, enabled, with
    the folder as its address (a shop has one watched folder; registering another moves it)."""
    if not folder.is_dir():
        raise ApplicationError(f"{folder} is not a folder", field="folder")
    shop = Shop.objects.filter(name=shop_name.strip()).first()
    if shop is None:
        raise ApplicationError(f"no shop is named {shop_name!r}", field="shop")
    source = source_get_or_create(shop_id=shop.pk, kind=Source.Kind.FOLDER, address=str(folder.resolve()))
    Source.objects.filter(pk=source.pk).update(address=str(folder.resolve()), enabled=True)
    source.refresh_from_db()
    return source


#: sizes seen at the previous look, per folder, in this worker process
_LOOKS: dict[str, dict[str, int]] = {}


def folders_scan_registered(*, importer: Importer) -> dict[str, int]:
    """The worker's minute: look at every enabled watched folder once. A folder that cannot be read is recorded
    as a failure of its source and the others still run."""
    counts = {"folders": 0, "imported": 0, "failed": 0}
    for source in Source.objects.filter(kind=Source.Kind.FOLDER, enabled=True).select_related("shop"):
        counts["folders"] += 1
        try:
            report = folder_scan(
                folder=Path(source.address),
                importer=importer,
                shop=source.shop.name,
                previous=_LOOKS.setdefault(source.address, {}),
            )
        except (ApplicationError, OSError) as exc:
            source_event_record(source=source, orders=0, ok=False, reason=str(getattr(exc, "message", exc)))
            counts["failed"] += 1
            continue
        counts["imported"] += len(report.imported)
        counts["failed"] += len(report.failed)
    return counts
