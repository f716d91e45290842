"""Export of the customer archive to CSV and XLSX: the same filters and masking as the list page.

One writer for the page's download button and the `huitouke export-customers` command. Rows are streamed from the
database in chunks and written as they come (openpyxl write-only mode), so an export of a million customers never
holds them all in memory.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, tzinfo
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from huitouke.core.errors import ApplicationError, PermissionDeniedError
from huitouke.core.models import AuditEntry
from huitouke.core.pii import EXPORT_PERMISSION, UNMASK_PERMISSION, Masker
from huitouke.core.services import audit_log
from huitouke.core.text import sheet_cells
from huitouke.customers.models import Customer, CustomerIdentity, CustomerTag
from huitouke.customers.registry import registry
from huitouke.customers.selectors import CustomerFilter, customer_list

FORMATS = ("csv", "xlsx")
CHUNK_SIZE = 2000
#: Background exports (huitouke/jobs.py customers_export_task) are recorded as Jobs of this kind.
CUSTOMERS_EXPORT_JOB_KIND = "customers_export"
#: Lists longer than this are exported by a background job (override with HUITOUKE_INLINE_EXPORT).
INLINE_EXPORT = 20_000
#: Progress is reported every this many rows.
PROGRESS_EVERY = 5000

#: Cells that a spreadsheet would read as a formula (or that hide one behind a tab/CR) get a leading quote.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | Decimal | date | datetime | None


def export_headers() -> list[str]:
    """Column titles, in the viewer's language; the same columns for the page and the CLI."""
    return [
        _("ID"),
        _("Name"),
        _("Real name"),
        _("Platform handles"),
        _("Phone"),
        _("Email"),
        _("Province"),
        _("City"),
        _("District"),
        _("Address"),
        _("Level"),
        _("Orders"),
        _("Total spent"),
        _("First order"),
        _("Last order"),
        _("Birthday"),
        _("Birthday calendar"),
        _("Tags"),
    ]


def neutralise(value: Cell) -> Cell:
    """A text cell that starts like a formula (= + - @, tab, CR) gets a leading single quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _local(value: datetime | None, tz: tzinfo) -> datetime | None:
    """Spreadsheets have no time zones: write the shop's wall-clock time, to the minute."""
    if value is None:
        return None
    return value.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)


#: Customer fields read for an export (plus the registered annotations, such as the level).
_FIELDS = (
    "id",
    "name",
    "real_name",
    "phone",
    "email",
    "province",
    "city",
    "district",
    "address",
    "order_count",
    "total_spent",
    "first_order_at",
    "last_order_at",
    "birthday",
    "birthday_calendar",
)


@dataclass(frozen=True)
class ExportCustomer:
    """What one exported row is made of: the customer's fields, their handles and tag names."""

    values: dict[str, Any]
    handles: list[str]
    tags: list[str]


def export_row(item: ExportCustomer, masker: Masker, tz: tzinfo) -> list[Cell]:
    """One customer as export cells, masked for the viewer, formulas neutralised; times in `tz`."""
    v = item.values
    calendars = dict(Customer.Calendar.choices)
    cells: list[Cell] = [
        v["id"],
        v["name"],
        v["real_name"],
        "; ".join(masker.identifier(h) for h in item.handles),
        masker.phone(v["phone"]),
        masker.email(v["email"]),
        v["province"],
        v["city"],
        v["district"],
        masker.street(province=v["province"], city=v["city"], address=v["address"]),
        v.get("level") or "",
        v["order_count"],
        v["total_spent"],
        _local(v["first_order_at"], tz),
        _local(v["last_order_at"], tz),
        v["birthday"],
        str(calendars.get(v["birthday_calendar"], v["birthday_calendar"])) if v["birthday"] else "",
        ", ".join(item.tags),
    ]
    return [neutralise(c) for c in cells]


def _customers(filters: CustomerFilter) -> Iterator[ExportCustomer]:
    """The filtered customers in list order, read in chunks: one query per chunk for the customers (a
    server-side cursor on PostgreSQL), one for their handles, one for their tags. Plain values, no model
    instances: this keeps a million-row export fast and its memory flat."""
    qs = customer_list(filters=filters, capped=False)
    for annotation in registry.annotations.values():
        qs = annotation.annotate(qs)
    rows = qs.values(*_FIELDS, *registry.annotations).iterator(chunk_size=CHUNK_SIZE)
    while chunk := list(islice(rows, CHUNK_SIZE)):
        ids = [r["id"] for r in chunk]
        handles: dict[int, list[str]] = defaultdict(list)
        for customer_id, platform, handle in (
            CustomerIdentity.objects.filter(customer_id__in=ids)
            .order_by("customer_id", "platform", "handle")
            .values_list("customer_id", "platform", "handle")
        ):
            handles[customer_id].append(f"{platform}:{handle}")
        tags: dict[int, list[str]] = defaultdict(list)
        for customer_id, name in (
            CustomerTag.objects.filter(customer_id__in=ids)
            .order_by("customer_id", "tag__name")
            .values_list("customer_id", "tag__name")
        ):
            tags[customer_id].append(name)
        for row in chunk:
            yield ExportCustomer(values=row, handles=handles[row["id"]], tags=tags[row["id"]])


def _rows(
    filters: CustomerFilter, masker: Masker, progress: Callable[[int], None] | None = None
) -> Iterator[list[Cell]]:
    tz = timezone.get_current_timezone()
    for n, item in enumerate(_customers(filters), start=1):
        yield export_row(item, masker, tz)
        if progress and n % PROGRESS_EVERY == 0:
            progress(n)


def export_file_path(job_id: int, fmt: str) -> Path:
    """Where the background export of job `job_id` writes its file: HUITOUKE_HOME/reports/."""
    folder = Path(settings.HUITOUKE_HOME) / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"customers-{job_id}.{'xlsx' if fmt == 'xlsx' else 'csv'}"


def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def _write_csv(rows: Iterator[list[Cell]], out: IO[bytes]) -> int:
    # utf-8-sig writes the BOM that makes Excel read the file as UTF-8 (Chinese names stay readable).
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
    try:
        writer = csv.writer(text)
        writer.writerow(export_headers())
        count = 0
        for row in rows:
            writer.writerow([_csv_cell(c) for c in row])
            count += 1
        text.flush()
    finally:
        text.detach()  # leave the caller's file open
    return count


def _write_xlsx(rows: Iterator[list[Cell]], out: IO[bytes]) -> int:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=_("Customers")[:31])
    sheet.append(export_headers())
    count = 0
    for row in rows:
        sheet.append(sheet_cells(row))  # what is already stored may hold a character XML cannot (#14)
        count += 1
    book.save(out)
    return count


def _filters_detail(filters: CustomerFilter) -> dict[str, Any]:
    """The filters that were set, as JSON-safe strings, for the audit entry."""
    detail: dict[str, Any] = {}
    for key, value in asdict(filters).items():
        if key == "contact_prefix":
            continue
        if key == "extra":
            detail.update({k: str(v) for k, v in value.items()})
        elif value not in (None, ""):
            detail[key] = str(value)
    return detail


def customers_export(
    *,
    filters: CustomerFilter,
    user: Any,
    fmt: str,
    out: IO[bytes] | str | Path,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the customers matching `filters` to `out` (a binary file or a path) as CSV or XLSX; returns the
    number of customers written.

    `user` is the person exporting: they need core.export_customers, and contact data is masked unless they
    also hold core.unmask_pii. `user=None` is the operator at the command line: unmasked. Cells that a
    spreadsheet would run as a formula are neutralised. Writes one audit entry (action export) with the
    filters, the count and the format. `progress(rows)` is called every PROGRESS_EVERY rows (background
    jobs). Raises ApplicationError for an unknown format and
    PermissionDeniedError for a user without the export permission.
    """
    if fmt not in FORMATS:
        raise ApplicationError(f"format must be one of {', '.join(FORMATS)}", field="format")
    if user is not None and not user.has_perm(EXPORT_PERMISSION):
        raise PermissionDeniedError(f"you lack the permission {EXPORT_PERMISSION}")
    unmasked = user is None or user.has_perm(UNMASK_PERMISSION)
    masker = Masker(unmasked=unmasked)
    # the search may match contact data by prefix only for someone who may see it
    filters = replace(filters, contact_prefix=filters.contact_prefix and unmasked)
    writer = _write_csv if fmt == "csv" else _write_xlsx
    if isinstance(out, str | Path):
        with open(out, "wb") as handle:
            count = writer(_rows(filters, masker, progress), handle)
    else:
        count = writer(_rows(filters, masker, progress), out)
    audit_log(
        actor=user,
        action=AuditEntry.Action.EXPORT,
        target_type="customer",
        filters=_filters_detail(filters),
        count=count,
        format=fmt,
        unmasked=unmasked,
    )
    return count
