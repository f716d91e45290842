"""The plan form of the plans page: a manager's words in, the service's keyword arguments out. Questions are
written one a line: `How was the tea? [1-5]` is a rating, `Buy again? [yes/no/maybe]` a choice, any other line
a free-text question."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from huitouke.audiences.models import Segment
from huitouke.care.triggers import festivals
from huitouke.loyalty.models import Level
from huitouke.orders.models import Shop
from huitouke.visits import selectors
from huitouke.visits.models import VisitPlan

_RATING = re.compile(r"^(?P<text>.+?)\s*\[\s*1\s*-\s*5\s*\]$")
_CHOICE = re.compile(r"^(?P<text>.+?)\s*\[(?P<choices>[^\]]+/[^\]]+)\]$")
MAX_IDS_TEXT = 200_000


def questions_parse(text: str) -> list[dict[str, Any]]:
    """The question lines as the service's question dicts (keys q1, q2, … in order)."""
    out: list[dict[str, Any]] = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        key = f"q{len(out) + 1}"
        if m := _RATING.match(line):
            out.append({"key": key, "text": m["text"], "kind": "rating"})
        elif m := _CHOICE.match(line):
            choices = [c.strip() for c in m["choices"].split("/") if c.strip()]
            out.append({"key": key, "text": m["text"], "kind": "choice", "choices": choices})
        else:
            out.append({"key": key, "text": line, "kind": "text"})
    return out


def questions_text(questions: list[dict[str, Any]]) -> str:
    """The inverse of questions_parse, to show a plan's questions in the form."""
    lines = []
    for q in questions or []:
        if q["kind"] == "rating":
            lines.append(f"{q['text']} [1-5]")
        elif q["kind"] == "choice":
            lines.append(f"{q['text']} [{'/'.join(q.get('choices', []))}]")
        else:
            lines.append(q["text"])
    return "\n".join(lines)


class PlanForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=64)
    shop = forms.ModelChoiceField(label=_("Shop"), queryset=Shop.objects.order_by("name"))
    trigger = forms.ChoiceField(label=_("When"), choices=VisitPlan.Trigger.choices)
    days = forms.IntegerField(
        label=_("N (days)"), min_value=0, max_value=3650, initial=7, help_text=_("The N of the rule chosen above.")
    )
    holidays = forms.MultipleChoiceField(
        label=_("Holidays"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(k, festivals.HOLIDAY_NAMES[k][0]) for k in festivals.HOLIDAYS],
    )
    segment = forms.ModelChoiceField(
        label=_("Only this segment"), required=False, queryset=Segment.objects.order_by("name")
    )
    levels = forms.ModelMultipleChoiceField(
        label=_("Only these member levels"),
        required=False,
        queryset=Level.objects.select_related("shop").order_by("shop__name", "rank"),
        widget=forms.CheckboxSelectMultiple,
    )
    customer_ids = forms.CharField(
        label=_("Customers of a one-off list (ids)"),
        required=False,
        max_length=MAX_IDS_TEXT,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Customer numbers separated by spaces, commas or new lines."),
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=VisitPlan.Channel.choices)
    script = forms.CharField(
        label=_("Script"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Variables: $name, $level, $shop, $last_order."),
    )
    questions = forms.CharField(
        label=_("Questions"),
        required=False,
        max_length=8000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One a line. End with [1-5] for a rating, with [yes/no] for a choice; other lines are free text."),
    )
    attempts = forms.IntegerField(label=_("Attempts"), min_value=1, max_value=10, initial=3)
    retry_hours = forms.IntegerField(label=_("Retry after (hours)"), min_value=1, max_value=720, initial=4)
    assignment = forms.ChoiceField(label=_("Who visits"), choices=VisitPlan.Assignment.choices)
    agents = forms.ModelMultipleChoiceField(
        label=_("Agents who take turns"),
        required=False,
        queryset=selectors.visit_agents(),
        widget=forms.CheckboxSelectMultiple,
    )
    daily_capacity = forms.IntegerField(
        label=_("Tasks per agent per day"), min_value=0, max_value=10000, initial=40, help_text=_("0 = no limit.")
    )
    quiet_start = forms.TimeField(label=_("Quiet hours from"), required=False)
    quiet_end = forms.TimeField(label=_("Quiet hours until"), required=False)
    holdout_percent = forms.DecimalField(
        label=_("Hold out (%)"),
        min_value=Decimal(0),
        max_value=Decimal(50),
        decimal_places=0,
        initial=0,
        help_text=_("A random share kept unvisited, to measure whether visits make customers buy again."),
    )
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        shops = list(Shop.objects.order_by("name")[:2])
        if len(shops) == 1:
            self.fields["shop"].initial = shops[0]

    def clean_customer_ids(self) -> list[int]:
        text = self.cleaned_data.get("customer_ids") or ""
        parts = [p for p in re.split(r"[\s,，;；]+", text) if p]
        bad = [p for p in parts if not (p.isascii() and p.isdigit()) or not 0 < int(p) < 2**63]
        if bad:
            raise forms.ValidationError(_("“%(value)s” is not a customer number.") % {"value": bad[0][:20]})
        return list(dict.fromkeys(int(p) for p in parts))

    def clean_questions(self) -> list[dict[str, Any]]:
        return questions_parse(self.cleaned_data.get("questions") or "")

    def service_values(self) -> dict[str, Any]:
        """The service's keyword arguments (shop and agent_ids apart)."""
        d = self.cleaned_data
        return {
            "name": d["name"],
            "trigger": d["trigger"],
            "days": d["days"],
            "holidays": list(d["holidays"]),
            "segment_id": d["segment"].pk if d["segment"] else None,
            "level_ids": [lv.pk for lv in d["levels"]],
            "customer_ids": d["customer_ids"],
            "channel": d["channel"],
            "script": d["script"],
            "questions": d["questions"],
            "attempts": d["attempts"],
            "retry_hours": d["retry_hours"],
            "assignment": d["assignment"],
            "daily_capacity": d["daily_capacity"],
            "quiet_start": d["quiet_start"],
            "quiet_end": d["quiet_end"],
            "holdout_share": (d["holdout_percent"] or Decimal(0)) / 100,
            "enabled": d["enabled"],
        }

    @classmethod
    def initial_of(cls, plan: VisitPlan) -> dict[str, Any]:
        return {
            "name": plan.name,
            "shop": plan.shop_id,
            "trigger": plan.trigger,
            "days": plan.days,
            "holidays": list(plan.holidays or []),
            "segment": plan.segment_id,
            "levels": list(plan.level_ids or []),
            "customer_ids": " ".join(str(i) for i in plan.customer_ids or []),
            "channel": plan.channel,
            "script": plan.script,
            "questions": questions_text(plan.questions),
            "attempts": plan.attempts,
            "retry_hours": plan.retry_hours,
            "assignment": plan.assignment,
            "agents": [a.pk for a in plan.agents.all()],
            "daily_capacity": plan.daily_capacity,
            "quiet_start": plan.quiet_start,
            "quiet_end": plan.quiet_end,
            "holdout_percent": plan.holdout_share * 100,
            "enabled": plan.enabled,
        }

    #: service field names that the form shows under another name
    FIELD_OF = {
        "segment_id": "segment",
        "level_ids": "levels",
        "agent_ids": "agents",
        "holdout_share": "holdout_percent",
    }
