"""Forms of the levels page: the ordered level rows (a formset) and the qualification policy.

The forms only parse values; the level rules (thresholds must rise, discount 1-100 …) are checked by the same
function the service and the API use (rules.validate_levels), and its errors are put back on the row and field
they name, worded in the reader's language.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from huitouke.loyalty import rules
from huitouke.loyalty.models import LevelPolicy
from huitouke.loyalty.rules import LevelSpec

MAX_LEVELS = 12


class LevelRowForm(forms.Form):
    """One level of the list (the list is lowest first)."""

    name = forms.CharField(label=_("Name"), max_length=32, required=False)
    min_amount = forms.DecimalField(label=_("Minimum paid amount (¥)"), max_digits=12, decimal_places=2)
    min_orders = forms.IntegerField(label=_("Minimum orders"))
    discount = forms.IntegerField(label=_("Discount"), help_text=_("What the member pays out of 100: 95 = 9.5折"))
    benefits = forms.CharField(label=_("Benefits"), max_length=500, required=False)


LevelFormSet = forms.formset_factory(
    LevelRowForm, extra=0, can_delete=True, max_num=MAX_LEVELS, validate_max=True, absolute_max=MAX_LEVELS
)

LIFETIME, WINDOW = "lifetime", "window"


class PolicyForm(forms.Form):
    """How the shop counts (lifetime or the last N months) and whether members ever drop."""

    basis = forms.ChoiceField(
        label=_("What counts"),
        choices=[(LIFETIME, _("Every order ever (lifetime)")), (WINDOW, _("Orders of the last N months"))],
        widget=forms.RadioSelect,
    )
    window_months = forms.IntegerField(label=_("Months"), min_value=1, max_value=120, required=False)
    downgrade = forms.ChoiceField(
        label=_("Downgrades"),
        choices=[
            (LevelPolicy.Downgrade.NEVER, _("Never: members keep their level")),
            (LevelPolicy.Downgrade.REVIEW, _("At the nightly review, after a grace period")),
        ],
        widget=forms.RadioSelect,
    )
    grace_days = forms.IntegerField(label=_("Grace days"), min_value=0, max_value=3650)

    @classmethod
    def for_policy(cls, policy: LevelPolicy) -> PolicyForm:
        return cls(
            initial={
                "basis": WINDOW if policy.window_months else LIFETIME,
                "window_months": policy.window_months or 12,
                "downgrade": policy.downgrade,
                "grace_days": policy.grace_days,
            }
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("basis") == WINDOW and not data.get("window_months"):
            self.add_error("window_months", gettext("Say how many months count."))
        return data

    @property
    def window(self) -> int | None:
        """The rolling window in months, None for lifetime (valid forms only)."""
        return self.cleaned_data["window_months"] if self.cleaned_data["basis"] == WINDOW else None


def initial_rows(levels: Any) -> list[dict[str, Any]]:
    return [
        {
            "name": lv.name,
            "min_amount": lv.min_amount,
            "min_orders": lv.min_orders,
            "discount": lv.discount,
            "benefits": lv.benefits,
        }
        for lv in levels
    ]


def specs_of(formset: Any) -> tuple[list[LevelSpec], list[forms.Form]]:
    """The kept rows of a valid formset as LevelSpecs, lowest first, and their forms (same order)."""
    kept = [f for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
    specs = [
        LevelSpec(
            name=f.cleaned_data["name"] or "",
            min_amount=f.cleaned_data["min_amount"],
            min_orders=f.cleaned_data["min_orders"],
            discount=f.cleaned_data["discount"],
            benefits=f.cleaned_data.get("benefits") or "",
        )
        for f in kept
    ]
    return specs, kept


FIELD_LABELS = {
    "name": _("Name"),
    "min_amount": _("Minimum paid amount"),
    "min_orders": _("Minimum orders"),
    "discount": _("Discount"),
}


def error_text(error: rules.LevelError) -> str:
    """A rule error in the reader's language (rules.py words them in English for the API and the CLI)."""
    if error.code == "name_empty":
        return gettext("Give the level a name.")
    if error.code == "name_taken":
        return gettext("A lower level already has this name.")
    if error.code == "discount_range":
        return gettext("Enter 1–100: what the member pays out of 100 (95 = 9.5折).")
    if error.code == "negative":
        return gettext("Must not be negative.")
    if error.code == "too_high" and error.field == "min_amount":
        return gettext("At most %(max)s.") % {"max": rules.MAX_MIN_AMOUNT}
    if error.code == "too_high":
        return gettext("At most %(max)s.") % {"max": f"{rules.MAX_MIN_ORDERS:,}"}
    if error.code == "not_rising" and error.field == "min_amount":
        return gettext("Must be higher than the level below (%(below)s).") % {"below": error.below}
    if error.code == "not_rising":
        return gettext("Must be more orders than the level below (%(below)s).") % {"below": error.below}
    return error.message


def attach_rule_errors(specs: list[LevelSpec], kept: list[forms.Form]) -> list[str]:
    """Check `specs` with rules.validate_levels; put each error on its row's field and return one line per error
    naming the row and the field ("Level 2 · Minimum orders: …"). Empty when the list is valid."""
    lines = []
    for error in rules.validate_levels(specs):
        text = error_text(error)
        kept[error.index].add_error(error.field, text)
        label = FIELD_LABELS.get(error.field, error.field)
        lines.append(
            gettext("Level %(row)d (%(name)s) · %(field)s: %(message)s")
            % {"row": error.index + 1, "name": specs[error.index].name or "—", "field": label, "message": text}
        )
    return lines
