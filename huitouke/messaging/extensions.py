"""What `messaging` adds to the customer archive: messages on the 360 timeline, the button that sends a customer
their preferences link, and the merge hook that moves a merged customer's send record to the customer they were
merged into."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from huitouke.customers.models import Customer
from huitouke.customers.registry import (
    DetailPanel,
    TimelineEvent,
    register_merge_hook,
    register_panel,
    register_timeline_source,
)


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


def _preferences_context(customer: Customer, request: Any) -> dict[str, Any]:
    from huitouke.messaging.models import Channel, Message

    statuses = dict(Message.Status.choices)
    sent = Message.objects.filter(
        customer=customer, idempotency_key__startswith=f"preferences:{customer.pk}:"
    ).order_by("-created_at", "-id")[:3]
    return {
        "can_send": request.user.has_perm("messaging.send_manual"),
        "channels": [(c, Channel(c).label) for c in (Channel.SMS, Channel.EMAIL, Channel.MANUAL)],
        "english": (get_language() or "").startswith("en"),
        "sent": [(m, statuses.get(m.status, m.status)) for m in sent],
    }


def _merge_messages(source: Customer, target: Customer) -> None:
    from huitouke.messaging.services import messages_merge

    messages_merge(source=source, target=target)


def register() -> None:
    register_timeline_source("messages", _message_events)
    register_merge_hook("messaging", _merge_messages)
    register_panel(
        DetailPanel(
            key="preferences_link",
            title=_lazy("Preferences page"),
            template="messaging/_preferences_panel.html",
            context=_preferences_context,
            order=9,
        )
    )
