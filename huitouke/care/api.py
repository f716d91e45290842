"""REST endpoints of care rules: /care/rules (GET list, POST create) and /care/rules/{id} (GET, PUT, DELETE).

Thin: check the permission -> parse the input -> call the care services/selectors -> respond. A bad rule comes
back as 400 {code: "invalid", message, field} naming the field (`params` errors name the parameter too)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from huitouke.care import selectors, sending, services
from huitouke.care.library import template_key
from huitouke.care.models import CareRule
from huitouke.care.schemas import RuleIn, RuleOut, TemplateRef
from huitouke.care.triggers.clock import parse_hhmm
from huitouke.core.api import Int64, require_perms
from huitouke.core.audit import record
from huitouke.core.errors import ApplicationError
from huitouke.core.models import AuditEntry

router = Router(tags=["care"])


def _out(rule: CareRule) -> RuleOut:
    t = rule.template
    return RuleOut(
        id=rule.pk,
        name=rule.name,
        trigger=rule.trigger,
        params=rule.params,
        channel=rule.channel,
        template=TemplateRef(id=t.pk, name=t.name, key=t.key, language=t.language, purpose=t.purpose),
        send_time=rule.send_time.strftime("%H:%M") if rule.send_time else None,
        enabled=rule.enabled,
        status=selectors.rule_status(rule),
        activation=rule.activation,
        valid_until=rule.valid_until,
        auto_extend=rule.auto_extend,
        shop=rule.shop_id,
        segment=rule.segment_id,
        levels=list(rule.levels),
        tags=list(rule.tags),
        created_at=rule.created_at,
        updated_at=rule.updated_at,
    )


def _input(payload: RuleIn) -> services.RuleInput:
    if isinstance(payload.template, int):
        template_id = payload.template
    else:
        key = payload.template if payload.template.startswith("care_") else template_key(payload.template)
        found = sending.system_template(key=key, channel=payload.channel, language=payload.language)
        if found is None:
            raise ApplicationError(
                f"no template {payload.template!r} for {payload.channel}/{payload.language}", field="template"
            )
        template_id = found.pk
    try:
        send_time = parse_hhmm(payload.send_time) if payload.send_time else None
    except ValueError as exc:
        raise ApplicationError(str(exc), field="send_time") from None
    return services.RuleInput(
        name=payload.name,
        trigger=payload.trigger,
        channel=payload.channel,
        template_id=template_id,
        params=payload.params,
        send_time=send_time,
        enabled=payload.enabled,
        shop_id=payload.shop,
        segment_id=payload.segment,
        levels=payload.levels,
        tags=payload.tags,
        valid_until=payload.valid_until,
        auto_extend=payload.auto_extend,
    )


@router.get("/care/rules", response=list[RuleOut], summary="Care rules")
def rules_list(request: HttpRequest, trigger: Query[str] = "") -> list[RuleOut]:
    require_perms(request, "care.view_carerule")
    return [_out(r) for r in selectors.rule_list(trigger=trigger)]


@router.post("/care/rules", response={201: RuleOut}, summary="Create a care rule")
def rules_create(request: HttpRequest, payload: RuleIn) -> Status[Any]:
    require_perms(request, "care.add_carerule")
    rule = services.care_rule_create(data=_input(payload), user=request.user)
    return Status(201, _out(selectors.rule_get(rule_id=rule.pk)))


@router.get("/care/rules/{pk}", response=RuleOut, summary="One care rule")
def rules_get(request: HttpRequest, pk: Int64) -> RuleOut:
    require_perms(request, "care.view_carerule")
    return _out(selectors.rule_get(rule_id=pk))


@router.put("/care/rules/{pk}", response=RuleOut, summary="Replace a care rule (editing its content re-activates it)")
def rules_update(request: HttpRequest, pk: Int64, payload: RuleIn) -> RuleOut:
    require_perms(request, "care.change_carerule")
    rule = services.care_rule_update(rule=selectors.rule_get(rule_id=pk), data=_input(payload), user=request.user)
    return _out(selectors.rule_get(rule_id=rule.pk))


@router.delete("/care/rules/{pk}", response={204: None}, summary="Delete a care rule (its send records stay)")
def rules_delete(request: HttpRequest, pk: Int64) -> Status[Any]:
    require_perms(request, "care.delete_carerule")
    services.care_rule_delete(rule=selectors.rule_get(rule_id=pk))
    record(actor=request.user, action=AuditEntry.Action.DELETE, target_type="care_rule", target_id=pk)
    return Status(204, None)
