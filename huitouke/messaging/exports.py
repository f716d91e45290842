"""Export of the send records (the message list) to CSV and XLSX, filtered as the list shows them.

Registered with core.exports: the list's Export button streams a short list and hands a long one to the
background export job; addresses are masked for readers without core.unmask_pii, and every export is audited.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.core.counting import list_count
from huitouke.core.exports import Cell, ExportKind, Labels, export_kinds, filters_detail, local_time
from huitouke.core.pii import Masker
from huitouke.messaging.models import Channel, Message, Purpose, SourceKind
from huitouke.messaging.selectors import MessageFilter, message_list

MESSAGES_EXPORT_JOB_KIND = "messages_export"
CHUNK_SIZE = 2000

_FIELDS = (
    "id",
    "created_at",
    "shop__name",
    "customer_id",
    "customer__name",
    "channel",
    "purpose",
    "source_kind",
    "status",
    "reason",
    "to_address",
    "template__name",
    "subject",
    "body",
    "sent_at",
    "delivered_at",
)


def message_headers() -> list[str]:
    """Column titles, in the reader's language."""
    return [
        _("ID"),
        _("Created"),
        _("Shop"),
        _("Customer ID"),
        _("Customer"),
        _("Channel"),
        _("Purpose"),
        _("Source"),
        _("Status"),
        _("Reason"),
        _("Sent to"),
        _("Template"),
        _("Subject"),
        _("Text"),
        _("Sent"),
        _("Delivered"),
    ]


def message_cells(row: dict[str, Any], masker: Masker, tz: Any, labels: Labels) -> list[Cell]:
    """One send record as cells: labels for the choices, the shop's local time, the address as the reader may
    see it."""
    return [
        row["id"],
        local_time(row["created_at"], tz),
        row["shop__name"] or "",
        row["customer_id"],
        row["customer__name"] or "",
        labels("channel", row["channel"]),
        labels("purpose", row["purpose"]),
        labels("source_kind", row["source_kind"]),
        labels("status", row["status"]),
        labels("reason", row["reason"]),
        masker.to_address(row["channel"], row["to_address"]),
        row["template__name"] or "",
        row["subject"],
        row["body"],
        local_time(row["sent_at"], tz),
        local_time(row["delivered_at"], tz),
    ]


def _rows(filters: MessageFilter, masker: Masker) -> Iterator[list[Cell]]:
    """The records in the list's order (newest first), read in chunks (a server-side cursor on PostgreSQL)."""
    tz, labels = (
        timezone.get_current_timezone(),
        Labels(
            channel=Channel.choices,
            purpose=Purpose.choices,
            source_kind=SourceKind.choices,
            status=Message.Status.choices,
            reason=Message.Reason.choices,
        ),
    )
    qs = message_list(filters=filters).select_related(None).prefetch_related(None)
    for row in qs.values(*_FIELDS).iterator(chunk_size=CHUNK_SIZE):
        yield message_cells(row, masker, tz, labels)


def _parse(query: QueryDict, user: Any) -> MessageFilter:
    return MessageFilter.from_params(query)


MESSAGES = export_kinds.register(
    ExportKind(
        name=MESSAGES_EXPORT_JOB_KIND,
        target_type="message",
        file_stem="messages",
        parse=_parse,
        count=lambda filters, limit: list_count(message_list(filters=filters), exact_up_to=limit).value,
        rows=_rows,
        headers=message_headers,
        sheet_title=lambda: _("Messages"),
        permissions=("messaging.view_message",),
        audit_detail=lambda filters: {"filters": filters_detail(filters)},
    )
)
