"""Pausing, resuming and cancelling the waiting messages of one source (a campaign, a care activation).

A paused message stays `held` with the detail "paused" and no due time, so the dispatcher never claims it until
it is resumed; a cancelled one ends `suppressed` with reason `cancelled`. Only messages still waiting (queued or
held) are touched: nothing already handed to a channel is recalled, and nothing is lost.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

from django.db import models, transaction
from django.utils import timezone

from huitouke.messaging.models import Message

#: the due time of a paused message: never, until it is resumed
PAUSED_UNTIL = datetime(9999, 1, 1, tzinfo=UTC)
PAUSED_DETAIL = "paused"


def _waiting(*, kind: str, type_id: int, object_id: int) -> models.QuerySet[Message]:
    return Message.objects.filter(
        source_kind=kind, source_type_id=type_id, source_id=object_id, status__in=Message.PENDING
    )


def messages_pause_source(*, kind: str, type_id: int, object_id: int) -> int:
    """Hold every waiting message of the source; returns how many."""
    return _waiting(kind=kind, type_id=type_id, object_id=object_id).update(
        status=Message.Status.HELD, detail=PAUSED_DETAIL, next_attempt_at=PAUSED_UNTIL, updated_at=timezone.now()
    )


def messages_resume_source(*, kind: str, type_id: int, object_id: int) -> int:
    """Release the source's paused messages: each becomes due at its scheduled time (or now, if that passed)."""
    now = timezone.now()
    paused = _waiting(kind=kind, type_id=type_id, object_id=object_id).filter(detail=PAUSED_DETAIL)
    with transaction.atomic():
        later = paused.filter(scheduled_at__gt=now).update(
            status=Message.Status.QUEUED, detail="", next_attempt_at=models.F("scheduled_at"), updated_at=now
        )
        due = paused.update(status=Message.Status.QUEUED, detail="", next_attempt_at=now, updated_at=now)
        if later + due:
            from huitouke.messaging.services import _ENQUEUE_LISTENERS

            for listener in _ENQUEUE_LISTENERS:
                transaction.on_commit(partial(listener, later + due))
    return later + due


def messages_cancel_source(*, kind: str, type_id: int, object_id: int) -> int:
    """Suppress every waiting message of the source with reason `cancelled`; returns how many."""
    return _waiting(kind=kind, type_id=type_id, object_id=object_id).update(
        status=Message.Status.SUPPRESSED,
        reason=Message.Reason.CANCELLED,
        detail="",
        claimed_by="",
        updated_at=timezone.now(),
    )
