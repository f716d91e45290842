"""What the service writes share: errors, the history entry, in-app notifications and the SLA clock refresh."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from huitouke.core.errors import ApplicationError
from huitouke.service import selectors, sla
from huitouke.service.calendar import BusinessCalendar, business_time_between
from huitouke.service.models import (
    Clock,
    Notification,
    ServiceSettings,
    SlaBreach,
    SlaPolicy,
    SlaState,
    Ticket,
    TicketEvent,
)

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


def _pauses(ticket: Ticket) -> tuple[sla.Pause, ...]:
    """The ticket's finished pauses and, while it waits for the customer, the open one."""
    spells = [sla.Pause(a, b) for a, b in pauses_parse(ticket.pauses)]
    if ticket.paused_at is not None:
        spells.append(sla.Pause(ticket.paused_at, None))
    return tuple(spells)


def pure_policy(policy: SlaPolicy) -> sla.SlaPolicy:
    return sla.SlaPolicy(
        name=policy.name,
        position=policy.position,
        types=tuple(policy.types),
        priorities=tuple(policy.priorities),
        channels=tuple(policy.channels),
        levels=tuple(policy.levels),
        first_response_minutes=policy.first_response_minutes,
        next_response_minutes=policy.next_response_minutes,
        resolution_minutes=policy.resolution_minutes,
        id=policy.pk,
    )


def clocks_evaluate(
    ticket: Ticket,
    *,
    now: datetime,
    settings: ServiceSettings | None = None,
    calendar: BusinessCalendar | None = None,
) -> dict[str, sla.ClockState]:
    """The ticket's clocks as `service.sla` sees them at `now` (empty without a policy). A bulk writer passes the
    shop's `settings` and `calendar` it looked up once (else each call looks them up)."""
    if ticket.sla_policy is None:
        return {}
    settings = settings or selectors.settings_for_shop(shop=ticket.shop)
    created = ticket.created_at or now
    times = sla.TicketTimes(
        created_at=created,
        first_replied_at=ticket.first_responded_at,
        awaiting_reply_since=ticket.next_response_started_at,
        resolved_at=ticket.resolved_at,
        pauses=_pauses(ticket),
        platform_deadline=ticket.platform_deadline,
    )
    cal = calendar or selectors.calendar_for_shop(shop=ticket.shop, around=created)
    if ticket.paused_at is not None:
        # sla evaluates "as known at": a pause that begins at the instant asked about is not known yet
        now = max(now, ticket.paused_at + timedelta(microseconds=1))
    return sla.ticket_sla(
        cal, pure_policy(ticket.sla_policy), times, at=now, threshold=settings.breaching_soon_percent / 100
    )


def clocks_refresh(
    ticket: Ticket,
    *,
    now: datetime,
    settings: ServiceSettings | None = None,
    calendar: BusinessCalendar | None = None,
) -> list[tuple[str, datetime]]:
    """Recompute the ticket's due times, breaching-soon instants, per-clock states and its summary (`sla_state`,
    `sla_due` over the clocks still running) from its policy, starts, pauses and platform deadline. Does not save.

    A breach is permanent for its clock (the tick records it); a clock found breached here that was not marked
    yet (answered or changed after its due time, before the tick came round) is returned as (clock, due) for
    the caller to record with `breaches_record`. While the ticket waits for the customer the business due times
    are unknown (None) and only a platform deadline still runs."""
    if ticket.sla_policy is None:
        # no policy (none matched, or it was deleted since): the clocks keep the times they had
        running_dues = [
            ticket.first_response_due if ticket.first_responded_at is None else None,
            ticket.next_response_due,
            ticket.resolution_due if ticket.resolved_at is None else None,
        ]
        ticket.sla_due = min((d for d in running_dues if d is not None), default=None) if ticket.is_open else None
        if not ticket.is_open:
            ticket.sla_state = SlaState.OK
        return []
    states = clocks_evaluate(ticket, now=now, settings=settings, calendar=calendar)
    newly: list[tuple[str, datetime]] = []
    running: list[tuple[str, datetime | None]] = []
    worst = SlaState.OK
    for clock in Clock.values:
        st = states.get(clock)
        if st is None:
            setattr(ticket, f"{clock}_due", None)
            setattr(ticket, f"{clock}_warn_at", None)
            continue
        setattr(ticket, f"{clock}_due", st.due)
        setattr(ticket, f"{clock}_warn_at", st.soon_at)
        stored = getattr(ticket, f"{clock}_state")
        state = st.state
        if state == SlaState.BREACHED and stored != SlaState.BREACHED and st.due is not None:
            newly.append((clock, st.due))
        if stored == SlaState.BREACHED:
            state = SlaState.BREACHED
        setattr(ticket, f"{clock}_state", state)
        if st.stopped_at is None:
            running.append((clock, st.due))
            if _RANK[SlaState(state)] > _RANK[SlaState(worst)]:
                worst = SlaState(state)
    if not ticket.is_open:
        running, worst = [], SlaState.OK
    ticket.sla_due = min((due for _clock, due in running if due is not None), default=None)
    ticket.sla_state = worst
    return newly


def breaches_record(ticket: Ticket, newly: list[tuple[str, datetime]], *, now: datetime) -> int:
    """Record breaches `clocks_refresh` found (once per ticket, clock and due time; the SlaBreach row is the
    ticket's record of it, see selectors.ticket_history) and notify the owner and first owner."""
    made = 0
    for clock, due in newly:
        _breach, created = SlaBreach.objects.get_or_create(
            ticket=ticket, clock=clock, due=due, defaults={"at": now, "notified": True}
        )
        if not created:
            continue
        made += 1
        notify(
            user_ids=[ticket.owner_id, ticket.first_owner_id],
            kind=Notification.Kind.BREACHED,
            ticket=ticket,
            at=now,
            clock=clock,
        )
    return made


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


def pauses_parse(raw: object) -> list[tuple[datetime, datetime]]:
    """The ticket's stored pauses ([[iso, iso], …], written by pause_end) as datetime pairs."""
    out: list[tuple[datetime, datetime]] = []
    for a, b in raw if isinstance(raw, list) else []:
        out.append((datetime.fromisoformat(str(a)), datetime.fromisoformat(str(b))))
    return out


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
    ticket.paused_seconds += int(business_time_between(cal, start, now) / timedelta(seconds=1))


def notifications_mark_read(*, user: Any, ids: Iterable[int] | None = None, at: datetime | None = None) -> int:
    """Mark the user's notifications read (all unread ones when `ids` is None); returns how many."""
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids)[:1000])
    return qs.update(read_at=at or timezone.now())
