"""The two links every marketing message carries — the customer's preferences page and a one-step unsubscribe —
in the short signed form an SMS can afford, and sending a customer their preferences link from the 360 page.

The unsubscribe link of a marketing message names the customer and the channel (not the message: the text is
rendered before the message has an id), so it works the same from any marketing message on that channel.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.core.links import ShortSigner, b36, short_token_value
from huitouke.core.services import audit_log
from huitouke.customers.links import preferences_signer, preferences_token
from huitouke.customers.models import Customer
from huitouke.messaging.models import Channel, Message, Purpose, SourceKind

UNSUBSCRIBE_SALT = "huitouke.messaging.unsubscribe-link"
#: the channels whose marketing carries the links, and the letter each has in the unsubscribe token
LINK_CHANNELS = {Channel.SMS: "s", Channel.EMAIL: "e", Channel.MANUAL: "m"}
_LETTER_CHANNEL = {letter: channel for channel, letter in LINK_CHANNELS.items()}
_PLACEHOLDER = "TOKEN"


def unsubscribe_link_token(customer_id: int, channel: str, signer: ShortSigner | None = None) -> str:
    value = LINK_CHANNELS[channel] + b36(customer_id)  # type: ignore[index]  # a str of a Channel value
    return (signer or ShortSigner(UNSUBSCRIBE_SALT)).sign(value)


def unsubscribe_link_read(token: str) -> tuple[Customer, str]:
    """The customer and channel an unsubscribe link names; NotFoundError for a malformed, forged or stale one."""
    value = short_token_value(UNSUBSCRIBE_SALT, token)
    channel = _LETTER_CHANNEL.get(value[0]) if value else None
    customer = None
    if value and channel and len(value) > 1:
        customer = current_customer(int(value[1:], 36))
    if customer is None or channel is None:
        raise NotFoundError("this unsubscribe link is not valid", field="token")
    return customer, channel


def current_customer(customer_id: int) -> Customer | None:
    """The customer a link was made for or, when they were merged since, the one they were merged into (a link
    in an old message keeps working after a merge)."""
    customer = Customer.objects.filter(pk=customer_id).first()
    for _hop in range(10):  # merges do not chain deeper in practice; bounded all the same
        if customer is None or customer.merged_into_id is None:
            return customer
        customer = Customer.objects.filter(pk=customer.merged_into_id).first()
    return None


def unsubscribe_by_link(*, token: str) -> tuple[Customer, str]:
    """The customer followed the unsubscribe link of a marketing message: no more marketing on that channel."""
    from huitouke.messaging.services.unsubscribe import customer_opt_out

    customer, channel = unsubscribe_link_read(token)
    customer_opt_out(customer=customer, channel=channel, purpose=Purpose.MARKETING, source="unsubscribe_link")
    return customer, channel


class LinkMaker:
    """Builds both links for many messages: the URL prefixes are reversed once, each token signed per row."""

    def __init__(self) -> None:
        base = settings.HUITOUKE_PUBLIC_URL
        self.unsubscribe = (base + reverse("unsubscribe-link", args=[_PLACEHOLDER])).split(_PLACEHOLDER)
        self.preferences = (base + reverse("preferences-link", args=[_PLACEHOLDER])).split(_PLACEHOLDER)
        self.unsubscribe_signer = ShortSigner(UNSUBSCRIBE_SALT)
        self.preferences_signer = preferences_signer()

    def links(self, customer_id: int, channel: str) -> tuple[str, str]:
        """(unsubscribe URL, preferences URL) for one customer's marketing on `channel`."""
        u, p = self.unsubscribe, self.preferences
        return (
            f"{u[0]}{unsubscribe_link_token(customer_id, channel, self.unsubscribe_signer)}{u[1]}",
            f"{p[0]}{preferences_token(customer_id, self.preferences_signer)}{p[1]}",
        )


#: one preferences link per customer and channel in this many minutes (a second click is a mistake, not a wish)
RESEND_MINUTES = 10
_TEXT = {
    "zh-hans": (
        "您的消息偏好",
        "您好{name}，想收到哪些消息（新品、活动、关怀），可以在这里随时设置：{link}",
    ),
    "en": (
        "Your message preferences",
        (
            "Hello{name}, you can choose here at any time which messages you get from us (new products, offers, "
            "care): {link}"
        ),
    ),
}


def preferences_link_send(*, customer: Customer, channel: str, actor: Any, language: str = "zh-hans") -> Message:
    """Queue a service message with the customer's preferences link (an agent's button on the 360 page). It is a
    send record like any other (source manual) and leaves an audit entry naming the agent. Refused for a merged
    customer, a channel that cannot reach them, or when the same link went out on that channel a moment ago."""
    from huitouke.messaging.services.enqueue import SourceRef, message_enqueue
    from huitouke.orders.models import Order

    if channel not in LINK_CHANNELS:
        raise ApplicationError(_("Choose SMS, email or a manual task."), field="channel")
    if customer.merged_into_id is not None:
        raise ApplicationError(_("This customer was merged into another one."), field="customer")
    recent = Message.objects.filter(
        customer=customer,
        channel=channel,
        idempotency_key__startswith=f"preferences:{customer.pk}:",
        created_at__gte=timezone.now() - timedelta(minutes=RESEND_MINUTES),
    )
    if recent.exists():
        raise ApplicationError(
            _("The link went out on this channel a few minutes ago; look at the messages below."), field="channel"
        )
    latest_shop = (
        Order.objects.filter(customer=customer).order_by("-ordered_at").values_list("shop_id", flat=True).first()
    )
    english = language.startswith("en")
    subject, text = _TEXT["en" if english else "zh-hans"]
    link = LinkMaker().links(customer.pk, channel)[1]
    name = (f" {customer.name}" if english else customer.name) if customer.name else ""
    with transaction.atomic():
        message = message_enqueue(
            idempotency_key=f"preferences:{customer.pk}:{uuid.uuid4().hex}",
            channel=channel,
            purpose=Purpose.SERVICE,
            customer=customer,
            shop_id=latest_shop,
            source=SourceRef(SourceKind.MANUAL),
            subject=subject if channel == Channel.EMAIL else "",
            body=text.format(name=name, link=link),
            context={"link": link, "name": customer.name or ""},
            language="en" if english else "zh-hans",
        )
        audit_log(
            actor=actor,
            action="message",
            target_type="customer",
            target_id=customer.pk,
            message=message.pk,
            channel=channel,
            what="preferences_link",
        )
    return message
