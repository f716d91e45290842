"""Exports of lists to CSV (UTF-8 with BOM) and XLSX: one writer, one background job, one download for every kind.

An app registers an `ExportKind` (its job kind, who may export, how the list's query string becomes filters, the
column titles and the rows) with `export_kinds.register(...)`; core never imports the apps. `export_write` checks
the permissions, masks for the reader, neutralises formula-like cells, writes the file and records the audit entry
(action export). Pages call `core.export_views.export_respond`, which streams a short list in the request and hands
a long one (more than HUITOUKE_INLINE_EXPORT rows) to `export_job_run` in the worker; the job's file lands under
HUITOUKE_HOME/reports and `core.export_views.export_file` hands it out.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.http import QueryDict
from django.utils.translation import gettext as _
from openpyxl import Workbook

from huitouke.core.errors import ApplicationError, PermissionDeniedError
from huitouke.core.models import AuditEntry, Job
from huitouke.core.pii import EXPORT_PERMISSION, UNMASK_PERMISSION, Masker
from huitouke.core.services import audit_log, job_progress
from huitouke.core.text import sheet_cells

FORMATS = ("csv", "xlsx")
#: Lists longer than this are exported by a background job (override with HUITOUKE_INLINE_EXPORT).
INLINE_EXPORT = 20_000
#: Progress is reported every this many rows (unless a kind says otherwise).
PROGRESS_EVERY = 5000
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"

#: Cells that a spreadsheet would read as a formula (or that hide one behind a tab/CR) get a leading quote.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | Decimal | date | datetime | None


def neutralise(value: Cell) -> Cell:
    """A text cell that starts like a formula (= + - @, tab, CR) gets a leading single quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def local_time(value: datetime | None, tz: tzinfo) -> datetime | None:
    """Spreadsheets have no time zones: write the shop's wall-clock time, to the minute."""
    if value is None:
        return None
    return value.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)


def csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


class Labels:
    """The translated labels of some choices, read once per export in the reader's language: building Django's
    choices list and translating it again for every cell cost two thirds of an export's time.
    `labels("status", "sent")` → "Sent"; an empty value stays empty, an unknown one is shown as it is."""

    def __init__(self, **choices: Iterable[tuple[Any, Any]]) -> None:
        self._maps = {name: {value: str(label) for value, label in pairs} for name, pairs in choices.items()}
        self._words: dict[str, str] = {}

    def word(self, text: str) -> str:
        """`gettext(text)`, translated once per export."""
        if text not in self._words:
            self._words[text] = _(text)
        return self._words[text]

    def __call__(self, name: str, value: str) -> str:
        return self._maps[name].get(value, value) if value else ""


def filters_detail(filters: Any) -> dict[str, str]:
    """The filters that were set (a dataclass or a mapping), as strings, for an export's audit entry."""
    values = asdict(filters) if is_dataclass(filters) and not isinstance(filters, type) else dict(filters or {})
    return {k: str(getattr(v, "pk", v)) for k, v in values.items() if v not in (None, "")}


@dataclass(frozen=True)
class ExportKind:
    """One exportable list.

    - `name`: the Job kind of its background export (at most 32 characters);
    - `target_type`: the audit entry's target type;
    - `permissions`: what the reader needs besides core.export_customers (the list's own view permission);
    - `parse(query, user)`: the list's query string as the filters the list applies (ApplicationError naming the
      parameter when one is wrong);
    - `count(filters, exact_up_to)`: how many rows it writes, exact up to the bound and estimated beyond;
    - `rows(filters, masker)`: the cells of each row, in the list's order, contact data through the masker;
    - `headers()`: the column titles in the reader's language; `sheet_title()` the XLSX sheet's name;
    - `audit_detail(filters)` and `result(filters, fmt, count)`: what the audit entry and the finished Job say.
    """

    name: str
    target_type: str
    file_stem: str
    parse: Callable[[QueryDict, Any], Any]
    count: Callable[[Any, int | None], int]
    rows: Callable[[Any, Masker], Iterator[list[Cell]]]
    headers: Callable[[], list[str]]
    sheet_title: Callable[[], str]
    permissions: tuple[str, ...] = ()
    formats: tuple[str, ...] = FORMATS
    audit_detail: Callable[[Any], dict[str, Any]] = field(default=lambda filters: {})
    result: Callable[[Any, str, int], dict[str, Any]] = field(
        default=lambda filters, fmt, count: {"count": count, "format": fmt}
    )
    progress_every: int = PROGRESS_EVERY
    #: the setting that overrides INLINE_EXPORT for this kind
    inline_setting: str = "HUITOUKE_INLINE_EXPORT"
    #: the job page's summary of a finished background export (its download link)
    summary_template: str = "core/_export_summary.html"

    def may_export(self, user: Any) -> bool:
        """Whether `user` may export this list (None: the operator at the command line)."""
        return user is None or (user.has_perm(EXPORT_PERMISSION) and all(user.has_perm(p) for p in self.permissions))

    def inline_limit(self) -> int:
        return int(getattr(settings, self.inline_setting, INLINE_EXPORT))


class ExportRegistry:
    """The export kinds the apps registered, by job kind."""

    def __init__(self) -> None:
        self._kinds: dict[str, ExportKind] = {}

    def register(self, kind: ExportKind) -> ExportKind:
        if len(kind.name) > 32:
            raise ValueError(f"export kind {kind.name!r}: a job kind has at most 32 characters")
        self._kinds[kind.name] = kind
        return kind

    def get(self, name: str) -> ExportKind | None:
        return self._kinds.get(name)

    def all(self) -> list[ExportKind]:
        return list(self._kinds.values())


export_kinds = ExportRegistry()


def export_file_path(kind: ExportKind, job_id: int, fmt: str) -> Path:
    """Where the background export of job `job_id` writes its file: HUITOUKE_HOME/reports/<stem>-<job>.<fmt>."""
    folder = Path(settings.HUITOUKE_HOME) / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{kind.file_stem}-{job_id}.{'xlsx' if fmt == 'xlsx' else 'csv'}"


def _counted(rows: Iterator[list[Cell]], every: int, progress: Callable[[int], None] | None) -> Iterator[list[Cell]]:
    for n, row in enumerate(rows, start=1):
        yield [neutralise(c) for c in row]
        if progress is not None and n % every == 0:
            progress(n)


def write_csv(headers: list[str], rows: Iterable[list[Cell]], out: IO[bytes]) -> int:
    """Write a CSV file with a BOM (Excel then reads it as UTF-8: Chinese names stay readable); returns the rows
    written. The caller's file stays open."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
    try:
        writer = csv.writer(text)
        writer.writerow(headers)
        count = 0
        for row in rows:
            writer.writerow([csv_cell(c) for c in row])
            count += 1
        text.flush()
    finally:
        text.detach()  # leave the caller's file open
    return count


def write_xlsx(headers: list[str], rows: Iterable[list[Cell]], out: IO[bytes], *, title: str) -> int:
    """Write an XLSX file row by row (openpyxl write-only: memory stays flat); returns the rows written."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    sheet.append(sheet_cells(headers))
    count = 0
    for row in rows:
        sheet.append(sheet_cells(row))  # what is already stored may hold a character XML cannot (#14)
        count += 1
    book.save(out)
    return count


def export_write(
    *,
    kind: ExportKind,
    filters: Any,
    user: Any,
    fmt: str,
    out: IO[bytes] | str | Path,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the rows of `kind` matching `filters` to `out` (a binary file or a path) as CSV or XLSX; returns the
    number of rows written.

    `user` is the person exporting: they need core.export_customers (the pages and the download also check the
    kind's own `permissions`, those of the list), and contact data is masked unless they also hold
    core.unmask_pii; `user=None` is the operator at the command line (unmasked). Cells a spreadsheet would run
    as a formula are neutralised. Writes one audit entry (action export) with the kind's detail, the count, the
    format and whether it was unmasked. `progress(rows)` hears every `kind.progress_every` rows. Raises
    ApplicationError for a format the kind does not write and
    PermissionDeniedError for a user who may not export it (nothing is written then)."""
    if fmt not in kind.formats:
        raise ApplicationError(f"format must be one of {', '.join(kind.formats)}", field="format")
    if user is not None and not user.has_perm(EXPORT_PERMISSION):
        raise PermissionDeniedError(f"you lack the permission {EXPORT_PERMISSION}")
    masker = Masker(unmasked=user is None or user.has_perm(UNMASK_PERMISSION))
    rows = _counted(kind.rows(filters, masker), kind.progress_every, progress)

    def write(handle: IO[bytes]) -> int:
        if fmt == "csv":
            return write_csv(kind.headers(), rows, handle)
        return write_xlsx(kind.headers(), rows, handle, title=kind.sheet_title())

    if isinstance(out, str | Path):
        with open(out, "wb") as handle:
            count = write(handle)
    else:
        count = write(out)
    audit_log(
        actor=user,
        action=AuditEntry.Action.EXPORT,
        target_type=kind.target_type,
        **kind.audit_detail(filters),
        count=count,
        format=fmt,
        unmasked=masker.unmasked,
    )
    return count


def export_job_run(job: Job) -> dict[str, Any]:
    """The work of a background export (huitouke/jobs.py export_task): the list as it was filtered when asked
    (`job.params["query"]`), for the person who asked (their masking, their audit entry), into
    `export_file_path`, with progress by rows. Returns the kind's result (count, format …). Raises
    ApplicationError for a job without a requesting user, of an unknown kind, or whose filters no longer parse."""
    kind = export_kinds.get(job.kind)
    if kind is None:
        raise ApplicationError(f"unknown export kind {job.kind!r}", field="kind")
    user = job.created_by
    if user is None:
        raise ApplicationError("the export has no requesting user", field="created_by")
    params: Mapping[str, Any] = job.params
    if "query" not in params:  # asked before every export kept its list's query string: never guess the list
        raise ApplicationError("this export was asked by an older version: start it again from its list", field="query")
    fmt = str(params.get("fmt", kind.formats[0]))
    filters = kind.parse(QueryDict(str(params.get("query", ""))), user)
    total = kind.count(filters, None)
    job_progress(job_id=job.pk, done=0, total=total, stage=kind.file_stem)
    count = export_write(
        kind=kind,
        filters=filters,
        user=user,
        fmt=fmt,
        out=export_file_path(kind, job.pk, fmt),
        progress=lambda done: job_progress(job_id=job.pk, done=done, total=max(total, done), stage=kind.file_stem),
    )
    return kind.result(filters, fmt, count)
