"""A shop's service configuration: business calendar, SLA policies, playbooks and settings (managers only; the
interfaces check the permission). Changes apply to clocks and steps started afterwards."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.timezone import now as timezone_now

from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.orders.models import Shop
from huitouke.service import defaults
from huitouke.service.calendar import CalendarError, calendar_build
from huitouke.service.models import (
    Playbook,
    PlaybookStep,
    Priority,
    ServiceCalendar,
    ServiceSettings,
    SlaPolicy,
    TicketChannel,
    TicketType,
)
from huitouke.service.services.compensation import _money
from huitouke.service.services.tickets import _text

MINUTES_MAX = 525_600  # a year of business minutes is far beyond any sensible target
LIST_MAX = 50


def calendar_set(
    *,
    shop: Shop,
    timezone: str,
    periods: Sequence[str],
    weekdays: Sequence[int],
    public_holidays: str | None,
    days_off: Sequence[date] = (),
    workdays: Sequence[date] = (),
) -> ServiceCalendar:
    """Save the shop's business calendar after checking it builds (CalendarError → 400 naming the field)."""
    try:
        cal = calendar_build(
            timezone=timezone,
            periods=list(periods),
            weekdays=list(weekdays),
            public_holidays=public_holidays,
            days_off=list(days_off),
            workdays=list(workdays),
            years=[timezone_now().year],
        )
    except CalendarError as exc:
        raise ApplicationError(exc.message, field=exc.field) from exc
    from huitouke.service.calendar import format_period

    values = {
        "timezone": timezone,
        "periods": [format_period(p) for p in cal.periods],
        "weekdays": sorted(set(weekdays)),
        "public_holidays": public_holidays or "",
        "days_off": sorted({d.isoformat() for d in days_off}),
        "workdays": sorted({d.isoformat() for d in workdays}),
    }
    with transaction.atomic():
        row, _created = ServiceCalendar.objects.update_or_create(shop=shop, defaults=values)
    return row


def _list(values: Sequence[Any] | None, name: str, allowed: Sequence[str] | None) -> list[str]:
    out: list[str] = []
    for i, raw in enumerate(values or []):
        value = str(raw).strip()
        if allowed is not None and value not in allowed:
            raise ApplicationError(f"{name}[{i}]: unknown value {value!r}", field=name)
        if not value or len(value) > 64:
            raise ApplicationError(f"{name}[{i}]: 1 to 64 characters", field=name)
        if value not in out:
            out.append(value)
    if len(out) > LIST_MAX:
        raise ApplicationError(f"{name}: at most {LIST_MAX} values", field=name)
    return out


def _minutes(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MINUTES_MAX:
        raise ApplicationError(f"{name}: whole business minutes from 1 to {MINUTES_MAX}", field=name)
    return value


@dataclass(frozen=True)
class PolicySpec:
    """An SLA policy as the API and pages send it (empty lists match anything)."""

    name: str
    position: int
    first_response_minutes: int
    next_response_minutes: int
    resolution_minutes: int
    types: Sequence[str] = ()
    priorities: Sequence[str] = ()
    channels: Sequence[str] = ()
    levels: Sequence[str] = ()

    def values(self) -> dict[str, Any]:
        if isinstance(self.position, bool) or not isinstance(self.position, int) or not 0 <= self.position <= 1_000_000:
            raise ApplicationError("position: a whole number from 0 to 1000000", field="position")
        return {
            "name": _text(self.name, "name", 100, required=True),
            "position": self.position,
            "types": _list(self.types, "types", TicketType.values),
            "priorities": _list(self.priorities, "priorities", Priority.values),
            "channels": _list(self.channels, "channels", TicketChannel.values),
            "levels": _list(self.levels, "levels", None),
            "first_response_minutes": _minutes(self.first_response_minutes, "first_response_minutes"),
            "next_response_minutes": _minutes(self.next_response_minutes, "next_response_minutes"),
            "resolution_minutes": _minutes(self.resolution_minutes, "resolution_minutes"),
        }


def sla_policy_create(*, spec: PolicySpec, shop: Shop | None = None) -> SlaPolicy:
    """A new policy (for one shop, or for every shop)."""
    return SlaPolicy.objects.create(shop=shop, **spec.values())


def sla_policy_update(*, policy_id: int, spec: PolicySpec) -> SlaPolicy:
    """Replace a policy's settings; tickets keep the due times they have (new clocks use the new targets)."""
    values = spec.values()
    with transaction.atomic():
        policy = SlaPolicy.objects.select_for_update().filter(pk=policy_id).first()
        if policy is None:
            raise NotFoundError(f"SLA policy {policy_id} not found", field="id")
        for name, value in values.items():
            setattr(policy, name, value)
        policy.save()
    return policy


def sla_policy_delete(*, policy_id: int) -> None:
    """Delete a policy; its tickets keep their due times (their policy shows as none)."""
    deleted, _rows = SlaPolicy.objects.filter(pk=policy_id).delete()
    if not deleted:
        raise NotFoundError(f"SLA policy {policy_id} not found", field="id")


def service_settings_set(
    *,
    shop: Shop,
    agent_compensation_limit: Any | None = None,
    follow_up_days: int | None = None,
    breaching_soon_percent: int | None = None,
) -> ServiceSettings:
    """Change the shop's compensation limit for agents, follow-up delay (days, 0 = none) or breaching-soon share."""
    with transaction.atomic():
        row, _created = ServiceSettings.objects.select_for_update().get_or_create(shop=shop)
        if agent_compensation_limit is not None:
            row.agent_compensation_limit = _money(agent_compensation_limit, "agent_compensation_limit")
        if follow_up_days is not None:
            if not 0 <= follow_up_days <= 365:
                raise ApplicationError("follow_up_days: 0 to 365", field="follow_up_days")
            row.follow_up_days = follow_up_days
        if breaching_soon_percent is not None:
            if not 1 <= breaching_soon_percent <= 99:
                raise ApplicationError("breaching_soon_percent: 1 to 99", field="breaching_soon_percent")
            row.breaching_soon_percent = breaching_soon_percent
        row.save()
    return row


@dataclass(frozen=True)
class StepSpec:
    key: str
    label: str
    help: str = ""
    required: bool = True


def playbook_save(
    *, shop: Shop, key: str, name: str, types: Sequence[str], steps: Sequence[StepSpec], position: int = 100
) -> Playbook:
    """Create or replace the shop's own playbook `key` (its steps in the given order). A type may belong to one
    playbook of the shop only; the shop's playbook for a type replaces the shipped one for that type."""
    key = _text(key, "key", 32, required=True)
    type_list = _list(types, "types", TicketType.values)
    if not steps:
        raise ApplicationError("steps: at least one step", field="steps")
    if len(steps) > 50:
        raise ApplicationError("steps: at most 50", field="steps")
    seen: set[str] = set()
    for i, s in enumerate(steps):
        k = _text(s.key, f"steps[{i}].key", 32, required=True)
        if k in seen:
            raise ApplicationError(f"steps[{i}].key: {k!r} appears twice", field="steps")
        seen.add(k)
        _text(s.label, f"steps[{i}].label", 200, required=True)
    with transaction.atomic():
        clash = Playbook.objects.filter(shop=shop).exclude(key=key)
        for other in clash:
            both = sorted(set(other.types) & set(type_list))
            if both:
                raise ApplicationError(f"types: {both[0]} belongs to playbook {other.key!r} already", field="types")
        playbook, _created = Playbook.objects.update_or_create(
            shop=shop,
            key=key,
            defaults={"name": _text(name, "name", 100, required=True), "types": type_list, "position": position},
        )
        playbook.steps.all().delete()
        PlaybookStep.objects.bulk_create(
            [
                PlaybookStep(
                    playbook=playbook,
                    key=s.key.strip(),
                    label=s.label.strip(),
                    help=s.help.strip(),
                    required=s.required,
                    position=i,
                )
                for i, s in enumerate(steps)
            ]
        )
    return playbook


def playbook_delete(*, shop: Shop, key: str) -> None:
    deleted, _rows = Playbook.objects.filter(shop=shop, key=key).delete()
    if not deleted:
        raise NotFoundError(f"shop {shop.name} has no playbook {key!r}", field="key")


def playbooks_defaults_load(**kwargs: Any) -> int:
    """Create the shipped playbooks (every shop) that are missing; post_migrate hook. Returns how many."""
    made = 0
    for spec in defaults.PLAYBOOKS:
        if Playbook.objects.filter(Q(shop__isnull=True), key=spec.key).exists():
            continue
        playbook = Playbook.objects.create(
            shop=None, key=spec.key, name=spec.name, types=list(spec.types), position=spec.position
        )
        PlaybookStep.objects.bulk_create(
            [
                PlaybookStep(playbook=playbook, key=s.key, label=s.label, help=s.help, required=s.required, position=i)
                for i, s in enumerate(spec.steps)
            ]
        )
        made += 1
    return made


def sla_policies_defaults_load() -> int:
    """Create the shipped SLA policies when there is no policy at all (a fresh or emptied database); returns how
    many. The first migration ships the same ones."""
    if SlaPolicy.objects.exists():
        return 0
    for p in defaults.POLICIES:
        SlaPolicy.objects.create(
            name=p.name,
            position=p.position,
            priorities=list(p.priorities),
            first_response_minutes=p.first_response_minutes,
            next_response_minutes=p.next_response_minutes,
            resolution_minutes=p.resolution_minutes,
        )
    return len(defaults.POLICIES)
