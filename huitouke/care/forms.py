"""The rule form: the common fields (a Django form) and each trigger's own parameters, shown as the fields of the
chosen trigger and turned into the `params` object the service validates. The service's errors name the
parameter (`params.days: …`); `param_errors` puts each under its field."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from huitouke.audiences.models import Segment
from huitouke.care.models import CareRule, Trigger
from huitouke.care.triggers import festivals
from huitouke.care.triggers.params import PARAMS
from huitouke.core.widgets import DateTimeTextInput
from huitouke.customers.models import Tag
from huitouke.loyalty.models import Level
from huitouke.messaging.models import Channel
from huitouke.orders.models import Product, Shop

HOLIDAY_LABELS = {
    festivals.NEW_YEAR: _("New Year's Day (元旦)"),
    festivals.SPRING_FESTIVAL: _("Spring Festival (春节)"),
    festivals.LANTERN: _("Lantern Festival (元宵)"),
    festivals.DRAGON_BOAT: _("Dragon Boat Festival (端午)"),
    festivals.SHOP_618: _("618 shopping festival"),
    festivals.QIXI: _("Qixi (七夕)"),
    festivals.MID_AUTUMN: _("Mid-Autumn Festival (中秋)"),
    festivals.NATIONAL_DAY: _("National Day (国庆)"),
    festivals.DOUBLE_11: _("Double 11 (双11)"),
}

TRIGGER_HELP = {
    Trigger.PAID_TODAY: _("Thank the customers whose payment came in today, once per customer and day."),
    Trigger.UNPAID_REMINDER: _(
        "Remind once per order when an order is still unpaid some minutes after it was placed, "
        "before the platform closes it."
    ),
    Trigger.SHIPPED: _("Tell the customer the parcel is on its way, once per order."),
    Trigger.DELIVERED_FOLLOWUP: _(
        "Some days after delivery, ask whether all is well and invite a review "
        "(先发制人: ask before a bad review is written)."
    ),
    Trigger.UNCONFIRMED_RECEIPT: _(
        "Customers who received the goods some days ago but have not confirmed receipt. "
        "Without a delivery time the carrier's usual transit days are added to the "
        "shipping day."
    ),
    Trigger.BIRTHDAY: _(
        "Birthday wishes on the day (or some days ahead), by the solar or the lunar calendar as each customer keeps it."
    ),
    Trigger.NO_CONTACT: _("Customers nobody has been in touch with for some days: no purchase, message or note."),
    Trigger.DORMANT: _("Customers who have not bought for a long time: one win-back message per quiet spell."),
    Trigger.LEVEL_UP: _("Congratulate members whose level went up."),
    Trigger.HOLIDAY: _("Holiday greetings for the Chinese festivals and the shop events you pick."),
    Trigger.REPLENISHMENT: _(
        "Remind a customer shortly before the product they bought usually runs out, from how "
        "often customers buy it again (or the cycle you set)."
    ),
    Trigger.NEW_PRODUCT: _("Announce new products to the customers who asked to hear about them."),
}


@dataclass(frozen=True)
class ParamField:
    """One parameter as the form shows it. kind: int, int_optional, bool, choice, multi, products, cycles."""

    name: str
    label: str | Promise
    kind: str
    help: str | Promise = ""


PARAM_FIELDS: dict[str, list[ParamField]] = {
    "paid_today": [],
    "unpaid_reminder": [
        ParamField("after_minutes", _("Remind after (minutes)"), "int"),
        ParamField("close_after_minutes", _("The platform closes unpaid orders after (minutes)"), "int"),
    ],
    "shipped": [ParamField("lookback_hours", _("Orders shipped within the last (hours)"), "int")],
    "delivered_followup": [
        ParamField("days", _("Days after delivery"), "int"),
        ParamField("after", _("Count from"), "choice"),
    ],
    "unconfirmed_receipt": [ParamField("days", _("Days after the parcel arrived"), "int")],
    "birthday": [ParamField("days_ahead", _("Days ahead (0 = on the day)"), "int")],
    "no_contact": [ParamField("days", _("Days without contact"), "int")],
    "dormant": [
        ParamField("days", _("Days since the last purchase"), "int"),
        ParamField("max_days", _("At most (days; empty = no limit)"), "int_optional"),
    ],
    "level_up": [
        ParamField("lookback_hours", _("Rises within the last (hours)"), "int"),
        ParamField("include_joins", _("Also greet new members reaching their first level"), "bool"),
        ParamField("levels", _("Only on reaching these levels (none = any)"), "multi"),
    ],
    "holiday": [
        ParamField("holidays", _("Holidays"), "multi"),
        ParamField("days_before", _("Days before the holiday"), "int"),
        ParamField("bought_within_days", _("Only customers who bought within (days; empty = all)"), "int_optional"),
    ],
    "replenishment": [
        ParamField("lead_days", _("Days before the cycle ends"), "int"),
        ParamField("min_samples", _("Learn a cycle from at least (repeat purchases)"), "int"),
        ParamField("products", _("Only these products (item codes or ids, comma separated; empty = all)"), "products"),
        ParamField(
            "cycles",
            _("Cycles set by hand"),
            "cycles",
            _("One per line: item code or id = days, e.g. TEA-01 = 30"),
        ),
    ],
    "new_product": [
        ParamField("products", _("New products (item codes or ids, comma separated)"), "products"),
        ParamField("opt_in_only", _("Only customers who asked for new-product news"), "bool"),
    ],
}


def param_choices(trigger: str, name: str) -> list[tuple[str, str]]:
    if trigger == "delivered_followup" and name == "after":
        return [("delivered", str(_("delivery"))), ("confirmed", str(_("confirmation of receipt")))]
    if trigger == "holiday" and name == "holidays":
        return [(k, str(HOLIDAY_LABELS[k])) for k in festivals.HOLIDAYS]
    if trigger == "level_up" and name == "levels":
        names = dict.fromkeys(Level.objects.order_by("rank", "name").values_list("name", flat=True))
        return [(n, n) for n in names]
    return []


def defaults(trigger: str) -> dict[str, Any]:
    """The trigger's parameters with their defaults (what a new rule starts with)."""
    schema = PARAMS.get(trigger)
    if schema is None:
        return {}
    fields = {name: f.get_default(call_default_factory=True) for name, f in schema.model_fields.items()}
    return {k: v for k, v in fields.items() if v is not None or k in ("max_days", "bought_within_days")}


def _product_label(product_ids: list[int]) -> str:
    codes = dict(Product.objects.filter(pk__in=product_ids).values_list("pk", "external_id"))
    return ", ".join(codes.get(p, str(p)) for p in product_ids)


def _resolve_products(text: str, errors: dict[str, str], name: str) -> list[int]:
    refs = [r.strip() for r in text.replace("，", ",").split(",") if r.strip()]
    ids: list[int] = []
    for ref in refs:
        found = Product.objects.filter(external_id=ref).values_list("pk", flat=True).first()
        if found is None and ref.isdigit():
            found = Product.objects.filter(pk=int(ref)).values_list("pk", flat=True).first()
        if found is None:
            errors[name] = str(_("No product with the code or id “%(ref)s”.") % {"ref": ref})
            continue
        ids.append(found)
    return ids


def params_summary(trigger: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """The rule's parameters as a person reads them: (label, value) pairs in the form's order, choices by their
    labels, yes/no, "—" for empty, products by item code; parameters the form does not show are left out."""
    out: list[tuple[str, str]] = []
    for row in param_rows(trigger, params, {}):
        f: ParamField = row["field"]
        value = row["value"]
        labels = dict(row["choices"])
        if f.kind == "bool":
            shown = str(_("yes") if value else _("no"))
        elif f.kind == "multi":
            shown = ", ".join(labels.get(v, v) for v in value) if value else str(_("any"))
        elif f.kind == "choice":
            shown = labels.get(str(value), str(value)) if value not in (None, "") else "—"
        elif f.kind == "cycles":
            shown = "; ".join(line for line in str(value).splitlines() if line) or "—"
        else:
            shown = str(value) if value not in (None, "") else "—"
        out.append((str(f.label), shown))
    return out


def param_rows(trigger: str, params: dict[str, Any], errors: dict[str, str]) -> list[dict[str, Any]]:
    """The trigger's parameter fields with their current values and errors, ready for the template."""
    rows = []
    for f in PARAM_FIELDS.get(trigger, []):
        value = params.get(f.name)
        if f.kind == "products":
            shown: Any = value if isinstance(value, str) else _product_label(list(value or []))
        elif f.kind == "cycles":
            if isinstance(value, str):
                shown = value
            else:
                cycles = dict(value or {})
                codes = dict(
                    Product.objects.filter(pk__in=[int(k) for k in cycles if str(k).isdigit()]).values_list(
                        "pk", "external_id"
                    )
                )
                shown = "\n".join(f"{codes.get(int(k), k)} = {v}" for k, v in cycles.items())
        elif f.kind == "multi":
            shown = [str(v) for v in (value or [])]
        else:
            shown = "" if value is None else value
        rows.append(
            {
                "field": f,
                "input": f"p_{f.name}",
                "value": shown,
                "choices": param_choices(trigger, f.name),
                "error": errors.get(f.name, ""),
            }
        )
    return rows


def params_from_post(trigger: str, data: QueryDict) -> tuple[dict[str, Any], dict[str, str]]:
    """The params object from the form, and the errors found while reading it (by parameter name)."""
    params: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in PARAM_FIELDS.get(trigger, []):
        key = f"p_{f.name}"
        raw = (data.get(key) or "").strip()
        if f.kind in ("int", "int_optional"):
            if not raw:
                if f.kind == "int_optional":
                    params[f.name] = None
                continue
            try:
                params[f.name] = int(raw)
            except ValueError:
                errors[f.name] = str(_("Enter a whole number."))
        elif f.kind == "bool":
            params[f.name] = data.get(key) in ("1", "on", "true")
        elif f.kind == "choice":
            if raw:
                params[f.name] = raw
        elif f.kind == "multi":
            params[f.name] = [v for v in data.getlist(key) if v]
        elif f.kind == "products":
            params[f.name] = _resolve_products(raw, errors, f.name)
        elif f.kind == "cycles":
            cycles: dict[str, int] = {}
            for n, line in enumerate(raw.splitlines(), start=1):
                if not line.strip():
                    continue
                ref, sep, days = line.partition("=")
                if not sep or not days.strip().isdigit():
                    errors[f.name] = str(_("Line %(n)s: write item code = days.") % {"n": n})
                    continue
                ids = _resolve_products(ref, errors, f.name)
                if ids:
                    cycles[str(ids[0])] = int(days.strip())
            params[f.name] = cycles
    if trigger == "holiday" and not params.get("holidays"):
        errors["holidays"] = str(_("Pick at least one holiday."))
    return params, errors


def param_errors(message: str) -> tuple[str, str]:
    """("days", "Input should be …") from a service message "params.days: Input should be …"."""
    if message.startswith("params.") and ": " in message:
        where, text = message.split(": ", 1)
        return where.removeprefix("params.").split(".")[0], text
    return "", message


class RuleForm(forms.Form):
    """The fields every rule has; the template and the parameters depend on the trigger and channel."""

    name = forms.CharField(label=_("Name"), max_length=100)
    trigger = forms.ChoiceField(label=_("Whom to care for"), choices=Trigger.choices)
    channel = forms.ChoiceField(
        label=_("Channel"), choices=[(c, label) for c, label in Channel.choices if c != Channel.WEBHOOK]
    )
    template = forms.IntegerField(label=_("Template"))
    send_time = forms.TimeField(
        label=_("Send time (shop time)"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=_("Empty: as soon as it happens (order events) or at once."),
    )
    shop = forms.ModelChoiceField(label=_("Shop"), queryset=Shop.objects.none(), required=False, empty_label=_("All"))
    segment = forms.ModelChoiceField(
        label=_("Segment"), queryset=Segment.objects.none(), required=False, empty_label=_("Everyone")
    )
    levels = forms.MultipleChoiceField(label=_("Member levels"), required=False)
    tags = forms.MultipleChoiceField(label=_("Tags (any)"), required=False)
    enabled = forms.BooleanField(label=_("Enabled"), required=False)
    auto_extend = forms.BooleanField(label=_("Keep it valid while someone logs in (login + 7 days)"), required=False)
    valid_until = forms.DateTimeField(
        label=_("Valid until"),
        required=False,
        widget=DateTimeTextInput(),
        help_text=_("Empty: 7 days from now, extended by every login (or no end without the extension)."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["shop"].queryset = Shop.objects.order_by("name")  # type: ignore[attr-defined]
        self.fields["segment"].queryset = Segment.objects.order_by("name")  # type: ignore[attr-defined]
        levels = dict.fromkeys(Level.objects.order_by("rank", "name").values_list("name", flat=True))
        self.fields["levels"].choices = [(n, n) for n in levels]  # type: ignore[attr-defined]
        self.fields["tags"].choices = [  # type: ignore[attr-defined]
            (n, n) for n in Tag.objects.order_by("name").values_list("name", flat=True)
        ]


def initial_for(rule: CareRule | None, trigger: str = "birthday") -> dict[str, Any]:
    """The form's starting values: the rule's, or a new rule's."""
    if rule is None:
        return {"trigger": trigger, "channel": Channel.SMS, "enabled": True, "auto_extend": True}
    return {
        "name": rule.name,
        "trigger": rule.trigger,
        "channel": rule.channel,
        "template": rule.template_id,
        "send_time": rule.send_time,
        "shop": rule.shop_id,
        "segment": rule.segment_id,
        "levels": rule.levels,
        "tags": rule.tags,
        "enabled": rule.enabled if rule.activation else True,
        "auto_extend": rule.auto_extend,
        "valid_until": timezone.localtime(rule.valid_until) if rule.valid_until and not rule.auto_extend else None,
    }


def aware(value: datetime | None) -> datetime | None:
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value, timezone.get_current_timezone())
    return value
