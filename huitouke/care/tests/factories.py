"""Helpers that build care rules through the service, with care's shipped templates."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from huitouke.care import sending
from huitouke.care.library import template_key
from huitouke.care.models import CareRule
from huitouke.care.services import RuleInput, care_rule_create
from huitouke.messaging.models import Template


def care_template(trigger: str, channel: str = "sms", language: str = "zh-hans") -> Template:
    template = sending.system_template(key=template_key(trigger), channel=channel, language=language)
    assert template is not None, "care templates are loaded after migrate"
    return template


def make_rule(
    trigger: str,
    *,
    name: str = "",
    params: dict[str, Any] | None = None,
    channel: str = "sms",
    template: Template | None = None,
    send_time: time | None = None,
    enabled: bool = True,
    now: datetime | None = None,
    **extra: Any,
) -> CareRule:
    template = template or care_template(trigger, channel)
    data = RuleInput(
        name=name or f"rule {trigger}",
        trigger=trigger,
        channel=channel,
        template_id=template.pk,
        params=params,
        send_time=send_time,
        enabled=enabled,
        **extra,
    )
    return care_rule_create(data=data, now=now)
