"""Export of the customer archive to CSV and XLSX: the same filters and masking as the list page.

One writer for the page's download button and the `huitouke export-customers` command. Rows are streamed from the
database in chunks and written as they come (openpyxl write-only mode), so an export of a million customers never
holds them all in memory.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from datetime import tzinfo
from itertools import islice
from pathlib import Path
from typing import IO, Any

from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.core.counting import list_count
from huitouke.core.exports import FORMATS, INLINE_EXPORT, Cell, ExportKind, export_kinds, export_write, neutralise
from huitouke.core.exports import local_time as _local
from huitouke.core.pii import UNMASK_PERMISSION, Masker
from huitouke.customers.models import Customer, CustomerIdentity, CustomerTag
from huitouke.customers.registry import registry
from huitouke.customers.selectors import CustomerFilter, customer_list

__all__ = ["FORMATS", "INLINE_EXPORT", "Cell", "neutralise"]

CHUNK_SIZE = 2000
#: Background exports (core.exports.export_job_run) are recorded as Jobs of this kind.
CUSTOMERS_EXPORT_JOB_KIND = "customers_export"


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


def _parse(query: QueryDict, user: Any) -> CustomerFilter:
    return CustomerFilter.from_params(query, unmasked=user is None or user.has_perm(UNMASK_PERMISSION))


def _rows(filters: CustomerFilter, masker: Masker) -> Iterator[list[Cell]]:
    # the search may match contact data by prefix only for someone who may see it
    filters = replace(filters, contact_prefix=filters.contact_prefix and masker.unmasked)
    tz = timezone.get_current_timezone()
    for item in _customers(filters):
        yield export_row(item, masker, tz)


CUSTOMERS = export_kinds.register(
    ExportKind(
        name=CUSTOMERS_EXPORT_JOB_KIND,
        target_type="customer",
        file_stem="customers",
        parse=_parse,
        count=lambda filters, limit: list_count(customer_list(filters=filters), exact_up_to=limit).value,
        rows=_rows,
        headers=export_headers,
        sheet_title=lambda: _("Customers"),
        permissions=("customers.view_customer",),
        audit_detail=lambda filters: {"filters": _filters_detail(filters)},
        summary_template="customers/_export_summary.html",
    )
)


def customers_export(
    *,
    filters: CustomerFilter,
    user: Any,
    fmt: str,
    out: IO[bytes] | str | Path,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the customers matching `filters` to `out` (a binary file or a path) as CSV or XLSX; returns the
    number of customers written (core.exports.export_write with the customers' kind: the permissions, masking,
    formula neutralising and the audit entry are its). `user=None` is the operator at the command line."""
    return export_write(kind=CUSTOMERS, filters=filters, user=user, fmt=fmt, out=out, progress=progress)
