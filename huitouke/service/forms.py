"""Forms of the service pages. They check the shape of the input (required, numbers, choices) with messages in
the reader's language; the business rules stay in the services, whose errors the views show next to the form."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from huitouke.messaging.models import Channel
from huitouke.service.models import Compensation, Priority, TicketChannel, TicketStatus, TicketType

REPLY_CHANNELS = [(c, label) for c, label in Channel.choices if c in (Channel.SMS, Channel.EMAIL, Channel.MANUAL)]
WEEKDAYS = [
    (1, _("Monday")),
    (2, _("Tuesday")),
    (3, _("Wednesday")),
    (4, _("Thursday")),
    (5, _("Friday")),
    (6, _("Saturday")),
    (7, _("Sunday")),
]
#: Steps a seller often adds to a playbook, offered as ticks on the playbook form.
SUGGESTED_STEPS = {
    "ask_photos": (_("Ask for photos"), _("Ask the customer for photos of the item, the label and the parcel.")),
    "contact_carrier": (_("Contact the carrier"), _("Report the damage or delay to the carrier and note its answer.")),
    "check_stock": (_("Check the stock for a replacement"), ""),
    "note_platform": (_("Note the platform's deadline"), _("Write the platform's deadline on the ticket.")),
}


class TicketForm(forms.Form):
    shop = forms.IntegerField(label=_("Shop"), required=False)
    order = forms.IntegerField(label=_("Order"), required=False)
    lines = forms.TypedMultipleChoiceField(label=_("Order lines"), required=False, coerce=int, choices=[])
    type = forms.ChoiceField(label=_("Type"), choices=TicketType.choices)
    channel = forms.ChoiceField(label=_("Came in through"), choices=TicketChannel.choices)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices, initial=Priority.NORMAL)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 4}), max_length=20_000
    )
    tags = forms.CharField(label=_("Tags"), required=False, max_length=500, help_text=_("Separate tags with commas."))

    def __init__(self, *args: Any, line_ids: list[int] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lines"].choices = [(i, str(i)) for i in line_ids or []]  # type: ignore[attr-defined]

    def tag_list(self) -> list[str]:
        raw = str(self.cleaned_data.get("tags") or "").replace("，", ",")
        return [t.strip() for t in raw.split(",") if t.strip()]


class TicketEditForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=200)
    type = forms.ChoiceField(label=_("Type"), choices=TicketType.choices)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices)
    channel = forms.ChoiceField(label=_("Came in through"), choices=TicketChannel.choices)
    tags = forms.CharField(label=_("Tags"), required=False, max_length=500, help_text=_("Separate tags with commas."))
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 4}), max_length=20_000
    )

    def tag_list(self) -> list[str]:
        raw = str(self.cleaned_data.get("tags") or "").replace("，", ",")
        return [t.strip() for t in raw.split(",") if t.strip()]


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("Text"), max_length=5000, widget=forms.Textarea)
    channel = forms.ChoiceField(label=_("Send by"), choices=REPLY_CHANNELS, required=False)
    internal = forms.BooleanField(required=False)


class TransferForm(forms.Form):
    to = forms.CharField(label=_("Hand over to"), max_length=150)
    note = forms.CharField(label=_("Note for the colleague"), max_length=2000, widget=forms.Textarea)


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"), choices=TicketStatus.choices)
    note = forms.CharField(label=_("Remark"), max_length=2000, required=False, widget=forms.Textarea)


class CompensationForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Compensation.Kind.choices)
    amount = forms.DecimalField(label=_("To the customer (¥)"), min_value=0, max_digits=12, decimal_places=2, initial=0)
    cost = forms.DecimalField(label=_("Cost to the shop (¥)"), min_value=0, max_digits=12, decimal_places=2, initial=0)
    order_line = forms.IntegerField(label=_("Order line"), required=False)
    note = forms.CharField(label=_("Remark"), max_length=2000, required=False)


class AssignForm(forms.Form):
    ids = forms.TypedMultipleChoiceField(coerce=int, choices=[], error_messages={"required": _("Tick tickets first.")})
    to = forms.CharField(label=_("Assign to"), max_length=150)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        posted = self.data.getlist("ids") if hasattr(self.data, "getlist") else []
        self.fields["ids"].choices = [(v, v) for v in posted if str(v).isdigit()][:500]  # type: ignore[attr-defined]


def _dates(raw: str, field: str) -> list[date]:
    out = []
    for i, part in enumerate(raw.replace(",", "\n").split("\n"), start=1):
        text = part.strip()
        if not text:
            continue
        try:
            out.append(date.fromisoformat(text))
        except ValueError:
            raise forms.ValidationError(
                _("Line %(line)s: %(value)s is not a date like 2026-10-08."), params={"line": i, "value": text[:20]}
            ) from None
    if len(out) > 400:
        raise forms.ValidationError(_("At most 400 dates."))
    return out


class CalendarForm(forms.Form):
    timezone = forms.CharField(label=_("Time zone"), max_length=64)
    periods = forms.CharField(
        label=_("Working periods"), max_length=200, help_text=_("For example: 09:00-12:00, 13:30-18:00")
    )
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Working weekdays"), choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    public_holidays = forms.BooleanField(label=_("Chinese public holidays and make-up working days"), required=False)
    days_off = forms.CharField(
        label=_("Extra days off"), required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )
    workdays = forms.CharField(
        label=_("Extra working days"), required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )

    def clean_periods(self) -> list[str]:
        raw = str(self.cleaned_data["periods"]).replace("，", ",").replace("～", "-").replace("~", "-")
        return [p.strip() for p in raw.replace("\n", ",").split(",") if p.strip()]

    def clean_days_off(self) -> list[date]:
        return _dates(str(self.cleaned_data.get("days_off") or ""), "days_off")

    def clean_workdays(self) -> list[date]:
        return _dates(str(self.cleaned_data.get("workdays") or ""), "workdays")


class LimitsForm(forms.Form):
    agent_compensation_limit = forms.DecimalField(
        label=_("An agent may grant alone up to (¥)"), min_value=0, max_digits=12, decimal_places=2
    )
    follow_up_days = forms.IntegerField(
        label=_("Follow up after resolution (days, 0 = never)"), min_value=0, max_value=365
    )
    breaching_soon_percent = forms.IntegerField(
        label=_("Breaching soon when this share of the time is gone (%)"), min_value=1, max_value=99
    )


class PolicyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    scope = forms.ChoiceField(label=_("Applies to"), choices=[("shop", _("This shop")), ("all", _("Every shop"))])
    position = forms.IntegerField(label=_("Order (lower is tried first)"), min_value=0, max_value=1_000_000)
    types = forms.MultipleChoiceField(
        label=_("Types"), choices=TicketType.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    priorities = forms.MultipleChoiceField(
        label=_("Priorities"), choices=Priority.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    channels = forms.MultipleChoiceField(
        label=_("Channels"), choices=TicketChannel.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    levels = forms.CharField(
        label=_("Member levels"), required=False, max_length=500, help_text=_("Level names separated by commas.")
    )
    first_response_minutes = forms.IntegerField(
        label=_("First response (business minutes)"), min_value=1, max_value=525_600
    )
    next_response_minutes = forms.IntegerField(
        label=_("Next response (business minutes)"), min_value=1, max_value=525_600
    )
    resolution_minutes = forms.IntegerField(label=_("Resolution (business minutes)"), min_value=1, max_value=525_600)

    def level_list(self) -> list[str]:
        raw = str(self.cleaned_data.get("levels") or "").replace("，", ",")
        return [t.strip() for t in raw.split(",") if t.strip()]


class PlaybookForm(forms.Form):
    key = forms.SlugField(label=_("Key"), max_length=32, help_text=_("Letters, digits, - and _; names the playbook."))
    name = forms.CharField(label=_("Name"), max_length=100)
    position = forms.IntegerField(label=_("Sequence"), min_value=0, max_value=1_000_000, initial=100)
    types = forms.MultipleChoiceField(
        label=_("Used for the types"), choices=TicketType.choices, widget=forms.CheckboxSelectMultiple
    )
    suggested = forms.MultipleChoiceField(
        label=_("Add suggested steps"),
        required=False,
        choices=[(k, v[0]) for k, v in SUGGESTED_STEPS.items()],
        widget=forms.CheckboxSelectMultiple,
    )
