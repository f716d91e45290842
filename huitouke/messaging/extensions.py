"""What `messaging` adds to the customer archive: messages on the 360 timeline, and the merge hook that moves a
merged customer's send record to the customer they were merged into."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from huitouke.customers.models import Customer
from huitouke.customers.registry import TimelineEvent, register_merge_hook, register_timeline_source


def _message_events(customer: Customer, limit: int) -> list[TimelineEvent]:
    from huitouke.messaging.models import Channel, Message, Purpose
    from huitouke.messaging.selectors import message_list_for_customer

    channels, purposes = dict(Channel.choices), dict(Purpose.choices)
    statuses, reasons = dict(Message.Status.choices), dict(Message.Reason.choices)
    events = []
    for m in message_list_for_customer(customer=customer, limit=limit):
        status = str(statuses.get(m.status, m.status))
        if m.reason:
            status = f"{status} ({reasons.get(m.reason, m.reason)})"
        events.append(
            TimelineEvent(
                at=m.sent_at or m.created_at,
                kind="message",
                title=f"{_('Message')} · {channels.get(m.channel, m.channel)} · {purposes.get(m.purpose, m.purpose)}",
                body=f"{status}: {m.subject + ' — ' if m.subject else ''}{m.body}",
                url=reverse("messaging:detail", args=[m.pk]),
            )
        )
    return events


def _merge_messages(source: Customer, target: Customer) -> None:
    from huitouke.messaging.services import messages_merge

    messages_merge(source=source, target=target)


def register() -> None:
    register_timeline_source("messages", _message_events)
    register_merge_hook("messaging", _merge_messages)
