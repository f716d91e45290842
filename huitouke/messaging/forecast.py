"""What the contact policy would decide for a planned send, before anything is enqueued (the preview of a one-off
send from the customer list): per customer the same rules as the dispatcher (policy.decide with the shop's
settings, consent, erasure, address, suppression hooks, recent contacts), counted by outcome.

A read: nothing is written. The dispatcher decides again when each message is due (a customer may opt out or be
contacted in between), so the forecast is what would happen if it were sent now.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from huitouke.customers.models import Consent, Customer, CustomerIdentity
from huitouke.messaging import policy
from huitouke.messaging.models import Channel, Message, Purpose
from huitouke.messaging.registry import SuppressionCheck, registry
from huitouke.messaging.selectors import policy_settings_for

#: The consent channel that answers for a message channel (manual tasks go through the platform's chat).
_CONSENT_CHANNEL = {Channel.SMS: Consent.Channel.SMS, Channel.EMAIL: Consent.Channel.EMAIL, Channel.MANUAL: "im"}
_PHONE_OK = re.compile(r"^\+?\d{6,15}$")
CHUNK = 2000


@dataclass(frozen=True)
class Forecast:
    """How many of the customers would get the message (`send`: at once or after waiting out quiet hours or the
    contact budget, `waiting` of them), and how many not, by Message.Reason value."""

    total: int
    send: int
    waiting: int
    suppressed: dict[str, int] = field(default_factory=dict)

    @property
    def not_sent(self) -> int:
        return sum(self.suppressed.values())


def _address(channel: str, phone: str, email: str, name: str, manual: str) -> str:
    if channel == Channel.SMS:
        phone = (phone or "").strip()
        return phone if phone and "*" not in phone and _PHONE_OK.match(phone) else ""
    if channel == Channel.EMAIL:
        return email if "@" in (email or "") else ""
    return manual or phone or name


def send_forecast(
    *,
    customer_ids: Sequence[int],
    channel: str,
    purpose: str = Purpose.MARKETING,
    shop_id: int | None,
    now: datetime,
    deadline: timedelta,
) -> Forecast:
    """Count what policy.decide says for a message of `purpose` on `channel` to each customer, now."""
    settings, review_days = policy_settings_for([shop_id])[shop_id]
    consent_channel = _CONSENT_CHANNEL.get(Channel(channel))
    limit = settings.budget_for(purpose)
    outcomes: Counter[str] = Counter()
    waiting = 0
    ids = sorted(set(customer_ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        people = Customer.objects.filter(pk__in=chunk).values_list("pk", "phone", "email", "name", "erased_at")
        consents: dict[int, list[bool]] = defaultdict(list)
        for cid, ch, granted in Consent.objects.filter(customer_id__in=chunk, purpose=purpose).values_list(
            "customer_id", "channel", "granted"
        ):
            if consent_channel is None or ch == consent_channel:
                consents[cid].append(granted)
        manual: dict[int, str] = {}
        if channel == Channel.MANUAL:
            for cid, platform, handle in (
                CustomerIdentity.objects.filter(customer_id__in=chunk)
                .order_by("-pk")
                .values_list("customer_id", "platform", "handle")
            ):
                manual[cid] = f"{platform}:{handle}"
        blocked: dict[int, str] = {}
        if purpose == Purpose.MARKETING and registry.suppression_hooks:
            check = SuppressionCheck(
                customer_ids=tuple(chunk), now=now, negative_review_days=review_days, shop_id=shop_id
            )
            for hook in registry.suppression_hooks.values():
                for cid, reason in hook(check).items():
                    if reason:
                        blocked.setdefault(cid, str(reason)[:20])
        contacts: dict[int, list[datetime]] = defaultdict(list)
        if limit:
            for cid, at in Message.objects.filter(
                customer_id__in=chunk,
                purpose=purpose,
                status__in=Message.CONTACTED,
                contacted_at__gt=now - timedelta(days=settings.budget_days),
            ).values_list("customer_id", "contacted_at"):
                if cid is not None and at is not None:
                    contacts[cid].append(at)
        for cid, phone, email, name, erased_at in people:
            answers = consents.get(cid, [])
            consent = False if False in answers else (True if answers else None)
            facts = policy.Facts(
                purpose=purpose,
                address=_address(channel, phone, email, name, manual.get(cid, "")),
                erased=erased_at is not None,
                consent=consent,
                blocked_by=blocked.get(cid, ""),
                contacts=sorted(contacts.get(cid, [])),
                deadline=now + deadline,
            )
            decision = policy.decide(facts, settings, now)
            if decision.action == policy.SEND:
                outcomes["send"] += 1
            elif decision.action == policy.HOLD:
                outcomes["send"] += 1
                waiting += 1
            else:
                outcomes[decision.reason] += 1
    send = outcomes.pop("send", 0)
    return Forecast(total=len(ids), send=send, waiting=waiting, suppressed=dict(sorted(outcomes.items())))
