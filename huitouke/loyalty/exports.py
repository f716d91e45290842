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

from django.db import connection
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.core.errors import NotFoundError
from huitouke.core.exports import Cell, ExportKind, export_kinds, export_write, neutralise
from huitouke.core.pii import Masker
from huitouke.core.pii_fields import pii_cipher
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


def _shops(shop: Shop | None) -> list[Shop]:
    """The shop asked for, or every shop with levels (by name)."""
    if shop is not None:
        return [shop]
    return list(Shop.objects.filter(levels__isnull=False).distinct().order_by("name"))


def _parse(query: QueryDict, user: Any) -> Shop | None:
    shop_id = str(query.get("shop") or "")
    if not shop_id:
        return None
    shop = Shop.objects.filter(pk=int(shop_id) if shop_id.isdigit() else 0).first()
    if shop is None:
        raise NotFoundError(f"no shop {shop_id}", field="shop")
    return shop


def _rows(shop: Shop | None, masker: Masker) -> Iterator[list[Cell]]:
    for each in _shops(shop):
        for row in member_rows(shop=each):
            yield member_cells(row, masker)


MEMBERS = export_kinds.register(
    ExportKind(
        name=MEMBERS_EXPORT_JOB_KIND,
        target_type="membership",
        file_stem="members",
        parse=_parse,
        count=lambda shop, limit: sum(member_count(shop=s) for s in _shops(shop)),
        rows=_rows,
        headers=member_headers,
        sheet_title=lambda: _("Members"),
        permissions=("loyalty.view_level",),
        formats=("xlsx",),
        audit_detail=lambda shop: {"shop": shop.name if shop else ""},
        result=lambda shop, fmt, count: {"count": count, "shop": shop.name if shop else ""},
        progress_every=CHUNK_SIZE,
        inline_setting="HUITOUKE_LEVELS_INLINE_EXPORT",
        summary_template="loyalty/_export_summary.html",
    )
)


def members_export(
    *,
    user: Any,
    out: IO[bytes] | str | Path,
    shop: Shop | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the members of `shop` (or of every shop with levels) to `out` (a binary file or a path) as XLSX, one
    sheet row per membership; returns the number of members written (core.exports.export_write with the members'
    kind: permissions, masking of phones, the audit entry with target "membership" and the shop are its).
    `user=None` is the operator at the command line (unmasked). `progress` hears the number of rows written every
    CHUNK_SIZE rows (the background export's progress bar)."""
    return export_write(kind=MEMBERS, filters=shop, user=user, fmt="xlsx", out=out, progress=progress)
