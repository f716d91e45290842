"""Reads of the messaging engine: the send records with their filters, manual tasks, templates and previews,
channel settings, the contact policy of a shop, and the per-source summary behind "resend"."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, F, Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.core.pii import Masker, is_contact_like
from huitouke.customers.models import ENCRYPTED_FIELDS, Customer, CustomerIdentity
from huitouke.messaging import policy, rendering, tallies
from huitouke.messaging.models import Channel, ChannelConfig, ContactPolicy, Message, Purpose, SourceKind, Template
from huitouke.messaging.policy import PolicySettings
from huitouke.orders.models import Shop


@dataclass(frozen=True)
class MessageFilter:
    """The ways the send records can be narrowed (list page, API). `source` is "<content type id>:<id>"."""

    source_kind: str = ""
    source: str = ""
    channel: str = ""
    status: str = ""
    reason: str = ""
    purpose: str = ""
    date_from: date | None = None
    date_to: date | None = None
    customer_id: int | None = None
    shop_id: int | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> MessageFilter:
        """Read the filters from query parameters; raises ApplicationError naming the parameter that is wrong."""

        def choice(name: str, allowed: Iterable[str]) -> str:
            value = str(params.get(name) or "").strip()
            if value and value not in set(allowed):
                raise ApplicationError(
                    _("%(name)s: unknown value %(value)r") % {"name": name, "value": value}, field=name
                )
            return value

        def day(name: str) -> date | None:
            value = str(params.get(name) or "").strip()
            if not value:
                return None
            try:
                return date.fromisoformat(value)
            except ValueError as exc:
                raise ApplicationError(_("%(name)s: not a date like 2025-05-17") % {"name": name}, field=name) from exc

        def number(name: str) -> int | None:
            value = str(params.get(name) or "").strip()
            if not value:
                return None
            if not value.isdigit():
                raise ApplicationError(_("%(name)s: not a number") % {"name": name}, field=name)
            return int(value)

        source = str(params.get("source") or "").strip()
        if source:
            type_id, _sep, object_id = source.partition(":")
            if not (type_id.isdigit() and object_id.isdigit()):
                raise ApplicationError(_("source: expected <type id>:<id>"), field="source")
        made = cls(
            source_kind=choice("source_kind", SourceKind.values),
            source=source,
            channel=choice("channel", Channel.values),
            status=choice("status", Message.Status.values),
            reason=choice("reason", [r for r in Message.Reason.values if r]),
            purpose=choice("purpose", Purpose.values),
            date_from=day("date_from"),
            date_to=day("date_to"),
            customer_id=number("customer"),
            shop_id=number("shop"),
        )
        if made.date_from and made.date_to and made.date_from > made.date_to:
            raise ApplicationError(_("date_to: before date_from"), field="date_to")
        return made

    @property
    def source_ids(self) -> tuple[int, int] | None:
        if not self.source:
            return None
        type_id, _sep, object_id = self.source.partition(":")
        return int(type_id), int(object_id)


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


def message_list(*, filters: MessageFilter) -> QuerySet[Message]:
    """Send records, newest first, with customer (its name: contact fields are decrypted per row loaded), shop
    and source loaded."""
    qs = Message.objects.select_related("customer", "shop", "template").prefetch_related("source")
    qs = qs.defer(*(f"customer__{name}" for name in ENCRYPTED_FIELDS))
    f = filters
    if f.source_kind:
        qs = qs.filter(source_kind=f.source_kind)
    if f.source_ids:
        qs = qs.filter(source_type_id=f.source_ids[0], source_id=f.source_ids[1])
    for name in ("channel", "status", "reason", "purpose"):
        value = getattr(f, name)
        if value:
            qs = qs.filter(**{name: value})
    if f.date_from:
        qs = qs.filter(created_at__gte=_day_start(f.date_from))
    if f.date_to:
        qs = qs.filter(created_at__lt=_day_start(f.date_to + timedelta(days=1)))
    if f.customer_id:
        qs = qs.filter(customer_id=f.customer_id)
    if f.shop_id:
        qs = qs.filter(shop_id=f.shop_id)
    return qs.order_by("-created_at", "-id")


def message_get(*, message_id: int) -> Message:
    message = (
        Message.objects.select_related("customer", "shop", "template", "source_type").filter(pk=message_id).first()
    )
    if message is None:
        raise NotFoundError(f"message {message_id} not found", field="message")
    return message


_MASKED = Masker(unmasked=False)


def ids_with_contact_data(messages: Iterable[Message]) -> list[int]:
    """Ids of the messages whose address is contact data (a phone, an email, a handle that is one): those an
    unmasked response shows in full, so that it is audited (core.services.audit_unmasked)."""
    return [m.pk for m in messages if m.to_address and _MASKED.to_address(m.channel, m.to_address) != m.to_address]


def message_list_for_customer(*, customer: Customer, limit: int = 50) -> QuerySet[Message]:
    return Message.objects.filter(customer=customer).order_by("-created_at", "-id")[:limit]


def manual_task_list() -> QuerySet[Message]:
    """Manual messages waiting for an agent, most urgent first."""
    return (
        Message.objects.filter(channel=Channel.MANUAL, status=Message.Status.SENDING, lease_until__isnull=True)
        .select_related("customer", "shop")
        .order_by("priority", "scheduled_at", "id")
    )


@dataclass(frozen=True)
class SourceSummary:
    """Messages of one source per status, and how many "resend" would bring back."""

    kind: str
    type_id: int | None
    object_id: int | None
    label: str
    counts: dict[str, int]

    @property
    def resendable(self) -> int:
        return sum(self.counts.get(s, 0) for s in Message.RESENDABLE)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def source_summary(*, kind: str, type_id: int | None = None, object_id: int | None = None) -> SourceSummary:
    qs = Message.objects.filter(source_kind=kind)
    label = SourceKind(kind).label if kind in SourceKind.values else kind
    if type_id is not None:
        qs = qs.filter(source_type_id=type_id, source_id=object_id)
        ct = ContentType.objects.filter(pk=type_id).first()
        obj = ct.get_object_for_this_type(pk=object_id) if ct and ct.model_class() else None
        label = f"{label} · {obj}" if obj is not None else f"{label} #{object_id}"
    if type_id is not None and object_id is not None:
        # one source: its kept counts (messaging.tallies), not a count of its messages (a campaign may have
        # half a million)
        counts: dict[str, int] = {}
        kept = tallies.source_counts(source_type_id=type_id, source_ids=[object_id]).get(object_id, {})
        for (status, _reason), n in kept.items():
            counts[status] = counts.get(status, 0) + n
    else:
        counts = {str(k): int(v) for k, v in qs.order_by().values_list("status").annotate(n=Count("id"))}
    return SourceSummary(kind, type_id, object_id, str(label), counts)


# --- templates -----------------------------------------------------------------------------------------------


def template_list(*, channel: str = "", purpose: str = "", language: str = "") -> QuerySet[Template]:
    qs = Template.objects.all()
    if channel:
        qs = qs.filter(channel=channel)
    if purpose:
        qs = qs.filter(purpose=purpose)
    if language:
        qs = qs.filter(language=language)
    return qs.order_by("system", "purpose", "channel", "language", "name")


def template_get(*, template_id: int) -> Template:
    template = Template.objects.filter(pk=template_id).first()
    if template is None:
        raise NotFoundError(f"template {template_id} not found", field="template")
    return template


def base_variables(*, wanted: Mapping[int, set[str]], shops: Mapping[int, int | None]) -> dict[int, dict[str, str]]:
    """The variables every message can fill from the archive: {name} (display name), {nick} (first buyer
    handle), {shop} (shop name) and {level} (member level in that shop). `wanted` says which ones per customer.
    A handle that is contact data (a Shopify email) is no nickname: it would put the address into texts every
    role reads; a customer with only such handles gets their display name as {nick}."""
    out: dict[int, dict[str, str]] = {cid: {} for cid in wanted}
    ids = list(wanted)
    need = set().union(*wanted.values())
    if "name" in need:
        for cid, name in Customer.objects.filter(pk__in=ids).values_list("pk", "name"):
            out[cid]["name"] = name
    if "nick" in need:
        contact_only = set()
        for cid, handle in (
            CustomerIdentity.objects.filter(customer_id__in=ids).order_by("-pk").values_list("customer_id", "handle")
        ):
            if is_contact_like(handle):
                contact_only.add(cid)
            else:
                out[cid]["nick"] = handle  # the oldest identity wins (iterated last)
        named = [cid for cid in contact_only if "nick" not in out[cid]]
        for cid, name in Customer.objects.filter(pk__in=named).values_list("pk", "name"):
            out[cid]["nick"] = name
    shop_ids = {s for s in shops.values() if s}
    if "shop" in need and shop_ids:
        names = dict(Shop.objects.filter(pk__in=shop_ids).values_list("pk", "name"))
        for cid in ids:
            if shops.get(cid) in names:
                out[cid]["shop"] = names[shops[cid]]  # type: ignore[index]
    if "level" in need and shop_ids:
        from huitouke.loyalty.models import Membership

        for cid, shop_id, level in Membership.objects.filter(customer_id__in=ids, shop_id__in=shop_ids).values_list(
            "customer_id", "shop_id", "level__name"
        ):
            if shops.get(cid) == shop_id:
                out[cid]["level"] = level
    return out


@dataclass(frozen=True)
class Preview:
    """A template rendered for one customer, with what is missing and, for SMS, its length and parts."""

    subject: str
    body: str
    missing: tuple[str, ...]
    sms: rendering.SmsCount | None
    signature: str = ""
    error: str = ""


def template_preview(
    *,
    channel: str,
    purpose: str,
    language: str = "zh-hans",
    subject: str,
    body: str,
    customer: Customer | None,
    shop: Shop | None,
    context: Mapping[str, Any] | None = None,
) -> Preview:
    """How a template text would read for `customer` in `shop`: base variables from the archive, the rest from
    `context` (sample values). An invalid text gives its error instead."""
    try:
        variables = rendering.variables_in(subject + "\n" + body)
    except rendering.TemplateTextError as exc:
        return Preview(subject, body, (), None, error=exc.message)
    values: dict[str, Any] = {}
    if customer is not None:
        base = base_variables(wanted={customer.pk: set(variables)}, shops={customer.pk: shop.pk if shop else None})
        values.update(base.get(customer.pk, {}))
    values.update({k: v for k, v in (context or {}).items() if v})
    rendered_body = rendering.render(body, values)
    rendered_subject = rendering.render(subject, values) if subject else rendering.Rendered("")
    text = rendered_body.text
    count = None
    signature = ""
    if channel == Channel.SMS:
        if purpose == Purpose.MARKETING:
            text = rendering.sms_with_unsubscribe(text, language)
        signature = sms_signature_for(shop)
        count = rendering.sms_count(text, signature=signature)
    missing = tuple(dict.fromkeys((*rendered_subject.missing, *rendered_body.missing)))
    return Preview(rendered_subject.text, text, missing, count, signature)


# --- settings ------------------------------------------------------------------------------------------------


def channel_config_for(*, shop_id: int | None, channel: str) -> ChannelConfig | None:
    """The setting that applies to a shop's channel: its own, else the default one (no shop)."""
    if shop_id is not None:
        own = ChannelConfig.objects.filter(channel=channel, shop_id=shop_id).first()
        if own is not None:
            return own
    return ChannelConfig.objects.filter(channel=channel, shop__isnull=True).first()


def sms_signature_for(shop: Shop | None) -> str:
    config = channel_config_for(shop_id=shop.pk if shop else None, channel=Channel.SMS)
    return str((config.options or {}).get("sign_name", "")) if config else ""


def channel_config_list() -> QuerySet[ChannelConfig]:
    return ChannelConfig.objects.select_related("shop").order_by("shop__name", "channel")


def contact_policy_get(*, shop_id: int | None) -> ContactPolicy:
    """The policy that applies to a shop: its own, else the default row, else the built-in defaults (unsaved)."""
    if shop_id is not None:
        own = ContactPolicy.objects.filter(shop_id=shop_id).first()
        if own is not None:
            return own
    return ContactPolicy.objects.filter(shop__isnull=True).first() or ContactPolicy()


def policy_settings_for(shop_ids: Iterable[int | None]) -> dict[int | None, tuple[PolicySettings, int]]:
    """For each shop id (None: no shop) the pure PolicySettings (with the shop's time zone) and its negative
    review period, in two queries."""
    ids = {s for s in shop_ids if s is not None}
    policies = {p.shop_id: p for p in ContactPolicy.objects.filter(shop_id__in=ids)}
    default = ContactPolicy.objects.filter(shop__isnull=True).first() or ContactPolicy()
    zones = dict(Shop.objects.filter(pk__in=ids).values_list("pk", "timezone"))
    out: dict[int | None, tuple[PolicySettings, int]] = {}
    for shop_id in {*ids, None}:
        p = policies.get(shop_id, default) if shop_id is not None else default
        tz = (zones.get(shop_id) if shop_id is not None else None) or settings.TIME_ZONE
        out[shop_id] = (
            PolicySettings(
                tz=tz,
                quiet_start=p.quiet_start,
                quiet_end=p.quiet_end,
                budget_days=p.budget_days,
                budget_marketing=p.budget_marketing,
                budget_care=p.budget_care,
                marketing_consent=p.marketing_consent,
            ),
            p.negative_review_days,
        )
    return out


@dataclass(frozen=True)
class MarketingReach:
    """What a shop's marketing consent model does to a group of customers on one channel: how many never
    answered (left out under opt-in) and how many said no (always left out)."""

    model: str
    total: int
    unanswered: int
    refused: int

    @property
    def left_out(self) -> int:
        return self.refused + (self.unanswered if self.model != policy.OPT_OUT else 0)

    @property
    def reached(self) -> int:
        return self.total - self.left_out


def marketing_reach(*, customers: QuerySet[Customer], channel: str, shop_id: int | None) -> MarketingReach | None:
    """How many of `customers` the shop's consent model lets marketing on `channel` reach, in one query: each
    customer's latest answer to marketing or the new-products group on that channel, as the dispatcher reads it
    (policy.marketing_answer). None for a channel without a consent channel (webhooks)."""
    from huitouke.customers.models import Consent

    consent_channel = {Channel.SMS: "sms", Channel.EMAIL: "email", Channel.MANUAL: "im"}.get(Channel(channel))
    if consent_channel is None:
        return None
    model = policy_settings_for([shop_id])[shop_id][0].marketing_consent
    # Set-based: one pass over the consent rows of the customers asked about, grouped per customer. The latest
    # answer is a refusal when the latest refusal is as recent as the latest answer (ties go to the refusal).
    asked = customers.order_by().values("pk")
    answers = (
        Consent.objects.filter(
            customer_id__in=asked, channel=consent_channel, purpose__in=["marketing", "new_products"]
        )
        .values("customer_id")
        .annotate(last=Max("updated_at"), last_no=Max("updated_at", filter=Q(granted=False)))
    )
    tally = answers.aggregate(answered=Count("customer_id"), refused=Count("customer_id", filter=Q(last_no=F("last"))))
    total = Customer.objects.filter(pk__in=asked).count()
    counted = {"total": total, "unanswered": total - tally["answered"], "refused": tally["refused"]}
    return MarketingReach(
        model=model, total=counted["total"], unanswered=counted["unanswered"], refused=counted["refused"]
    )
