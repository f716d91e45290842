"""Customers saying no: the signed unsubscribe link, opting out (consent and waiting messages), SMS replies."""

from __future__ import annotations

import re

from django.core import signing
from django.db import models, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from huitouke.core.errors import NotFoundError
from huitouke.customers.models import Consent, Customer
from huitouke.customers.services import consent_set
from huitouke.messaging.models import (
    Channel,
    ChannelConfig,
    Message,
    Purpose,
)
from huitouke.messaging.services.enqueue import _CHANNELS

# --- unsubscribe ---------------------------------------------------------------------------------------------

#: Message channel -> the Consent channel it asks (webhooks have none: any "no" for the purpose counts).
CONSENT_CHANNEL = {
    Channel.SMS: Consent.Channel.SMS,
    Channel.EMAIL: Consent.Channel.EMAIL,
    Channel.MANUAL: Consent.Channel.IM,
}
#: Message purpose -> the Consent purposes an unsubscribe answers "no" to.
OPT_OUT_PURPOSES = {
    Purpose.MARKETING: (Consent.Purpose.MARKETING, Consent.Purpose.NEW_PRODUCTS),
    Purpose.CARE: (Consent.Purpose.CARE,),
}
_SIGNER = signing.Signer(salt="huitouke.messaging.unsubscribe", algorithm="sha256")
_TOKEN_SIG = 12
_TOKEN = re.compile(r"^([0-9a-z]{1,13})\.([A-Za-z0-9_-]{12})$")


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def unsubscribe_token(message_id: int) -> str:
    """A short signed token for one message's unsubscribe link (fits an SMS): base-36 id + 12 signature
    characters (django.core.signing, HMAC-SHA256 with the secret key)."""
    value = _b36(message_id)
    return f"{value}.{_SIGNER.signature(value)[:_TOKEN_SIG]}"


def unsubscribe_message(*, token: str) -> Message:
    """The message a token was made for; raises NotFoundError for a token that is malformed or forged."""
    match = _TOKEN.match(token or "")
    if not match or not constant_time_compare(match.group(2), _SIGNER.signature(match.group(1))[:_TOKEN_SIG]):
        raise NotFoundError("this unsubscribe link is not valid", field="token")
    message = Message.objects.select_related("customer", "shop").filter(pk=int(match.group(1), 36)).first()
    if message is None or message.customer is None:
        raise NotFoundError("this unsubscribe link is not valid", field="token")
    return message


def customer_opt_out(*, customer: Customer, channel: str, purpose: str, source: str) -> int:
    """Record a customer's no for one channel and purpose (the Consent rows of customers) and suppress their
    messages of that kind that are still waiting (queued, held, or in the agents' task queue), so the no holds
    before the next dispatch. Returns how many waiting messages were suppressed."""
    purposes = OPT_OUT_PURPOSES.get(Purpose(purpose), OPT_OUT_PURPOSES[Purpose.MARKETING])
    consent_channel = CONSENT_CHANNEL.get(Channel(channel)) if channel in _CHANNELS else None
    channels = [consent_channel] if consent_channel else list(Consent.Channel.values)
    with transaction.atomic():
        for ch in channels:
            for p in purposes:
                consent_set(customer=customer, channel=ch, purpose=p, granted=False, source=source)
        message_purposes = [purpose] if purpose in (Purpose.MARKETING, Purpose.CARE) else [Purpose.MARKETING]
        waiting = Message.objects.filter(customer=customer, purpose__in=message_purposes).filter(
            models.Q(status__in=Message.PENDING) | models.Q(status=Message.Status.SENDING, lease_until__isnull=True)
        )
        if consent_channel:
            waiting = waiting.filter(channel=channel)
        return waiting.update(
            status=Message.Status.SUPPRESSED,
            reason=Message.Reason.OPTED_OUT,
            claimed_by="",
            updated_at=timezone.now(),
        )


def unsubscribe_by_token(*, token: str) -> Message:
    """The customer clicked the link in a message: no more messages of its purpose on its channel."""
    message = unsubscribe_message(token=token)
    assert message.customer is not None  # unsubscribe_message checked it
    purpose = message.purpose if message.purpose in (Purpose.MARKETING, Purpose.CARE) else Purpose.MARKETING
    customer_opt_out(customer=message.customer, channel=message.channel, purpose=purpose, source="unsubscribe_link")
    return message


#: Replies that mean "stop sending me marketing SMS" (compared without spaces and punctuation, any case).
OPT_OUT_REPLIES = frozenset({"T", "TD", "退订"})
_REPLY_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


def is_opt_out_reply(text: str) -> bool:
    """T, TD or 退订 (any case, surrounding spaces and punctuation ignored: " td。" counts, "TDX" does not)."""
    return _REPLY_NOISE.sub("", text or "").upper() in OPT_OUT_REPLIES


def sms_reply_receive(*, phone: str, text: str, config: ChannelConfig) -> int:
    """An inbound SMS reply (上行短信) that came through the SMS setting `config`. T/TD/退订 opts the customers
    with that phone out of marketing SMS — only those of the shop(s) the setting serves (messaging/inbound.py);
    other replies are ignored. Returns how many customers were opted out."""
    from huitouke.messaging.inbound import reply_customers

    if not is_opt_out_reply(text):
        return 0
    customers = reply_customers(phone, config)
    for customer in customers:
        customer_opt_out(customer=customer, channel=Channel.SMS, purpose=Purpose.MARKETING, source="sms_reply")
    return len(customers)
