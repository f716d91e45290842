"""Export of members with their level and discount to XLSX, to apply on the platform's own member tool.

One writer for the levels page's button and the `huitouke export-members` command. Rows come from the database
through a server-side cursor in chunks and go straight into an openpyxl write-only sheet, so a million members
never sit in memory together.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from huitouke.core.errors import PermissionDeniedError
from huitouke.core.models import AuditEntry
from huitouke.core.pii import EXPORT_PERMISSION, UNMASK_PERMISSION, Masker
from huitouke.core.pii_fields import pii_cipher
from huitouke.core.services import audit_log
from huitouke.core.text import sheet_cells
from huitouke.customers.exports import Cell, neutralise
from huitouke.customers.models import Customer, CustomerIdentity
from huitouke.loyalty import grading
from huitouke.loyalty.models import Level, Membership
from huitouke.orders.models import Shop

CHUNK_SIZE = 2000

#: The background export of a large shop's members (registered by huitouke/jobs.py).
MEMBERS_EXPORT_JOB_KIND = "members_export"


def member_count(*, shop: Shop) -> int:
    """How many rows an export of the shop writes (the page exports a large shop in the background)."""
    return Membership.objects.filter(shop=shop).count()


def export_path(job_id: int) -> Path:
    """Where the background export of job `job_id` writes its file: HUITOUKE_HOME/reports/."""
    folder = Path(settings.HUITOUKE_HOME) / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"members-{job_id}.xlsx"


def member_headers() -> list[str]:
    """Column titles, in the reader's language."""
    return [
        _("Customer ID"),
        _("Name"),
        _("Platform handle"),
        _("Phone"),
        _("Shop"),
        _("Level"),
        _("Discount (of 100)"),
        _("Paid amount"),
        _("Orders"),
    ]


@dataclass(frozen=True)
class MemberRow:
    """One member as the export reads it: amount and orders are what counts towards the level (paid, not closed,
    not fully refunded, within the shop's window)."""

    customer_id: int
    name: str
    phone: str
    handles: list[str]
    shop: str
    level: str
    discount: int
    amount: Decimal
    orders: int


def member_rows(*, shop: Shop) -> Iterator[MemberRow]:
    """The shop's members, highest level first, then by customer id: one grading-style query read through a
    server-side cursor (PostgreSQL) in chunks of CHUNK_SIZE, plus one query per chunk for the buyer handles on
    the shop's platform."""
    policy = grading.policy_of(shop)
    scope = grading.scope_for(shop, policy.window_months, as_of=timezone.now())
    counted, params = grading.counted_sql(scope)
    sql = f"""
        SELECT m.customer_id, c.name, c.phone, l.name, l.discount, COALESCE(s.spent, 0), COALESCE(s.n, 0)
        FROM {Membership._meta.db_table} m
        JOIN {Customer._meta.db_table} c ON c.id = m.customer_id
        JOIN {Level._meta.db_table} l ON l.id = m.level_id
        LEFT JOIN ({counted}) s ON s.customer_id = m.customer_id
        WHERE m.shop_id = %s
        ORDER BY l.rank DESC, m.customer_id"""
    # Outside a transaction the server-side cursor is declared WITH HOLD (Django does so in autocommit): the result
    # is kept on the server and read in chunks while other writes (a job's progress) commit on their own.
    session = not connection.in_atomic_block
    cipher = pii_cipher()
    with connection.chunked_cursor() as cur:
        with connection.cursor() as plan, grading.whole_shop_plan(plan, scope, session=session):
            cur.execute(sql, [*params, shop.pk])
        while chunk := cur.fetchmany(CHUNK_SIZE):
            handles: dict[int, list[str]] = defaultdict(list)
            for customer_id, handle in (
                CustomerIdentity.objects.filter(customer_id__in=[r[0] for r in chunk], platform=shop.platform)
                .order_by("customer_id", "handle")
                .values_list("customer_id", "handle")
            ):
                handles[customer_id].append(handle)
            for customer_id, name, phone, level, discount, spent, n in chunk:
                yield MemberRow(
                    customer_id=customer_id,
                    name=name,
                    phone=cipher.open(phone or ""),  # stored sealed (core.pii_crypto); read raw here
                    handles=handles[customer_id],
                    shop=shop.name,
                    level=level,
                    discount=int(discount),
                    amount=Decimal(spent).quantize(Decimal("0.01")),
                    orders=int(n),
                )


def member_cells(row: MemberRow, masker: Masker) -> list[Cell]:
    """One member as spreadsheet cells, the phone masked for the viewer, formulas neutralised."""
    cells: list[Cell] = [
        row.customer_id,
        row.name,
        "; ".join(masker.identifier(h) for h in row.handles),
        masker.phone(row.phone),
        row.shop,
        row.level,
        row.discount,
        row.amount,
        row.orders,
    ]
    return [neutralise(c) for c in cells]


def members_export(
    *,
    user: Any,
    out: IO[bytes] | str | Path,
    shop: Shop | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the members of `shop` (or of every shop with levels) to `out` (a binary file or a path) as XLSX, one
    sheet row per membership; returns the number of members written.

    `user` is the person exporting: they need core.export_customers, and phones are masked unless they also hold
    core.unmask_pii. `user=None` is the operator at the command line: unmasked. Writes one audit entry (action
    export, target "membership") with the shop, the count and whether it was unmasked. Raises
    PermissionDeniedError for a user without the export permission (nothing is written then). `progress` hears
    the number of rows written every CHUNK_SIZE rows (the background export's progress bar)."""
    if user is not None and not user.has_perm(EXPORT_PERMISSION):
        raise PermissionDeniedError(f"you lack the permission {EXPORT_PERMISSION}")
    masker = Masker(unmasked=user is None or user.has_perm(UNMASK_PERMISSION))
    shops = [shop] if shop is not None else list(Shop.objects.filter(levels__isnull=False).distinct().order_by("name"))
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=_("Members")[:31])
    sheet.append(sheet_cells(member_headers()))
    count = 0
    for each in shops:
        for row in member_rows(shop=each):
            sheet.append(sheet_cells(member_cells(row, masker)))
            count += 1
            if progress is not None and count % CHUNK_SIZE == 0:
                progress(count)
    if isinstance(out, str | Path):
        with open(out, "wb") as handle:
            book.save(handle)
    else:
        book.save(out)
    audit_log(
        actor=user,
        action=AuditEntry.Action.EXPORT,
        target_type="membership",
        shop=shop.name if shop else "",
        count=count,
        format="xlsx",
        unmasked=masker.unmasked,
    )
    return count
