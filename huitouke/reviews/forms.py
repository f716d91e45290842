"""Forms of the review pages: filters, upload, column mapping, credit settings, case outcome, what-if."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from huitouke.orders.models import Shop
from huitouke.reviews.importer import FIELDS, MAX_TEXT, REQUIRED
from huitouke.reviews.labels import REASON_LABELS
from huitouke.reviews.models import ALERT_FIELD_MAX, CreditSettings, Result, ReviewCase, Role

MAX_UPLOAD = 200 * 1024 * 1024

FIELD_LABELS = {
    "tid": _("Order number"),
    "oid": _("Sub-order number"),
    "role": _("Who rated (buyer or seller)"),
    "nick": _("Buyer nick"),
    "result": _("Rating (good, neutral, bad)"),
    "created": _("Rated at"),
    "item_title": _("Item title"),
    "num_iid": _("Item id"),
    "content": _("Review text"),
    "reply": _("Shop's explanation"),
    "reply_time": _("Explained at"),
    "anony": _("Anonymous"),
    "follow_up": _("Follow-up review"),
    "follow_up_time": _("Follow-up at"),
    "pictures": _("Pictures"),
    "is_default": _("Default good rating"),
    "dsr_description": _("As described (1-5)"),
    "dsr_service": _("Service (1-5)"),
    "dsr_logistics": _("Delivery (1-5)"),
}


class ReviewFilterForm(forms.Form):
    shop = forms.ModelChoiceField(Shop.objects.all(), required=False, label=_("Shop"), empty_label=_("All shops"))
    result = forms.ChoiceField(choices=[("", _("Any rating")), *Result.choices], required=False, label=_("Rating"))
    scored = forms.ChoiceField(
        choices=[("", _("Scored or not")), ("yes", _("Scores")), ("no", _("Does not score"))],
        required=False,
        label=_("Credit"),
    )
    product = forms.CharField(max_length=100, required=False, label=_("Item id or title"))
    text = forms.CharField(max_length=50, required=False, label=_("Text contains"))
    reason = forms.ChoiceField(
        choices=[("", _("Any reason")), *REASON_LABELS.items()], required=False, label=_("Why it does not score")
    )


def review_filter_args(form: ReviewFilterForm) -> dict[str, Any]:
    """The review_list arguments a filter form stands for: the list and its export read the same ones (a form
    with a wrong value filters nothing, as the list shows it)."""
    data = form.cleaned_data if form.is_valid() else {}
    return {
        "shop": data.get("shop"),
        "result": data.get("result") or "",
        "scored": {"yes": True, "no": False}.get(data.get("scored") or ""),
        "product": data.get("product") or "",
        "reason": data.get("reason") or "",
        "text": data.get("text") or "",
    }


class ReviewUploadForm(forms.Form):
    file = forms.FileField(label=_("Review export (CSV or XLSX)"))
    shop = forms.ModelChoiceField(Shop.objects.all(), label=_("Shop"))

    def clean_file(self) -> Any:
        f = self.cleaned_data["file"]
        if f.size > MAX_UPLOAD:
            raise forms.ValidationError(_("The file is larger than 200 MB."))
        return f


class ReviewMappingForm(forms.Form):
    """One select per review field, choices the file's headers."""

    def __init__(self, *args: Any, headers: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "—"), *[(h, h) for h in headers if h]]
        for name in FIELDS:
            self.fields[name] = forms.ChoiceField(
                choices=choices, required=name in REQUIRED, label=FIELD_LABELS.get(name, name)
            )

    def mapping(self) -> dict[str, str]:
        return {k: v for k, v in self.cleaned_data.items() if v}


class CreditSettingsForm(forms.ModelForm):
    #: the fields of the alert section of the page (the others are the credit rules)
    ALERT_FIELDS = ("alert_email", "alert_robot_url")

    alert_robot_url = forms.URLField(
        assume_scheme="https",
        required=False,
        max_length=ALERT_FIELD_MAX,
        label=CreditSettings._meta.get_field("alert_robot_url").verbose_name,
        help_text=CreditSettings._meta.get_field("alert_robot_url").help_text,
    )

    class Meta:
        model = CreditSettings
        fields = [
            "preset",
            "rating_period_days",
            "default_good_after_days",
            "monthly_cap",
            "same_item_days",
            "tmall",
            "alert_email",
            "alert_robot_url",
        ]

    def rule_fields(self) -> list[forms.BoundField]:
        return [f for f in self if f.name not in self.ALERT_FIELDS]

    def alert_fields(self) -> list[forms.BoundField]:
        return [f for f in self if f.name in self.ALERT_FIELDS]


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=[c for c in ReviewCase.Outcome.choices if c[0] != ReviewCase.Outcome.OPEN], label=_("Outcome")
    )
    note = forms.CharField(max_length=500, required=False, label=_("Note"))


class WhatIfForm(forms.Form):
    order_no = forms.CharField(max_length=64, label=_("Order number"))
    result = forms.ChoiceField(choices=Result.choices, label=_("Rating"))


class ExplainForm(forms.Form):
    text = forms.CharField(
        max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 4}), label=_("The shop's explanation (public)")
    )


class ReviewEntryForm(forms.Form):
    """A review entered by hand for an order of the archive (e.g. read off the seller centre)."""

    shop = forms.ModelChoiceField(Shop.objects.all(), label=_("Shop"))
    order_no = forms.CharField(max_length=64, label=_("Order number"))
    item_id = forms.CharField(max_length=64, required=False, label=_("Item id (empty: the whole order)"))
    role = forms.ChoiceField(choices=Role.choices, initial=Role.BUYER, label=_("Who rated"))
    result = forms.ChoiceField(choices=Result.choices, label=_("Rating"))
    content = forms.CharField(
        max_length=MAX_TEXT, required=False, widget=forms.Textarea(attrs={"rows": 3}), label=_("Review text")
    )
    created_at = forms.DateTimeField(
        label=_("Rated at (shop time)"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
    )
    anonymous = forms.BooleanField(required=False, label=_("Anonymous"))
