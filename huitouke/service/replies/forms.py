"""Forms of the canned-reply pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from huitouke.orders.models import Shop
from huitouke.service.models import TicketType
from huitouke.service.replies.models import ReplyCategory, ReplyLanguage


class CannedReplyForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=100)
    category = forms.ChoiceField(label=_("Scenario"), choices=ReplyCategory.choices)
    ticket_type = forms.ChoiceField(
        label=_("Ticket type"), choices=[("", _("any")), *TicketType.choices], required=False
    )
    language = forms.ChoiceField(label=_("Language"), choices=ReplyLanguage.choices)
    body = forms.CharField(
        label=_("Text"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5, "id": "reply-text"}),
        help_text=_(
            "Variables: {name} {nick} {shop} {order_no} {items} {carrier} {tracking_no} {refund_amount} "
            "{agent} {ticket_no} {self_service_link}. They are filled when the reply is used."
        ),
    )
    scope = forms.ChoiceField(
        label=_("Who uses it"), choices=[("personal", _("Only me")), ("shop", _("Everyone in the shop"))]
    )
    shop = forms.ModelChoiceField(label=_("Shop"), queryset=Shop.objects.order_by("name"), required=False)

    def __init__(self, *args: Any, managers: bool = False, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not managers:
            self.fields["scope"].choices = [("personal", _("Only me"))]  # type: ignore[attr-defined]  # a ChoiceField
        if editing:
            del self.fields["scope"]
            del self.fields["shop"]


class WordingRulesForm(forms.Form):
    enabled = forms.BooleanField(label=_("Show wording hints"), required=False)
    greeting = forms.CharField(
        label=_("Greeting a reply opens with"), max_length=20, required=False, help_text=_("Empty: no check.")
    )
    banned = forms.CharField(
        label=_("Banned words"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Separated by commas or 、; empty: no check."),
    )
    sms_limit = forms.IntegerField(
        label=_("Longest text for one SMS"), min_value=0, max_value=1000, help_text=_("0: no check.")
    )
