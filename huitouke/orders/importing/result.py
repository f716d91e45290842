"""What an import reports: its counts (`ImportResult`) and the CSV of the rows it rejected (`ErrorReport`)."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from huitouke.orders.feed import Levels
from huitouke.orders.importers.rows import RowError

#: The background job kind of an upload (core.services.job_submit); huitouke/jobs.py runs it.
IMPORT_JOB_KIND = "orders_import"


@dataclass
class ImportResult:
    """The summary printed by `huitouke import-orders --json` and shown on the upload summary page."""

    format: str
    rows: int = 0
    orders_created: int = 0
    orders_updated: int = 0
    orders_unchanged: int = 0
    lines: int = 0
    customers_created: int = 0
    errors: int = 0
    error_report: str | None = None
    customer_ids: set[int] = field(default_factory=set)
    #: the buyers' member levels, when the import keeps them (`keep_levels`; see `feed.level_note`)
    member_levels: Levels = field(default_factory=dict)
    #: what became of them (set by the caller that stores them: huitouke/jobs.py)
    levels_kept: int = 0
    levels_already: int = 0
    level_errors: int = 0
    keep_levels: bool = False
    #: where the file was parsed: "thread" (beside the writer) or "process" (the child of `feed.FeedProcess`)
    parser: str = "thread"
    #: secondary indexes of the order tables dropped for the load and built after it (orders.indexes)
    indexes_deferred: int = 0
    #: the customer stats of `customer_ids` were refreshed by the import itself, before its deferred indexes were
    #: built (`orders_import_rows`): the caller's follow-up need not refresh them again
    stats_refreshed: bool = False

    def as_json(self) -> dict[str, Any]:
        levels = (
            {"levels_kept": self.levels_kept, "levels_already": self.levels_already, "level_errors": self.level_errors}
            if self.keep_levels
            else {}
        )
        return {
            "format": self.format,
            "rows": self.rows,
            "orders_created": self.orders_created,
            "orders_updated": self.orders_updated,
            "orders_unchanged": self.orders_unchanged,
            "lines": self.lines,
            "customers_created": self.customers_created,
            "errors": self.errors,
            "error_report": self.error_report,
            **levels,
        }


class ErrorReport:
    """The CSV of rejected rows (row, column, value, reason), created on the first error only."""

    HEADER = ("row", "column", "value", "reason")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._fh: TextIO | None = None
        self._writer: Any = None
        self._more = False

    def add(self, error: RowError) -> None:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            more = self._more  # adding to the report closed earlier (see `reopen`)
            self._fh = self.path.open("a" if more else "w", encoding="utf-8-sig", newline="")
            self._writer = csv.writer(self._fh)
            if not more:
                self._writer.writerow(self.HEADER)
        value = error.value
        if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
            value = "'" + value  # the report is opened in Excel: never let a cell become a formula
        self._writer.writerow((error.row_no, error.column, value, error.reason))
        self.count += 1

    def reopen(self) -> None:
        """Let later rows follow the ones written before the report was closed (the import's level errors)."""
        self._more = self.count > 0

    def close(self) -> str | None:
        if self._fh is None:
            return str(self.path) if self.count else None
        self._fh.close()
        self._fh = None
        return str(self.path)
