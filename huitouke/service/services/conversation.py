"""Replies, internal notes and the customer's messages on a ticket.

A public reply goes out through the messaging engine (purpose `service`, the ticket as its source) on SMS, email
or as a manual task whose text an agent sends by hand (千牛/旺旺, phone). It stops the first-response clock and the
running next-response clock. A customer's message starts the next-response clock and brings a ticket that waits
for the customer (or was resolved) back to open. Internal notes are never sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F

from huitouke.core.errors import ApplicationError
from huitouke.messaging.models import Channel, Purpose, SourceKind
from huitouke.messaging.services import SourceRef, message_enqueue
from huitouke.service.models import (
    OPEN_STATUSES,
    Notification,
    SlaState,
    Ticket,
    TicketChannel,
    TicketEvent,
    TicketReply,
)
from huitouke.service.replies.variables import placeholders_left
from huitouke.service.services.common import (
    CLOCK_FIELDS,
    breaches_record,
    clocks_refresh,
    event_add,
    notify,
    now_or,
    pause_end,
)
from huitouke.service.services.tickets import S, _own, _text, follow_up_cancel, ticket_lock

REPLY_CHANNELS = (Channel.SMS, Channel.EMAIL, Channel.MANUAL)
BODY_MAX = 5000


def reply_channel_default(ticket: Ticket) -> str:
    """SMS and email tickets are answered on their channel; everything else as a manual task."""
    if ticket.channel == TicketChannel.SMS:
        return Channel.SMS
    if ticket.channel == TicketChannel.EMAIL:
        return Channel.EMAIL
    return Channel.MANUAL


def ticket_reply(
    *,
    ticket: Ticket,
    author: Any,
    body: str,
    internal: bool = False,
    channel: str | None = None,
    at: datetime | None = None,
) -> TicketReply:
    """A reply to the customer, or (internal) a note for colleagues. The author becomes owner when nobody works
    the ticket and first owner when it has none."""
    now = now_or(at)
    body = _text(body, "body", BODY_MAX, required=True)
    if internal:
        if channel:
            raise ApplicationError("an internal note is not sent, so it has no channel", field="channel")
    elif left := placeholders_left(body):  # a canned reply's variable never filled: no blank goes out
        raise ApplicationError(f"body: fill in {{{left[0]}}} before sending (or pick another reply)", field="body")
    elif channel is not None and channel not in REPLY_CHANNELS:
        raise ApplicationError(
            f"channel: unknown value {channel!r}; use one of {', '.join(REPLY_CHANNELS)}", field="channel"
        )
    with transaction.atomic():
        ticket = ticket_lock(ticket)
        if internal:
            reply = TicketReply.objects.create(
                ticket=ticket, kind=TicketReply.Kind.INTERNAL, body=body, author=author, created_at=now
            )
            Ticket.objects.filter(pk=ticket.pk).update(updated_at=now)
            event_add(ticket=ticket, kind=TicketEvent.Kind.NOTE, actor=author, note=body[:500], at=now)
            return reply
        if ticket.status == S.CLOSED:
            raise ApplicationError(f"ticket #{ticket.number} is closed; reopen it to reply", field="status")
        send_on = channel or reply_channel_default(ticket)
        reply = TicketReply.objects.create(
            ticket=ticket, kind=TicketReply.Kind.PUBLIC, channel=send_on, body=body, author=author, created_at=now
        )
        reply.message = message_enqueue(
            idempotency_key=f"service:reply:{reply.pk}",
            channel=send_on,
            purpose=Purpose.SERVICE,
            customer=ticket.customer,
            shop_id=ticket.shop_id,
            source=SourceRef.of(SourceKind.TICKET, ticket),
            subject=f"[#{ticket.number}] {ticket.subject}"[:255] if send_on == Channel.EMAIL else "",
            body=body,
            scheduled_at=now,
        )
        reply.save(update_fields=["message"])
        old_status = ticket.status
        fields = _own(ticket, author, now)
        if ticket.first_responded_at is None:
            ticket.first_responded_at = now
            fields.append("first_responded_at")
        ticket.next_response_started_at = None
        ticket.last_replied_at = now
        newly = clocks_refresh(ticket, now=now)
        ticket.save(update_fields=[*fields, "next_response_started_at", "last_replied_at", *CLOCK_FIELDS, "updated_at"])
        breaches_record(ticket, newly, now=now)
        if old_status != ticket.status:
            event_add(
                ticket=ticket, kind=TicketEvent.Kind.STATUS, actor=author, old=old_status, new=ticket.status, at=now
            )
        event_add(ticket=ticket, kind=TicketEvent.Kind.REPLY, actor=author, new=send_on, note=body[:500], at=now)
    return reply


def ticket_customer_message(*, ticket: Ticket, body: str, channel: str = "", at: datetime | None = None) -> TicketReply:
    """The customer wrote (an inbound SMS, the self-service page, or an agent recording a call). A ticket waiting
    for the customer or resolved goes back to open; the next-response clock starts (once the first response
    was given; before that the first-response clock is the one running)."""
    now = now_or(at)
    body = _text(body, "body", BODY_MAX, required=True)
    channel = _text(channel, "channel", 16)
    with transaction.atomic():
        ticket = ticket_lock(ticket)
        reply = TicketReply.objects.create(
            ticket=ticket, kind=TicketReply.Kind.CUSTOMER, channel=channel, body=body, created_at=now
        )
        old = ticket.status
        fields = ["last_customer_message_at", "next_response_started_at", "status", "paused_at", "pauses"]
        fields += ["paused_seconds", "resolved_at", "closed_at", "reopen_count"]
        ticket.last_customer_message_at = now
        if old == S.WAITING_CUSTOMER:
            pause_end(ticket, now=now)
            ticket.status = S.OPEN
        elif old == S.RESOLVED:
            if ticket.resolved_at is not None:
                pause_end(ticket, now=now, since=ticket.resolved_at)
            ticket.resolved_at = None
            ticket.reopen_count += 1
            follow_up_cancel(ticket)
            ticket.status = S.OPEN
        if ticket.first_responded_at is not None and ticket.next_response_started_at is None and ticket.is_open:
            ticket.next_response_started_at = now
            ticket.next_response_state = SlaState.OK
        newly = clocks_refresh(ticket, now=now)
        ticket.save(update_fields=[*fields, *CLOCK_FIELDS, "updated_at"])
        breaches_record(ticket, newly, now=now)
        event_add(ticket=ticket, kind=TicketEvent.Kind.CUSTOMER_MESSAGE, new=channel, note=body[:500], at=now)
        if old != ticket.status:
            event_add(ticket=ticket, kind=TicketEvent.Kind.STATUS, old=old, new=ticket.status, at=now)
        # the first owner is the one asked when the customer comes back (首问负责制)
        if old != ticket.status or old == S.CLOSED:
            notify(
                user_ids=[ticket.first_owner_id, ticket.owner_id],
                kind=Notification.Kind.STATUS,
                ticket=ticket,
                at=now,
                old=old,
                new=ticket.status,
            )
    return reply


def ticket_sms_reply_receive(*, customer_ids: Sequence[int], text: str, at: datetime | None = None) -> int:
    """A customer's SMS reply (through messaging's inbound hook) joins their ticket: for each customer with the
    phone, the unfinished (or resolved) ticket last answered, else last changed. Returns how many tickets got
    it; a customer without such a ticket adds nothing."""
    added = 0
    for customer_id in list(customer_ids)[:20]:
        ticket = (
            Ticket.objects.filter(customer_id=customer_id, status__in=[*OPEN_STATUSES, S.RESOLVED])
            .order_by(F("last_replied_at").desc(nulls_last=True), "-updated_at", "-id")
            .first()
        )
        if ticket is not None:
            ticket_customer_message(ticket=ticket, body=text[:BODY_MAX], channel=Channel.SMS, at=at)
            added += 1
    return added
