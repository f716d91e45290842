"""JSON shapes of the care rule API: a rule as it comes in (RuleIn) and goes out (RuleOut)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema

from huitouke.core.schemas import TextInput


class RuleIn(TextInput):
    """A care rule. `template` is a template id, or the key of one of care's shipped templates (`care_birthday`)
    in `language` for `channel`. `send_time` is the shop-local time of day ("HH:MM"), or null for order events
    to go as soon as they happen. `params` are the trigger's parameters (defaults fill in what is left out)."""

    name: str = Field(..., max_length=100)
    trigger: str = Field(..., description="paid_today, unpaid_reminder, shipped, delivered_followup, …")
    params: dict[str, Any] = Field(default_factory=dict)
    channel: str = Field(..., description="sms, email or manual (a chat task for the agents)")
    template: int | str
    language: str = Field("zh-hans", description="for a template given by key: zh-hans or en")
    send_time: str | None = Field(None, description='"HH:MM" in shop time; null = as soon as allowed')
    enabled: bool = True
    shop: int | None = None
    segment: int | None = None
    levels: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    valid_until: datetime | None = None
    auto_extend: bool = True


class TemplateRef(Schema):
    id: int
    name: str
    key: str
    language: str
    purpose: str


class RuleOut(Schema):
    """A rule with its state: `status` is on (enabled and valid), expired or off; `activation` the number of
    the current activation (0: never enabled)."""

    id: int
    name: str
    trigger: str
    params: dict[str, Any]
    channel: str
    template: TemplateRef
    send_time: str | None
    enabled: bool
    status: str
    activation: int
    valid_until: datetime | None
    auto_extend: bool
    shop: int | None
    segment: int | None
    levels: list[str]
    tags: list[str]
    created_at: datetime
    updated_at: datetime
