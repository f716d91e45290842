"""One-off sends (seed 001: pick buyers in the customer list and send them a message): the selection, the preview
(the message as one picked customer gets it, and how many the contact policy lets through), and the send itself,
recorded as a campaign without a segment or holdout group so that it shows in the campaign list with its results.

The send reuses the campaign launch (a background job with progress): recipients fixed, messages enqueued with
the key campaign:<id>:<customer>, every decision not to send recorded by the dispatcher with its reason.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Exists
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.campaigns.models import Campaign
from huitouke.campaigns.selectors import new_products_agreed, one_off_customers
from huitouke.campaigns.services import (
    DEADLINE,
    ONE_OFF_MAX,
    CampaignInput,
    _validate,
    campaign_launch_start,
    one_off_too_many,
)
from huitouke.core.audit import record
from huitouke.core.errors import ApplicationError
from huitouke.core.models import AuditEntry
from huitouke.customers.models import Customer
from huitouke.customers.selectors import CustomerFilter
from huitouke.messaging.forecast import Forecast, send_forecast
from huitouke.messaging.models import Purpose, Template
from huitouke.messaging.selectors import Preview, template_preview
from huitouke.orders.models import Shop

#: The list's filter parameters a selection may keep (anything else in the query string is ignored).
_FILTER_KEYS_MAX = 30


@dataclass(frozen=True)
class OneOffInput:
    """What the send form gives: the marketing template (its channel is the send's), the type, the shop whose
    settings apply, an optional name and the template's extra values."""

    template_id: int | None
    kind: str = Campaign.Kind.ANNOUNCEMENT
    shop_id: int | None = None
    name: str = ""
    context: dict[str, str] | None = None


def one_off_selection(*, ids: list[int], filters: dict[str, str] | None) -> dict[str, Any]:
    """The stored form of what was picked: the ticked ids, or (filters given) the list's filters. Raises
    ApplicationError naming `selection` (nothing picked, too many ids) or the bad filter."""
    if filters is not None:
        if len(filters) > _FILTER_KEYS_MAX:
            raise ApplicationError(_("Too many filter parameters."), field="selection")
        CustomerFilter.from_params(filters)  # refuses a bad value, naming it
        return {"filters": {k: v for k, v in filters.items() if v}}
    if not ids:
        raise ApplicationError(_("Tick some customers first."), field="selection")
    if len(ids) > ONE_OFF_MAX:
        raise ApplicationError(one_off_too_many(len(ids)), field="selection")
    return {"ids": sorted(set(ids))}


def _template(data: OneOffInput) -> Template:
    template = Template.objects.filter(pk=data.template_id).first() if data.template_id else None
    if template is None:
        raise ApplicationError(_("Choose the message template."), field="template")
    if template.purpose != Purpose.MARKETING:
        raise ApplicationError(_("Choose a marketing template."), field="template")
    return template


@dataclass(frozen=True)
class OneOffPreview:
    """Everything the confirm page shows before the send."""

    picked: int
    outside_group: int  # picked but not in the new-products opt-in group (new-product notices and promotions)
    forecast: Forecast
    sample: Customer | None
    preview: Preview | None
    template: Template


def one_off_preview(*, selection: dict[str, Any], data: OneOffInput, now: datetime | None = None) -> OneOffPreview:
    """How many customers are picked, how many the contact policy would let the message reach now (and why not
    the others), and the message as the first of them would get it. Raises ApplicationError for a bad template
    or more than ONE_OFF_MAX customers."""
    now = now or timezone.now()
    template = _template(data)
    if data.kind not in Campaign.Kind.values:
        raise ApplicationError(_("Unknown campaign type."), field="kind")
    shop = Shop.objects.filter(pk=data.shop_id).first() if data.shop_id else None
    picked_qs = one_off_customers(selection).order_by("pk")
    picked_ids = list(picked_qs.values_list("pk", flat=True)[: ONE_OFF_MAX + 1])
    if len(picked_ids) > ONE_OFF_MAX:
        raise ApplicationError(one_off_too_many(len(picked_ids)), field="selection")
    ids = picked_ids
    if data.kind in Campaign.CONSENT_KINDS:
        ids = list(
            Customer.objects.filter(pk__in=picked_ids)
            .filter(Exists(new_products_agreed(template.channel)))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    forecast = send_forecast(
        customer_ids=ids, channel=template.channel, shop_id=shop.pk if shop else None, now=now, deadline=DEADLINE
    )
    sample = Customer.objects.filter(pk=ids[0]).first() if ids else None
    preview = (
        template_preview(
            channel=template.channel,
            purpose=template.purpose,
            language=template.language,
            subject=template.subject,
            body=template.body,
            customer=sample,
            shop=shop,
            context=data.context,
        )
        if sample is not None
        else None
    )
    return OneOffPreview(
        picked=len(picked_ids),
        outside_group=len(picked_ids) - len(ids),
        forecast=forecast,
        sample=sample,
        preview=preview,
        template=template,
    )


def _free_name(base: str) -> str:
    name, n = base, 1
    while Campaign.objects.filter(name=name).exists():
        n += 1
        name = f"{base} ({n})"
    return name


@transaction.atomic
def campaign_one_off_create(*, selection: dict[str, Any], data: OneOffInput, user: Any) -> Campaign:
    """Record a one-off send as a campaign (no segment, no holdout group) and mark it launching; the caller then
    submits the launch job. Raises ApplicationError naming the field (template, kind, shop, name, selection)."""
    template = _template(data)
    stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    name = data.name.strip() or _free_name(_("Message to picked customers, %(when)s") % {"when": stamp})
    values = _validate(
        CampaignInput(
            name=name,
            kind=data.kind,
            segment_id=None,
            channel=template.channel,
            template_id=template.pk,
            shop_id=data.shop_id,
            context=data.context,
            holdout_share=Decimal("0"),
        ),
        exclude_pk=None,
    )
    if not selection.get("ids") and "filters" not in selection:
        raise ApplicationError(_("Tick some customers first."), field="selection")
    campaign = Campaign(
        seed=secrets.randbelow(2**31),
        created_by=user if getattr(user, "is_authenticated", False) else None,
        one_off=True,
        selection=selection,
        **values,
    )
    campaign.save()
    campaign_launch_start(campaign=campaign)
    record(actor=user, action=AuditEntry.Action.CAMPAIGN, target_type="campaign", target_id=campaign.pk, one_off=True)
    return campaign
