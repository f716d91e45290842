"""How the service pages show stored values: every code in a ticket's history (statuses, types, channels, clocks,
step keys, compensation kinds, SLA states) as its translated label, and the ticket's clocks as rows.

Pure over already loaded objects (no queries of its own)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.core.pii import Masker
from huitouke.core.rows import choice_labels, link_for
from huitouke.messaging.models import Channel
from huitouke.service.models import (
    Clock,
    Compensation,
    Notification,
    Priority,
    SlaState,
    Ticket,
    TicketChannel,
    TicketEvent,
    TicketStatus,
    TicketType,
)

#: The ticket fields a "changed" entry may name (`note`), with the labels of their values.
_FIELD_LABELS = {
    "subject": lambda: _("Subject"),
    "description": lambda: _("Description"),
    "type": lambda: _("Type"),
    "priority": lambda: _("Priority"),
    "channel": lambda: _("Channel"),
    "tags": lambda: _("Tags"),
    "platform_deadline": lambda: _("Platform deadline"),
    "customer": lambda: _("Customer"),
}
_FIELD_VALUES: dict[str, Any] = {
    "type": TicketType,
    "priority": Priority,
    "channel": TicketChannel,
}


def label(choices: Any, value: str) -> str:
    """The translated label of `value` in a TextChoices class (the value itself when unknown)."""
    for code, text in choices.choices:
        if code == value:
            return str(text)
    return value


def reply_channel_label(value: str) -> str:
    """Reply channels are messaging channels (sms, email, manual); a customer's message may name a ticket
    channel."""
    if value in Channel.values:
        return label(Channel, value)
    return label(TicketChannel, value)


def _when(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if timezone.is_aware(moment) else value


def _money(amount: str) -> str:
    try:
        return f"¥{Decimal(amount):,.2f}" if amount else ""
    except InvalidOperation:
        return amount


def _compensation(value: str) -> str:
    kind, _sep, amount = value.partition(" ")
    return f"{label(Compensation.Kind, kind)} {_money(amount)}".strip()


@dataclass(frozen=True)
class EventRow:
    """One line of the history as a person reads it."""

    at: datetime
    who: str
    what: str
    old: str
    new: str
    note: str
    kind: str


def event_row(event: TicketEvent, step_labels: dict[str, str]) -> EventRow:
    """The event with every code translated: old → new as labels, the field or clock it is about in `what`."""
    kind = event.kind
    what = label(TicketEvent.Kind, kind)
    old, new, note = event.old, event.new, event.note
    if kind == TicketEvent.Kind.CREATED:
        what = _("Ticket opened")
    if kind in (TicketEvent.Kind.STATUS, TicketEvent.Kind.CREATED):
        old, new = label(TicketStatus, old) if old else "", label(TicketStatus, new) if new else ""
    elif kind == TicketEvent.Kind.UPDATED:
        field = note
        what = f"{what}: {_FIELD_LABELS[field]()}" if field in _FIELD_LABELS else what
        choices = _FIELD_VALUES.get(field)
        if choices is not None:
            old, new = label(choices, old), label(choices, new)
        elif field == "platform_deadline":
            old, new = _when(old), _when(new)
        elif field == "customer":
            old, new = f"#{old}" if old else "", f"#{new}" if new else ""
        note = ""
    elif kind in (TicketEvent.Kind.REPLY, TicketEvent.Kind.CUSTOMER_MESSAGE):
        new = reply_channel_label(new) if new else ""
    elif kind == TicketEvent.Kind.STEP:
        new = step_labels.get(new, new)
    elif kind in (TicketEvent.Kind.COMPENSATION, TicketEvent.Kind.COMPENSATION_APPROVED):
        new = _compensation(new)
    elif kind in (TicketEvent.Kind.SLA_BREACHING, TicketEvent.Kind.SLA_BREACHED):
        what = f"{what}: {label(Clock, note)}" if note else what
        old, new, note = label(SlaState, old) if old else "", label(SlaState, new) if new else "", ""
    elif kind == TicketEvent.Kind.FOLLOW_UP:
        new = _when(new)
    elif kind == TicketEvent.Kind.SLA_POLICY:
        old, new = _(old) if old else "", _(new) if new else ""
    who = event.actor.get_username() if event.actor_id and event.actor else _("System")
    return EventRow(at=event.at, who=who, what=what, old=old, new=new, note=note, kind=kind)


@dataclass(frozen=True)
class ClockRow:
    """One SLA clock of a ticket for the SLA panel."""

    key: str
    name: str
    due: datetime | None
    state: str
    state_label: str
    done_at: datetime | None
    running: bool


def clock_rows(ticket: Ticket) -> list[ClockRow]:
    """First response, next response and resolution: due time, state, when it was met (if it was)."""
    rows = []
    for key, name in Clock.choices:
        due = getattr(ticket, f"{key}_due")
        state = getattr(ticket, f"{key}_state")
        done: datetime | None = None
        if key == Clock.FIRST_RESPONSE:
            done = ticket.first_responded_at
        elif key == Clock.RESOLUTION:
            done = ticket.resolved_at
        running = ticket.is_open and done is None and (due is not None or ticket.paused_at is not None)
        if key == Clock.NEXT_RESPONSE and ticket.next_response_started_at is None:
            running = False
        rows.append(
            ClockRow(
                key=key,
                name=str(name),
                due=due,
                state=state,
                state_label=label(SlaState, state),
                done_at=done,
                running=running,
            )
        )
    return rows


@dataclass(frozen=True)
class NoticeRow:
    """An in-app notification as its reader sees it."""

    pk: int
    at: datetime
    title: str
    text: str
    ticket_id: int | None
    ticket_number: int | None
    unread: bool


def notice_row(notice: Notification) -> NoticeRow:
    """The notification's kind and what it says (selectors.notification_text) in the reader's language."""
    from huitouke.service.selectors import notification_text

    return NoticeRow(
        pk=notice.pk,
        at=notice.created_at,
        title=label(Notification.Kind, notice.kind),
        text=notification_text(notice),
        ticket_id=notice.ticket_id,
        ticket_number=notice.ticket.number if notice.ticket_id and notice.ticket else None,
        unread=notice.read_at is None,
    )


def queue_rows(tickets: list[Ticket], masker: Masker) -> None:
    """What each row of the ticket queue shows, worked out once per page rather than per row in the template
    (core.rows): the link, the labels, the masked phone, the owners' names and the SLA badge with its due time
    in the current time zone. Sets attributes on the tickets (loaded by selectors.ticket_queue_rows)."""
    types, priorities = choice_labels(TicketType.choices), choice_labels(Priority.choices)
    statuses, states = choice_labels(TicketStatus.choices), choice_labels(SlaState.choices)
    link = link_for("service:ticket")
    marks: dict[str, str] = {SlaState.BREACHED: "✕ ", SlaState.BREACHING_SOON: "! "}
    for t in tickets:
        t.url = link(t.pk)  # type: ignore[attr-defined]
        t.type_label = types.get(t.type, t.type)  # type: ignore[attr-defined]
        t.priority_label = priorities.get(t.priority, t.priority)  # type: ignore[attr-defined]
        t.status_label = statuses.get(t.status, t.status)  # type: ignore[attr-defined]
        phone = t.customer.phone
        t.phone_shown = masker.phone(phone) if phone else ""  # type: ignore[attr-defined]
        t.owner_name = t.owner.get_username() if t.owner_id and t.owner else ""  # type: ignore[attr-defined]
        first = t.first_owner.get_username() if t.first_owner_id and t.first_owner else ""
        t.first_owner_name = first if first and t.first_owner_id != t.owner_id else ""  # type: ignore[attr-defined]
        created = timezone.localtime(t.created_at)
        t.created_iso, t.created_text = created.isoformat(), created.strftime("%Y-%m-%d %H:%M")  # type: ignore[attr-defined]
        # the SLA badge: "—" when closed, paused while waiting for the customer, else the state and the due time
        t.sla_kind = "closed" if not t.is_open else "paused" if t.paused_at else "state"  # type: ignore[attr-defined]
        state = str(t.sla_state)
        t.sla_text = marks.get(state, "✓ ") + states.get(state, state)  # type: ignore[attr-defined]
        due = timezone.localtime(t.sla_due) if t.sla_due else None
        t.due_iso = due.isoformat() if due else ""  # type: ignore[attr-defined]
        t.due_title = due.strftime("%Y-%m-%d %H:%M") if due else ""  # type: ignore[attr-defined]
        t.due_natural = naturaltime(t.sla_due) if t.sla_due else ""  # type: ignore[attr-defined]
