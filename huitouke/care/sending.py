"""The one place care talks to messaging: enqueueing a rule's messages, reading their send records, choosing and
previewing templates, and keeping care's system templates in the messaging library.

Kept small on purpose, so a change in the messaging API is a change here only. Every care message is enqueued
through `message_enqueue_many` with the idempotency key (rule, customer, occasion) and its activation as the
message's source; the messaging policy (consent, quiet hours, contact budget) decides when and whether it goes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, OuterRef, QuerySet

from huitouke.customers.models import Customer
from huitouke.messaging import rendering, tallies
from huitouke.messaging.models import Message, SourceKind, Template
from huitouke.messaging.selectors import MarketingReach, Preview, base_variables, marketing_reach, template_preview
from huitouke.messaging.services import OutgoingMessage, SourceRef, message_enqueue_many
from huitouke.orders.models import Shop


@dataclass(frozen=True)
class CareMessage:
    """One message a rule wants to send: to whom, for which occasion (in `key`), with which variables."""

    key: str
    customer_id: int
    shop_id: int | None
    context: Mapping[str, Any] = field(default_factory=dict)
    deadline: datetime | None = None


def activation_type_id() -> int:
    """The content type id of CareActivation (messages point at their activation through it; Django's content
    type cache makes this a dictionary lookup after the first call)."""
    from huitouke.care.models import CareActivation

    return ContentType.objects.get_for_model(CareActivation).pk


BASE_VARIABLES = ("name", "nick", "shop", "level")


def template_variables(template: Template) -> tuple[str, ...]:
    """The variables a template's subject and text use."""
    return _variables(f"{template.subject}\n{template.body}")


@lru_cache(maxsize=256)
def _variables(text: str) -> tuple[str, ...]:
    return rendering.variables_in(text)


def prefill(template: Template, messages: Sequence[CareMessage]) -> list[CareMessage]:
    """Fill the archive variables ({name}, {nick}, {shop}, {level}) a template needs and a message's context
    lacks, for a batch at once (messaging's base_variables: one query per kind), so enqueueing itself runs no
    query and a dry run can tell which messages would miss a variable."""
    needed = [v for v in template_variables(template) if v in BASE_VARIABLES]
    wanted: dict[int, set[str]] = {}
    shops: dict[int, int | None] = {}
    for m in messages:
        lacking = {v for v in needed if not str(m.context.get(v) or "").strip()}
        if lacking:
            wanted.setdefault(m.customer_id, set()).update(lacking)
            shops[m.customer_id] = m.shop_id
    if not wanted:
        return list(messages)
    found = base_variables(wanted=wanted, shops=shops)
    out = []
    for m in messages:
        extra = {k: v for k, v in found.get(m.customer_id, {}).items() if not str(m.context.get(k) or "").strip()}
        out.append(dataclasses.replace(m, context={**m.context, **extra}) if extra else m)
    return out


def missing_variables(template: Template, message: CareMessage) -> tuple[str, ...]:
    """The template variables this (prefilled) message has no value for: messaging suppresses such a message
    with reason `missing_variable` rather than send it with a blank."""
    return tuple(v for v in template_variables(template) if not str(message.context.get(v) or "").strip())


def enqueue(
    *,
    activation_id: int,
    template: Template,
    messages: Sequence[CareMessage],
    scheduled_at: datetime,
    now: datetime,
    purpose: str = "",
) -> int:
    """Enqueue one batch of an activation's messages, prefilled (see `prefill`), in one transaction; returns how
    many were added — keys enqueued before (the same rule, customer and occasion) add nothing. `purpose`: the
    rule's (CareRule.message_purpose; empty: the template's)."""
    source = SourceRef(SourceKind.CARE, activation_type_id(), activation_id)
    rows = []
    for m in messages:
        deadline = m.deadline if m.deadline is None or m.deadline >= scheduled_at else scheduled_at
        rows.append(
            OutgoingMessage(
                idempotency_key=m.key,
                channel=template.channel,
                purpose=purpose or template.purpose,
                customer_id=m.customer_id,
                shop_id=m.shop_id,
                source=source,
                template_id=template.pk,
                context=m.context,
                scheduled_at=scheduled_at,
                deadline=deadline,
                language=template.language,
            )
        )
    if not rows:
        return 0
    # a key that failed or expired under an earlier activation is queued again in place (the selection only
    # hands over such keys when the rule was re-activated since)
    return message_enqueue_many(messages=rows, now=now, retry_failed=True)


def reach(*, customers: QuerySet[Customer], channel: str, shop_id: int | None) -> MarketingReach | None:
    """How many of `customers` the shop's marketing consent model leaves out on `channel` (messaging decides)."""
    return marketing_reach(customers=customers, channel=channel, shop_id=shop_id)


def contacted_since(cutoff: datetime) -> Exists:
    """Per customer (OuterRef "pk"): a message reached them at or after `cutoff` (any source)."""
    return Exists(Message.objects.filter(customer_id=OuterRef("pk"), contacted_at__gte=cutoff))


def sent_by_rule_since(activation_ids: Sequence[int], cutoff: datetime) -> Exists:
    """Per customer (OuterRef "pk"): one of these activations enqueued a message for them at or after `cutoff`,
    whatever became of it."""
    return Exists(
        Message.objects.filter(
            customer_id=OuterRef("pk"),
            source_kind=SourceKind.CARE,
            source_type_id=activation_type_id(),
            source_id__in=list(activation_ids) or [0],
            created_at__gte=cutoff,
        )
    )


def _settled(qs: QuerySet[Message], retry_from: Sequence[int]) -> QuerySet[Message]:
    """The messages that settle their key: all, except those that failed or expired under one of the earlier
    activations `retry_from` — a re-activated rule (seed 004: editing the content re-opens it) tries those again;
    what was sent, is waiting or was suppressed stays settled."""
    if not retry_from:
        return qs
    return qs.exclude(
        status__in=Message.RESENDABLE, source_type_id=activation_type_id(), source_id__in=list(retry_from)
    )


def key_enqueued(key: Any, retry_from: Sequence[int] = ()) -> Exists:
    """Per row: a message with this idempotency key (an expression, e.g. OuterRef("care_key")) settles it (see
    `_settled`; without `retry_from`: any message with the key)."""
    return Exists(_settled(Message.objects.filter(idempotency_key=key), retry_from))


def existing_keys(keys: Sequence[str], retry_from: Sequence[int] = ()) -> set[str]:
    """The keys among `keys` that a message settles already (for dry runs and replenishment: what a run skips)."""
    found: set[str] = set()
    for start in range(0, len(keys), 5000):
        chunk = list(keys[start : start + 5000])
        settled = _settled(Message.objects.filter(idempotency_key__in=chunk), retry_from)
        found.update(settled.values_list("idempotency_key", flat=True))
    return found


def messages_of(activation_ids: Sequence[int]) -> QuerySet[Message]:
    """The send records of these activations, newest first, with customer and shop."""
    return (
        Message.objects.filter(
            source_kind=SourceKind.CARE, source_type_id=activation_type_id(), source_id__in=list(activation_ids)
        )
        .select_related("customer", "shop")
        .order_by("-created_at", "-id")
    )


def status_counts(activation_ids: Sequence[int]) -> dict[int, dict[tuple[str, str], int]]:
    """{activation id: {(status, reason): messages}}, from messaging's kept counts (one query over a few rows
    per activation, however many messages it has)."""
    return tallies.source_counts(source_type_id=activation_type_id(), source_ids=activation_ids)


STATUS_LABELS = dict(Message.Status.choices)
REASON_LABELS = dict(Message.Reason.choices)
SENT_STATUSES = (Message.Status.SENT, Message.Status.DELIVERED)


# --- templates -----------------------------------------------------------------------------------------------


def template_get(template_id: int) -> Template | None:
    return Template.objects.filter(pk=template_id).first()


def template_choices(*, channel: str = "") -> QuerySet[Template]:
    """Templates a rule may use (care, transactional and marketing purposes), care's own first."""
    qs = Template.objects.filter(purpose__in=["care", "transactional", "marketing"])
    if channel:
        qs = qs.filter(channel=channel)
    return qs.order_by("-system", "key", "language", "channel", "name")


def system_template(*, key: str, channel: str, language: str) -> Template | None:
    return Template.objects.filter(system=True, key=key, channel=channel, language=language).first()


def preview(*, template: Template, customer: Customer | None, shop: Shop | None, context: Mapping[str, Any]) -> Preview:
    """How the template reads for one customer (messaging's preview: base variables from the archive)."""
    return template_preview(
        channel=template.channel,
        purpose=template.purpose,
        language=template.language,
        subject=template.subject,
        body=template.body,
        customer=customer,
        shop=shop,
        context=context,
    )
