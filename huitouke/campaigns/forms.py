"""The campaign form: plain Django form fields turned into a CampaignInput for the service."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from huitouke.audiences.models import Segment
from huitouke.campaigns.models import Campaign
from huitouke.campaigns.services import CampaignInput
from huitouke.core.widgets import DateTimeTextInput
from huitouke.messaging.models import Channel, Template
from huitouke.orders.models import Shop

CHANNELS = [
    (Channel.SMS.value, Channel.SMS.label),
    (Channel.EMAIL.value, Channel.EMAIL.label),
    (Channel.MANUAL.value, Channel.MANUAL.label),
]


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Type"), choices=Campaign.Kind.choices)
    segment = forms.ModelChoiceField(label=_("Segment"), queryset=Segment.objects.order_by("name"), required=False)
    channel = forms.ChoiceField(label=_("Channel"), choices=CHANNELS)
    template = forms.ModelChoiceField(
        label=_("Template"),
        queryset=Template.objects.filter(purpose="marketing").order_by("channel", "name"),
        required=False,
    )
    shop = forms.ModelChoiceField(label=_("Shop"), queryset=Shop.objects.order_by("name"), required=False)
    product = forms.CharField(label=_("Product ({product})"), max_length=100, required=False)
    coupon = forms.CharField(label=_("Coupon ({coupon})"), max_length=100, required=False)
    link = forms.CharField(label=_("Link ({link})"), max_length=200, required=False)
    scheduled_at = forms.DateTimeField(
        label=_("Send at"), required=False, help_text=_("Empty: as soon as you press Send."),
        widget=DateTimeTextInput(),
    )  # fmt: skip
    holdout_percent = forms.IntegerField(
        label=_("Holdout group (%)"), min_value=0, max_value=50, initial=10,
        help_text=_("This share of the segment gets nothing, so the results can show what the campaign itself earned."),
    )  # fmt: skip
    attribution_days = forms.IntegerField(label=_("Count orders for (days)"), min_value=1, max_value=90, initial=7)

    def to_input(self) -> CampaignInput:
        d: dict[str, Any] = self.cleaned_data
        return CampaignInput(
            name=d["name"],
            kind=d["kind"],
            segment_id=d["segment"].pk if d["segment"] else None,
            channel=d["channel"],
            template_id=d["template"].pk if d["template"] else None,
            shop_id=d["shop"].pk if d["shop"] else None,
            context={k: d[k] for k in ("product", "coupon", "link") if d.get(k)},
            scheduled_at=d["scheduled_at"],
            holdout_share=Decimal(d["holdout_percent"]) / 100,
            attribution_days=d["attribution_days"],
        )

    @classmethod
    def initial_for(cls, campaign: Campaign) -> dict[str, Any]:
        return {
            "name": campaign.name,
            "kind": campaign.kind,
            "segment": campaign.segment_id,
            "channel": campaign.channel,
            "template": campaign.template_id,
            "shop": campaign.shop_id,
            "scheduled_at": campaign.scheduled_at,
            "holdout_percent": int(campaign.holdout_share * 100),
            "attribution_days": campaign.attribution_days,
            **{k: campaign.context.get(k, "") for k in ("product", "coupon", "link")},
        }


class IdList(forms.Field):
    """Customer ids from repeated `ids` parameters (the boxes ticked on the customer list)."""

    default_error_messages = {"invalid": _("Customer ids are whole numbers.")}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)

    def to_python(self, value: Any) -> list[int]:
        values = value if isinstance(value, list | tuple) else ([value] if value else [])
        if not all(str(v).isdigit() and len(str(v)) <= 18 for v in values):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return sorted({int(v) for v in values})
