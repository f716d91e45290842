"""Attachments on tickets: photos and files, typed by their content (never by the name or the browser's word),
limited in size, stored in the attachments storage (a private folder under HUITOUKE_HOME by default)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction

from huitouke.core.errors import ApplicationError
from huitouke.service.models import Attachment, Ticket, TicketEvent
from huitouke.service.services.common import event_add, now_or
from huitouke.service.services.tickets import ticket_lock

#: (magic bytes at offset 0, content type). Checked in order; the first match wins.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
)
ALLOWED = (
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "application/pdf",
    "application/zip",
    "video/mp4",
    "text/plain",
)


class AttachmentError(ApplicationError):
    pass


def max_bytes() -> int:
    return int(getattr(settings, "HUITOUKE_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))


def sniff(head: bytes) -> str | None:
    """The content type the first bytes show, or None when they are none of the accepted kinds."""
    for magic, kind in _SIGNATURES:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut off at the end of the sample is still text; anything else is not
        if exc.reason != "unexpected end of data":
            return None
        text = head[: exc.start].decode("utf-8")
    if "\x00" not in text and not re.search(r"[\x01-\x08\x0e-\x1f]", text):
        return "text/plain"
    return None


def _clean_name(name: str) -> str:
    base = re.split(r"[\\/]", name or "")[-1].replace("\x00", "").strip()
    return base[:200] or "file"


def attachment_add(*, ticket: Ticket, name: str, content: bytes, actor: Any, at: datetime | None = None) -> Attachment:
    """Store a file on the ticket. Refused when empty, larger than HUITOUKE_ATTACHMENT_MAX_BYTES (10 MB by
    default) or of a kind other than images, PDF, ZIP (office files), MP4 and plain text."""
    now = now_or(at)
    limit = max_bytes()
    if not content:
        raise AttachmentError("the file is empty", field="file")
    if len(content) > limit:
        raise AttachmentError(f"the file is larger than {limit // (1024 * 1024)} MB", field="file")
    kind = sniff(content[:512])
    if kind is None:
        raise AttachmentError(
            "only photos, PDF, office/ZIP files, MP4 videos and text files are accepted", field="file"
        )
    clean = _clean_name(name)
    item = Attachment(name=clean, content_type=kind, size=len(content), uploaded_by=actor)
    try:
        with transaction.atomic():
            ticket = ticket_lock(ticket)
            item.ticket = ticket
            item.file.save(clean, ContentFile(content), save=False)
            item.save()
            Ticket.objects.filter(pk=ticket.pk).update(updated_at=now)
            event_add(ticket=ticket, kind=TicketEvent.Kind.ATTACHMENT, actor=actor, new=clean, at=now)
    except BaseException:
        if item.file.name:  # stored before the rows failed: no file without its row
            item.file.storage.delete(item.file.name)
        raise
    return item
