"""Manual tasks (agents send by hand), resending what failed or expired, and moving a merged customer's record."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.customers.models import Customer
from huitouke.messaging.models import (
    Message,
)
from huitouke.messaging.services.enqueue import _ENQUEUE_LISTENERS, _KINDS

# --- manual tasks and resending ------------------------------------------------------------------------------


def _manual_task(message_id: int) -> Message:
    message = Message.objects.select_for_update().filter(pk=message_id).first()
    if message is None:
        raise NotFoundError(f"message {message_id} not found", field="message")
    if not message.is_manual_task:
        raise ApplicationError(_("This message is not waiting in the task queue."), field="message")
    return message


def manual_task_mark_sent(*, message_id: int, actor: Any) -> Message:
    """An agent sent the text by hand (千牛/旺旺, phone): the message is sent, by them, now."""
    with transaction.atomic():
        message = _manual_task(message_id)
        now = timezone.now()
        message.status = Message.Status.SENT
        message.sent_at = now
        message.contacted_at = message.contacted_at or now
        message.claimed_by = str(getattr(actor, "username", "") or "")[:64]
        message.save(update_fields=["status", "sent_at", "contacted_at", "claimed_by", "updated_at"])
    return message


def manual_task_skip(*, message_id: int, actor: Any) -> Message:
    """An agent decided not to send a task: it ends as suppressed, reason cancelled, with who decided."""
    with transaction.atomic():
        message = _manual_task(message_id)
        message.status = Message.Status.SUPPRESSED
        message.reason = Message.Reason.CANCELLED
        message.detail = (_("Skipped by %(user)s") % {"user": getattr(actor, "username", "")})[:500]
        message.claimed_by = ""
        message.save(update_fields=["status", "reason", "detail", "claimed_by", "updated_at"])
    return message


def messages_resend(
    *,
    source_kind: str,
    source_type_id: int | None = None,
    source_id: int | None = None,
    message_ids: Sequence[int] | None = None,
    deadline: datetime | None = None,
) -> int:
    """Queue again the messages of one source (or the given ids) that failed or expired; nothing that was sent
    (or is still waiting) is touched, so nobody gets a second copy. Each comes back with its attempts reset,
    the new `deadline` (None: no deadline) and the policy checked afresh at dispatch. Returns how many."""
    if source_kind not in _KINDS:
        raise ApplicationError(f"unknown source kind {source_kind!r}", field="source_kind")
    if (source_type_id is None) != (source_id is None):
        raise ApplicationError("give both the source type and id, or neither", field="source")
    now = timezone.now()
    if deadline is not None and deadline <= now:
        raise ApplicationError(_("The new deadline must be in the future."), field="deadline")
    qs = Message.objects.filter(source_kind=source_kind, status__in=Message.RESENDABLE)
    if source_type_id is not None:
        qs = qs.filter(source_type_id=source_type_id, source_id=source_id)
    if message_ids is not None:
        qs = qs.filter(pk__in=list(message_ids))
    with transaction.atomic():
        count = qs.update(
            status=Message.Status.QUEUED,
            reason="",
            detail="",
            attempts=0,
            next_attempt_at=now,
            deadline=deadline,
            lease_until=None,
            claimed_by="",
            resends=models.F("resends") + 1,
            updated_at=now,
        )
        if count:
            for listener in _ENQUEUE_LISTENERS:
                transaction.on_commit(partial(listener, count))
    return count


def messages_merge(*, source: Customer, target: Customer) -> int:
    """Move every message of a merged customer to the one it was merged into (the send record follows)."""
    return Message.objects.filter(customer=source).update(customer=target, updated_at=timezone.now())
