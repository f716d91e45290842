"""What the service writes share: errors, the history entry, in-app notifications and the SLA clock refresh."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from huitouke.core.errors import ApplicationError
from huitouke.service import selectors
from huitouke.service.clocks import clock_times, paused_business_time, pauses_parse
from huitouke.service.models import Clock, Notification, SlaState, Ticket, TicketEvent

_RANK = {SlaState.OK: 0, SlaState.BREACHING_SOON: 1, SlaState.BREACHED: 2}


class ConflictError(ApplicationError):
    """The request clashes with the ticket's current state (someone else owns it, a step is done …)."""

    code = "conflict"
    status = 409


def now_or(at: datetime | None) -> datetime:
    if at is not None and timezone.is_naive(at):
        raise ApplicationError("a time needs a time zone (ISO-8601 with an offset)", field="at")
    return at or timezone.now()


def event_add(
    *, ticket: Ticket, kind: str, actor: Any = None, old: Any = "", new: Any = "", note: str = "", at: datetime
) -> TicketEvent:
    """One history entry; `old`/`new` are stored as text (cut to 200 characters)."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    return TicketEvent.objects.create(
        ticket=ticket, actor=user, kind=kind, old=str(old or "")[:200], new=str(new or "")[:200], note=note, at=at
    )


def notify(
    *, user_ids: Iterable[int | None], kind: str, ticket: Ticket | None, at: datetime, skip: Any = None, **detail: Any
) -> int:
    """One in-app notification per distinct user (None and `skip`, the person who acted, are left out)."""
    skip_id = getattr(skip, "pk", None)
    ids = sorted({u for u in user_ids if u is not None and u != skip_id})
    Notification.objects.bulk_create(
        [Notification(user_id=u, kind=kind, ticket=ticket, detail=detail, created_at=at) for u in ids]
    )
    return len(ids)


def _state(current: str, warn: datetime, due: datetime, now: datetime) -> str:
    """A running clock's state after its times moved: a breach stays recorded (the tick marks breaches);
    otherwise breaching soon once the warn instant passed, else on time."""
    if current == SlaState.BREACHED:
        return current
    return SlaState.BREACHING_SOON if warn <= now else SlaState.OK


def clocks_refresh(ticket: Ticket, *, now: datetime) -> None:
    """Recompute the ticket's due times, warn instants, per-clock states and its summary (`sla_state`, `sla_due`)
    from its policy, starts, pauses and platform deadline. Does not save."""
    policy = ticket.sla_policy
    settings = selectors.settings_for_shop(shop=ticket.shop)
    pauses = pauses_parse(ticket.pauses)
    created = ticket.created_at or now
    running: list[tuple[str, datetime]] = []
    if policy is None:
        ticket.first_response_due = ticket.first_response_warn_at = None
        ticket.resolution_due = ticket.resolution_warn_at = None
        ticket.next_response_due = ticket.next_response_warn_at = None
    else:
        cal = selectors.calendar_for_shop(shop=ticket.shop, around=created)
        soon = settings.breaching_soon_percent
        deadline = ticket.platform_deadline
        first = clock_times(
            cal,
            start=created,
            minutes=policy.first_response_minutes,
            pauses=pauses,
            deadline=deadline,
            soon_percent=soon,
        )
        ticket.first_response_due, ticket.first_response_warn_at = first.due, first.warn_at
        resolution = clock_times(
            cal,
            start=created,
            minutes=policy.resolution_minutes,
            pauses=pauses,
            deadline=deadline,
            soon_percent=soon,
        )
        ticket.resolution_due, ticket.resolution_warn_at = resolution.due, resolution.warn_at
        if ticket.next_response_started_at is not None and ticket.first_responded_at is not None:
            nxt = clock_times(
                cal,
                start=ticket.next_response_started_at,
                minutes=policy.next_response_minutes,
                pauses=pauses,
                deadline=deadline,
                soon_percent=soon,
            )
            ticket.next_response_due, ticket.next_response_warn_at = nxt.due, nxt.warn_at
        else:
            ticket.next_response_due = ticket.next_response_warn_at = None
    states: list[str] = []
    if ticket.first_response_due and ticket.first_responded_at is None:
        ticket.first_response_state = _state(
            ticket.first_response_state, ticket.first_response_warn_at or now, ticket.first_response_due, now
        )
        running.append((Clock.FIRST_RESPONSE, ticket.first_response_due))
        states.append(ticket.first_response_state)
    if ticket.next_response_due:
        ticket.next_response_state = _state(
            ticket.next_response_state, ticket.next_response_warn_at or now, ticket.next_response_due, now
        )
        running.append((Clock.NEXT_RESPONSE, ticket.next_response_due))
        states.append(ticket.next_response_state)
    if ticket.resolution_due and ticket.resolved_at is None:
        ticket.resolution_state = _state(
            ticket.resolution_state, ticket.resolution_warn_at or now, ticket.resolution_due, now
        )
        running.append((Clock.RESOLUTION, ticket.resolution_due))
        states.append(ticket.resolution_state)
    if not ticket.is_open:
        running, states = [], []
    ticket.sla_due = min((due for _clock, due in running), default=None)
    ticket.sla_state = max(states, key=lambda s: _RANK[SlaState(s)], default=SlaState.OK)


CLOCK_FIELDS = [
    "first_response_due",
    "first_response_warn_at",
    "first_response_state",
    "next_response_due",
    "next_response_warn_at",
    "next_response_state",
    "resolution_due",
    "resolution_warn_at",
    "resolution_state",
    "sla_state",
    "sla_due",
]


def pause_start(ticket: Ticket, *, now: datetime) -> None:
    """The clocks stop (waiting for the customer). Does not save."""
    if ticket.paused_at is None:
        ticket.paused_at = now


def pause_end(ticket: Ticket, *, now: datetime, since: datetime | None = None) -> None:
    """The clocks run again: the pause from `since` (default: when it began) to now stretches every clock.
    Does not save; call clocks_refresh after."""
    start = since or ticket.paused_at
    ticket.paused_at = None
    if start is None or now <= start:
        return
    pauses = list(ticket.pauses or [])
    pauses.append([start.isoformat(), now.isoformat()])
    ticket.pauses = pauses
    cal = selectors.calendar_for_shop(shop=ticket.shop, around=start)
    paused = paused_business_time(cal, [(start, now)], start)
    ticket.paused_seconds += int(paused / timedelta(seconds=1))


def notifications_mark_read(*, user: Any, ids: Iterable[int] | None = None, at: datetime | None = None) -> int:
    """Mark the user's notifications read (all unread ones when `ids` is None); returns how many."""
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids)[:1000])
    return qs.update(read_at=at or timezone.now())
