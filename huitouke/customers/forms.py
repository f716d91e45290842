"""Forms of the archive pages. They only parse and validate input; the services do the writing."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.forms.models import fields_for_model, model_to_dict
from django.utils.translation import gettext_lazy as _

from huitouke.core.widgets import DateTextInput
from huitouke.customers.models import Customer
from huitouke.customers.services import EDITABLE_FIELDS

#: Profile fields that hold contact data: only viewers who may see it unmasked may see or change them here.
PII_FIELDS = ("phone", "email", "address")

#: How the profile form is laid out: (legend, fields).
PROFILE_SECTIONS = (
    (_("Names"), ("name", "real_name", "gender")),
    (_("Birthday"), ("birthday", "birthday_calendar")),
    (_("Contact"), ("phone", "email")),
    (_("Address"), ("province", "city", "district", "address")),
    (_("Service preferences"), ("pref_choice", "pref_decision", "pref_price", "pref_knowledge")),
)


class ProfileForm(forms.Form):
    """The editable profile (services.EDITABLE_FIELDS). With `masked=True` the contact fields are left out, so
    a viewer without core.unmask_pii can neither read them from the form nor change them through it."""

    def __init__(self, *args: Any, customer: Customer, masked: bool, **kwargs: Any) -> None:
        names = [f for f in EDITABLE_FIELDS if not (masked and f in PII_FIELDS)]
        kwargs.setdefault("initial", model_to_dict(customer, fields=names))
        super().__init__(*args, **kwargs)
        self.fields.update(
            fields_for_model(
                Customer,
                fields=names,
                widgets={
                    "birthday": DateTextInput(),
                    "address": forms.TextInput(),
                },
            )
        )
        self.masked = masked

    def sections(self) -> list[tuple[Any, list[forms.BoundField]]]:
        """The bound fields grouped for display; sections left without fields are skipped."""
        out = []
        for legend, names in PROFILE_SECTIONS:
            bound = [self[n] for n in names if n in self.fields]
            if bound:
                out.append((legend, bound))
        return out


class _UserChoiceField(forms.ModelChoiceField):
    """Users by their username."""

    def label_from_instance(self, obj: Any) -> str:
        return str(obj.get_username())


class NoteForm(forms.Form):
    """A sticky note, optionally with a follow-up: the day and the member of staff who gets back to the buyer
    (default: whoever writes the note)."""

    body = forms.CharField(label=_("Note"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))
    pinned = forms.BooleanField(label=_("Pin to top"), required=False)
    follow_up_on = forms.DateField(
        label=_("Follow up on"),
        required=False,
        widget=DateTextInput(),
        input_formats=["%Y-%m-%d"],
    )
    follow_up_owner = _UserChoiceField(
        label=_("Who follows up"), queryset=get_user_model().objects.none(), required=False, empty_label=_("Me")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from huitouke.customers.selectors import follow_up_owner_choices

        super().__init__(*args, **kwargs)
        owner = self.fields["follow_up_owner"]
        assert isinstance(owner, forms.ModelChoiceField)
        owner.queryset = follow_up_owner_choices()


class TagForm(forms.Form):
    name = forms.CharField(label=_("Tag"), max_length=32)


class IdListField(forms.Field):
    """Many customer ids from repeated `ids` parameters (the ticked boxes)."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {"invalid": _("Customer ids are whole numbers.")}

    def to_python(self, value: Any) -> list[int]:
        values = value if isinstance(value, list | tuple) else ([value] if value else [])
        if not all(str(v).isdigit() and len(str(v)) <= 18 for v in values):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return sorted({int(v) for v in values})


class BulkTagForm(forms.Form):
    """Tag or untag the customers ticked on the list."""

    ADD, REMOVE = "add", "remove"

    ids = IdListField(error_messages={"required": _("Tick some customers first.")})
    tag = forms.CharField(label=_("Tag"), max_length=32)
    op = forms.ChoiceField(choices=((ADD, _("Add tag")), (REMOVE, _("Remove tag"))))


class MergeForm(forms.Form):
    target = forms.IntegerField(min_value=1)
