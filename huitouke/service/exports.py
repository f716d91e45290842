"""Export of the ticket list (the queue view and its filters) to CSV and XLSX, filtered as the list shows it.

Registered with core.exports: the queue's Export button streams a short list and hands a long one to the
background export job; the customer's phone is masked for readers without core.unmask_pii, and every export is
audited. The view ("mine", "my follow-ups" …) is the exporting user's own, in the background too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.core.counting import list_count
from huitouke.core.exports import Cell, ExportKind, Labels, export_kinds, filters_detail, local_time
from huitouke.core.pii import Masker
from huitouke.service.models import Priority, SlaState, TicketChannel, TicketStatus, TicketType
from huitouke.service.selectors import TicketFilter, ticket_queue

TICKETS_EXPORT_JOB_KIND = "tickets_export"
CHUNK_SIZE = 2000


@dataclass(frozen=True)
class TicketExport:
    """What a ticket export lists: the filters, and whose view ("mine" is the exporting user's tickets)."""

    user: Any
    filters: TicketFilter


_FIELDS = (
    "number",
    "shop__name",
    "subject",
    "type",
    "channel",
    "priority",
    "status",
    "sla_state",
    "customer_id",
    "customer__name",
    "customer__phone",
    "order__order_no",
    "owner__username",
    "created_at",
    "sla_due",
    "resolved_at",
    "closed_at",
)


def ticket_headers() -> list[str]:
    """Column titles, in the reader's language."""
    return [
        _("Number"),
        _("Shop"),
        _("Subject"),
        _("Type"),
        _("Channel"),
        _("Priority"),
        _("Status"),
        _("SLA"),
        _("Customer ID"),
        _("Customer"),
        _("Phone"),
        _("Order"),
        _("Handled by"),
        _("Created"),
        _("Next due"),
        _("Resolved"),
        _("Closed"),
    ]


def ticket_cells(row: dict[str, Any], masker: Masker, tz: Any, labels: Labels) -> list[Cell]:
    """One ticket as cells: labels for the choices, the shop's local time, the phone as the reader may see it."""
    return [
        row["number"],
        row["shop__name"],
        row["subject"],
        labels("type", row["type"]),
        labels("channel", row["channel"]),
        labels("priority", row["priority"]),
        labels("status", row["status"]),
        labels("sla_state", row["sla_state"]),
        row["customer_id"],
        row["customer__name"],
        masker.phone(row["customer__phone"] or ""),
        row["order__order_no"] or "",
        row["owner__username"] or "",
        local_time(row["created_at"], tz),
        local_time(row["sla_due"], tz),
        local_time(row["resolved_at"], tz),
        local_time(row["closed_at"], tz),
    ]


def _rows(asked: TicketExport, masker: Masker) -> Iterator[list[Cell]]:
    """The tickets in the view's order, read in chunks (a server-side cursor on PostgreSQL)."""
    tz, labels = (
        timezone.get_current_timezone(),
        Labels(
            type=TicketType.choices,
            channel=TicketChannel.choices,
            priority=Priority.choices,
            status=TicketStatus.choices,
            sla_state=SlaState.choices,
        ),
    )
    qs = ticket_queue(user=asked.user, filters=asked.filters)
    for row in qs.values(*_FIELDS).iterator(chunk_size=CHUNK_SIZE):
        yield ticket_cells(row, masker, tz, labels)


def ticket_export_parse(query: QueryDict, user: Any) -> TicketExport:
    """The queue's query string as the list reads it (no view named: "mine")."""
    params = query.copy()
    if "queue" not in params:
        params["queue"] = "mine"
    return TicketExport(user=user, filters=TicketFilter.from_params(params))


TICKETS = export_kinds.register(
    ExportKind(
        name=TICKETS_EXPORT_JOB_KIND,
        target_type="ticket",
        file_stem="tickets",
        parse=ticket_export_parse,
        count=lambda asked, limit: (
            list_count(ticket_queue(user=asked.user, filters=asked.filters), exact_up_to=limit).value
        ),
        rows=_rows,
        headers=ticket_headers,
        sheet_title=lambda: _("Tickets"),
        permissions=("service.view_ticket",),
        audit_detail=lambda asked: {"filters": filters_detail(asked.filters)},
    )
)
