"""What a dispatch run works with: its counters, who holds a claim, the backoff, and the claimed rows as
loaded for deciding and sending."""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection

from huitouke.core.bulk import _sqlite_datetime
from huitouke.messaging.models import ChannelConfig, Message

log = logging.getLogger(__name__)

#: advisory lock space for "deciding this customer's budgeted messages" (customer id added)
_LOCK_BASE = 0x4854 << 40
_PHONE_OK = re.compile(r"^\+?\d{6,15}$")
_MAX_BACKOFF = 3600


@dataclass
class DispatchStats:
    claimed: int = 0
    sent: int = 0
    tasks: int = 0
    held: int = 0
    suppressed: int = 0
    expired: int = 0
    failed: int = 0
    retried: int = 0
    skipped: int = 0  # claimed but left: another worker was deciding the same customer's budget
    batches: int = 0

    def add(self, other: DispatchStats) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_json(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def worker_name() -> str:
    """host:pid:thread — who holds a claim (shown on the message page while it is sending)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{threading.get_ident() % 100000}"


def backoff_seconds(attempts: int) -> int:
    """Wait before attempt `attempts + 1`: base, 2×base, 4×base … capped at one hour."""
    base = max(int(settings.HUITOUKE_RETRY_BASE_SECONDS), 1)
    return int(min(base * 2 ** max(attempts - 1, 0), _MAX_BACKOFF))


# --- claiming and loading ------------------------------------------------------------------------------------


#: Where a run's last claim ended in the due order: (priority, next_attempt_at, id) as the database gave them.
Cursor = tuple[int, Any, int]


def _claim(now: datetime, limit: int, after: Cursor | None) -> tuple[list[int], Cursor | None, int]:
    """Rows this transaction now holds: claims that expired first, then due rows in (priority, due time, id)
    order after `after`. Returns (ids, the cursor after the last due row, how many due rows were taken).

    The cursor keeps a run from walking again over the index entries of rows it already sent (dead until vacuum
    removes them): without it every claim of a long run rescans them all."""
    expired = list(
        Message.objects.filter(status=Message.Status.SENDING, lease_until__lt=now)
        .order_by("lease_until")
        .select_for_update(skip_locked=True)
        .values_list("id", flat=True)[:limit]
    )
    room = limit - len(expired)
    if room <= 0:
        return expired, after, 0
    postgres = connection.vendor == "postgresql"
    sql = (
        "SELECT id, priority, next_attempt_at FROM messaging_message"
        " WHERE status IN ('queued', 'held') AND next_attempt_at <= %s"
    )
    params: list[Any] = [now if postgres else _sqlite_datetime(now)]
    if after is not None:
        sql += " AND (priority, next_attempt_at, id) > (%s, %s, %s)"
        params.extend(after)
    sql += " ORDER BY priority, next_attempt_at, id LIMIT %s"
    params.append(room)
    if postgres:
        sql += " FOR UPDATE SKIP LOCKED"
    with connection.cursor() as cur:
        cur.execute(sql, params)
        due = cur.fetchall()
    cursor: Cursor | None = (int(due[-1][1]), due[-1][2], int(due[-1][0])) if due else after
    return [*expired, *(int(r[0]) for r in due)], cursor, len(due)


@dataclass
class _Row:
    id: int
    customer_id: int | None
    shop_id: int | None
    channel: str
    purpose: str
    priority: int
    status: str
    attempts: int
    scheduled_at: datetime
    deadline: datetime | None
    to_address: str
    idempotency_key: str
    subject: str
    body: str
    params: dict[str, Any]
    template_id: int | None
    language: str
    source_kind: str
    contacted_at: datetime | None
    phone: str | None
    email: str | None
    erased_at: datetime | None
    merged_into_id: int | None
    customer_name: str | None
    provider_code: str | None
    template_body: str | None
    # filled while deciding
    address: str = ""
    config: ChannelConfig | None = None


_LOAD = (
    "id",
    "customer_id",
    "shop_id",
    "channel",
    "purpose",
    "priority",
    "status",
    "attempts",
    "scheduled_at",
    "deadline",
    "to_address",
    "idempotency_key",
    "subject",
    "body",
    "params",
    "template_id",
    "language",
    "source_kind",
    "contacted_at",
    "customer__phone",
    "customer__email",
    "customer__erased_at",
    "customer__merged_into_id",
    "customer__name",
    "template__provider_code",
    "template__body",
)


def _load(ids: Sequence[int]) -> list[_Row]:
    rows = Message.objects.filter(pk__in=list(ids)).values_list(*_LOAD)
    return [_Row(*r) for r in rows]
