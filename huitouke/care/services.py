"""Writes of customer care: rules and their activations, validity and its extension on login, the suggested
rules, carrier transit days. The tick (`care_run`) is in care/ticks.py.

Activation (seed 004): an activation starts when a rule is created enabled, is enabled again, or has its
content edited (trigger, parameters, audience, channel or template) — editing the content re-enables it. The
send records are grouped by activation. Validity: a new activation is valid for 7 days (or until the date given,
if later); while it is valid, each login of a shop user moves `valid_until` to that login + 7 days (when
`auto_extend` is on, the default), so a rule nobody tends stops by itself. Once expired it stays stopped until
someone enables it again (a new activation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.audiences.models import Segment
from huitouke.care import sending
from huitouke.care.library import template_key
from huitouke.care.models import VALIDITY_DAYS, CareActivation, CareRule, CarrierTransit, ProductCycle, Trigger
from huitouke.care.triggers import TRIGGERS
from huitouke.care.triggers.params import ParamsError, normalised
from huitouke.core.audit import record
from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.core.models import AuditEntry
from huitouke.messaging.models import Channel
from huitouke.orders.models import Product, Shop

User = AbstractBaseUser | AnonymousUser | None


class CareRuleInvalidError(ApplicationError):
    """A rule's input is not acceptable; `field` names it (`params` errors name the parameter too)."""


@dataclass(frozen=True)
class RuleInput:
    """Everything a rule is made of, as the form, the API and the suggested rules give it."""

    name: str
    trigger: str
    channel: str
    template_id: int
    params: dict[str, Any] | None = None
    send_time: time | None = None
    enabled: bool = True
    shop_id: int | None = None
    segment_id: int | None = None
    levels: Sequence[str] = field(default_factory=tuple)
    tags: Sequence[str] = field(default_factory=tuple)
    valid_until: datetime | None = None
    auto_extend: bool = True


#: the fields whose change is an edit of the rule's content (starts a new activation)
CONTENT_FIELDS = ("trigger", "params", "channel", "template_id", "shop_id", "segment_id", "levels", "tags")


def _names(values: Sequence[str], name: str) -> list[str]:
    out: list[str] = []
    for i, value in enumerate(values):
        text = str(value).strip()
        if not text or len(text) > 32:
            raise CareRuleInvalidError(f"{name}[{i}]: 1 to 32 characters", field=name)
        if text not in out:
            out.append(text)
    return out


def _clean(data: RuleInput, now: datetime) -> dict[str, Any]:
    """The validated field values of a rule; raises CareRuleInvalidError naming the first bad field."""
    name = data.name.strip()
    if not name:
        raise CareRuleInvalidError(_("The rule needs a name."), field="name")
    if len(name) > 100:
        raise CareRuleInvalidError(_("The name is longer than 100 characters."), field="name")
    if data.trigger not in Trigger.values:
        raise CareRuleInvalidError(
            f"unknown trigger {data.trigger!r}; choose from {', '.join(Trigger.values)}", field="trigger"
        )
    try:
        params = normalised(data.trigger, data.params)
    except ParamsError as exc:
        raise CareRuleInvalidError(exc.messages[0], field="params") from None
    if data.channel not in Channel.values or data.channel == Channel.WEBHOOK:
        choices = ", ".join(c for c in Channel.values if c != Channel.WEBHOOK)
        raise CareRuleInvalidError(f"unknown channel {data.channel!r}; choose from {choices}", field="channel")
    template = sending.template_get(data.template_id)
    if template is None:
        raise CareRuleInvalidError(f"template {data.template_id} does not exist", field="template")
    if template.channel != data.channel:
        raise CareRuleInvalidError(
            _("Template “%(name)s” is for %(channel)s; pick one for the rule's channel.")
            % {"name": template.name, "channel": template.get_channel_display()},
            field="template",
        )
    if template.purpose not in ("care", "transactional", "marketing"):
        raise CareRuleInvalidError(_("Service templates cannot be used by care rules."), field="template")
    if data.shop_id is not None and not Shop.objects.filter(pk=data.shop_id).exists():
        raise CareRuleInvalidError(f"shop {data.shop_id} does not exist", field="shop")
    if data.segment_id is not None and not Segment.objects.filter(pk=data.segment_id).exists():
        raise CareRuleInvalidError(f"segment {data.segment_id} does not exist", field="segment")
    product_ids = [*params.get("products", []), *(int(k) for k in params.get("cycles", {}))]
    if product_ids:
        products = Product.objects.filter(pk__in=product_ids)
        if data.shop_id is not None:
            products = products.filter(shop_id=data.shop_id)
        found = set(products.values_list("pk", flat=True))
        missing = [p for p in product_ids if p not in found]
        if missing:
            raise CareRuleInvalidError(
                f"params.products: product {missing[0]} does not exist"
                + (" in the rule's shop" if data.shop_id else ""),
                field="params",
            )
    if data.trigger == Trigger.NEW_PRODUCT and data.enabled and not params["products"]:
        raise CareRuleInvalidError("params.products: choose at least one product to announce", field="params")
    if data.valid_until is not None and timezone.is_naive(data.valid_until):
        raise CareRuleInvalidError("valid_until needs a time zone", field="valid_until")
    if data.enabled and data.valid_until is not None and data.valid_until <= now:
        raise CareRuleInvalidError(_("The validity must end in the future."), field="valid_until")
    return {
        "name": name,
        "trigger": data.trigger,
        "params": params,
        "channel": data.channel,
        "template_id": template.pk,
        "send_time": data.send_time.replace(second=0, microsecond=0) if data.send_time else None,
        "shop_id": data.shop_id,
        "segment_id": data.segment_id,
        "levels": _names(data.levels, "levels"),
        "tags": _names(data.tags, "tags"),
        "auto_extend": data.auto_extend,
    }


def _snapshot(rule: CareRule) -> dict[str, Any]:
    """What the rule says and to whom, frozen into its activation."""
    template = rule.template
    return {
        "name": rule.name,
        "trigger": rule.trigger,
        "params": rule.params,
        "channel": rule.channel,
        "send_time": rule.send_time.strftime("%H:%M") if rule.send_time else None,
        "shop": {"id": rule.shop_id, "name": rule.shop.name} if rule.shop_id and rule.shop else None,
        "segment": {"id": rule.segment_id, "name": rule.segment.name} if rule.segment_id and rule.segment else None,
        "levels": rule.levels,
        "tags": rule.tags,
        "template": {
            "id": template.pk,
            "name": template.name,
            "language": template.language,
            "purpose": template.purpose,
            "subject": template.subject,
            "body": template.body,
        },
    }


def _user_id(user: User) -> int | None:
    return user.pk if user is not None and user.is_authenticated else None


def _end_activation(rule: CareRule, now: datetime) -> None:
    if rule.activation:
        CareActivation.objects.filter(rule=rule, number=rule.activation, ended_at__isnull=True).update(ended_at=now)


def _activate(rule: CareRule, *, cause: str, valid_until: datetime | None, user: User, now: datetime) -> None:
    """Start the next activation: end the current one, number the new one, freeze the content, set validity."""
    _end_activation(rule, now)
    rule.activation += 1
    rule.enabled = True
    if rule.auto_extend:
        rule.valid_until = max(valid_until or now, now + timedelta(days=VALIDITY_DAYS))
    else:
        rule.valid_until = valid_until
    rule.save()
    CareActivation.objects.create(
        rule=rule,
        number=rule.activation,
        cause=cause,
        started_at=now,
        snapshot=_snapshot(rule),
        started_by_id=_user_id(user),
    )


def care_rule_create(*, data: RuleInput, user: User = None, key: str = "", now: datetime | None = None) -> CareRule:
    """Create a rule; enabled, it starts activation 1 valid for 7 days (or until `valid_until`, if later).

    Raises CareRuleInvalidError naming the field (`params` errors name the parameter: `params.days: …`)."""
    now = now or timezone.now()
    values = _clean(data, now)
    with transaction.atomic():
        rule = CareRule(**values, key=key, created_by_id=_user_id(user))
        rule.valid_until = data.valid_until if not data.auto_extend else None
        rule.save()
        if data.enabled:
            _activate(rule, cause=CareActivation.Cause.CREATED, valid_until=data.valid_until, user=user, now=now)
    return rule


def care_rule_update(*, rule: CareRule, data: RuleInput, user: User = None, now: datetime | None = None) -> CareRule:
    """Replace a rule's settings. Editing its content (trigger, parameters, audience, channel, template) while
    enabled starts a new activation (the seed: editing the content re-activates); enabling a disabled or
    expired rule starts one too; disabling ends the current one. Renaming or moving the send time does not.

    Raises CareRuleInvalidError naming the field; NotFoundError for a deleted rule."""
    now = now or timezone.now()
    values = _clean(data, now)
    with transaction.atomic():
        current = CareRule.objects.select_for_update().filter(pk=rule.pk, archived_at__isnull=True).first()
        if current is None:
            raise NotFoundError(f"care rule {rule.pk} not found", field="id")
        content_changed = any(getattr(current, f) != values[f] for f in CONTENT_FIELDS)
        was_active = current.is_active_at(now)
        for name, value in values.items():
            setattr(current, name, value)
        if data.enabled:
            if content_changed or not was_active:
                cause = CareActivation.Cause.EDITED if content_changed else CareActivation.Cause.ENABLED
                _activate(current, cause=cause, valid_until=data.valid_until, user=user, now=now)
            else:
                if data.valid_until is not None:
                    current.valid_until = data.valid_until
                elif not current.auto_extend:
                    current.valid_until = None
                elif current.valid_until is None:
                    current.valid_until = now + timedelta(days=VALIDITY_DAYS)
                current.save()
        else:
            if current.enabled:
                _end_activation(current, now)
            current.enabled = False
            current.valid_until = data.valid_until
            current.save()
    return current


def care_rule_set_enabled(*, rule: CareRule, enabled: bool, user: User = None, now: datetime | None = None) -> CareRule:
    """Switch a rule on (a new activation unless it is already running and valid) or off (ends the current
    activation; its records stay)."""
    now = now or timezone.now()
    with transaction.atomic():
        current = CareRule.objects.select_for_update().filter(pk=rule.pk, archived_at__isnull=True).first()
        if current is None:
            raise NotFoundError(f"care rule {rule.pk} not found", field="id")
        if enabled and not current.is_active_at(now):
            _activate(current, cause=CareActivation.Cause.ENABLED, valid_until=None, user=user, now=now)
        elif not enabled and current.enabled:
            _end_activation(current, now)
            current.enabled = False
            current.save(update_fields=["enabled", "updated_at"])
        record(
            actor=user, action=AuditEntry.Action.CARE_RULE, target_type="care_rule", target_id=rule.pk, enabled=enabled
        )
    return current


def care_rule_delete(*, rule: CareRule, now: datetime | None = None) -> None:
    """Delete a rule from the list. It is archived, not erased: its activations and send records stay."""
    now = now or timezone.now()
    with transaction.atomic():
        current = CareRule.objects.select_for_update().filter(pk=rule.pk, archived_at__isnull=True).first()
        if current is None:
            raise NotFoundError(f"care rule {rule.pk} not found", field="id")
        _end_activation(current, now)
        current.enabled = False
        current.archived_at = now
        current.save(update_fields=["enabled", "archived_at", "updated_at"])


def care_validity_extend(*, at: datetime) -> int:
    """A shop user logged in at `at`: every enabled, auto-extending rule still valid at that moment is now
    valid until `at` + 7 days (never shortened). Expired rules stay expired. Returns how many moved."""
    until = at + timedelta(days=VALIDITY_DAYS)
    return CareRule.objects.filter(
        enabled=True,
        archived_at__isnull=True,
        auto_extend=True,
        activation__gt=0,
        valid_until__gt=at,
        valid_until__lt=until,
    ).update(valid_until=until, updated_at=timezone.now())


def validity_extend_on_login(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    """user_logged_in receiver (connected in CareConfig.ready): any shop user's login counts."""
    if user is not None and getattr(user, "is_active", False):
        care_validity_extend(at=timezone.now())


def care_rules_install(*, channel: str = Channel.SMS, language: str = "zh-hans", user: User = None) -> list[CareRule]:
    """Add the suggested rules (one per trigger, disabled, with care's system template for `channel` and
    `language`) that are not there yet; returns the ones added. Names are in the current language."""
    added = []
    labels = dict(Trigger.choices)
    for trigger, spec in TRIGGERS.items():
        if CareRule.objects.filter(key=trigger, archived_at__isnull=True).exists():
            continue
        template = sending.system_template(key=template_key(trigger), channel=channel, language=language)
        if template is None:
            raise ApplicationError(
                f"care template {template_key(trigger)} for {channel}/{language} is missing; run migrate",
                field="template",
            )
        data = RuleInput(
            name=str(labels[trigger]),
            trigger=trigger,
            channel=channel,
            template_id=template.pk,
            send_time=spec.default_send_time,
            enabled=False,
        )
        values = _clean(data, timezone.now())
        added.append(CareRule.objects.create(**values, key=trigger, created_by_id=_user_id(user)))
    return added


def carrier_transit_save(*, shop_id: int | None, carrier: str, days: int) -> CarrierTransit:
    """Set a shop's (None: every shop's) usual transit days for carriers whose name contains `carrier`; the
    empty keyword sets the default for carriers nobody recognises."""
    keyword = carrier.strip()
    if len(keyword) > 32:
        raise ApplicationError(_("The carrier keyword is longer than 32 characters."), field="carrier")
    if not 1 <= days <= 60:
        raise ApplicationError(_("Transit days are 1 to 60."), field="days")
    if shop_id is not None and not Shop.objects.filter(pk=shop_id).exists():
        raise ApplicationError(f"shop {shop_id} does not exist", field="shop")
    existing = CarrierTransit.objects.filter(carrier=keyword)
    existing = existing.filter(shop_id=shop_id) if shop_id is not None else existing.filter(shop__isnull=True)
    row = existing.first() or CarrierTransit(shop_id=shop_id, carrier=keyword)
    row.days = days
    row.save()
    return row


def carrier_transit_delete(*, transit_id: int) -> None:
    CarrierTransit.objects.filter(pk=transit_id).delete()


#: how far back the learned cycles look
CYCLE_HISTORY_DAYS = 730


def product_cycles_refresh(*, now: datetime | None = None) -> int:
    """Relearn every product's repurchase cycle (analytics' median interval between one customer's purchases,
    over the last two years) and keep it for replenishment; products without a repeat purchase are dropped.
    Runs nightly (huitouke/jobs.py) and on first use. Returns how many products have a cycle."""
    from huitouke.analytics.selectors import product_repurchase_cycles

    now = now or timezone.now()
    learned = product_repurchase_cycles(since=timezone.localdate(now) - timedelta(days=CYCLE_HISTORY_DAYS))
    rows = [
        ProductCycle(product_id=pid, median_days=c.median_interval_days, intervals=c.intervals, computed_at=now)
        for pid, c in learned.items()
        if c.median_interval_days is not None and c.intervals > 0
    ]
    with transaction.atomic():
        ProductCycle.objects.all().delete()
        ProductCycle.objects.bulk_create(rows, batch_size=5000)
    return len(rows)
