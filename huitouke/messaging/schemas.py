"""JSON shapes of the messaging API: a message in (enqueue), a send record out, resend, templates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema

from huitouke.core.schemas import TextInput


class MessageIn(TextInput):
    """One message to enqueue. Give `template_id` (rendered with `context`) or `body`; the key makes it
    idempotent: posting the same key again returns the existing message."""

    idempotency_key: str = Field(..., min_length=1, max_length=200)
    channel: str = Field(..., description="sms, email, webhook or manual")
    purpose: str = Field(..., description="service, transactional, care or marketing")
    customer_id: int | None = None
    shop_id: int | None = None
    template_id: int | None = None
    subject: str = Field("", max_length=255)
    body: str = ""
    context: dict[str, Any] = Field(default_factory=dict, description='template variables, e.g. {"order_no": "…"}')
    scheduled_at: datetime | None = None
    deadline: datetime | None = None
    priority: int | None = Field(None, ge=0, le=9)
    language: str = ""
    to_address: str = Field("", max_length=500, description="only for webhook alerts without a customer")


class MessageOut(Schema):
    id: int
    idempotency_key: str
    customer_id: int | None
    shop_id: int | None
    channel: str
    purpose: str
    priority: int
    source_kind: str
    source_type: str | None
    source_id: int | None
    template_id: int | None
    subject: str
    body: str
    to_address: str
    status: str
    reason: str
    detail: str
    attempts: int
    scheduled_at: datetime
    deadline: datetime | None
    next_attempt_at: datetime
    sent_at: datetime | None
    provider_message_id: str
    created_at: datetime


class MessagePage(Schema):
    items: list[MessageOut]
    page: int
    has_next: bool


class ResendIn(TextInput):
    source_kind: str
    source_type_id: int | None = None
    source_id: int | None = None
    deadline: datetime | None = None


class ResendOut(Schema):
    queued: int


class TemplateOut(Schema):
    id: int
    key: str
    system: bool
    channel: str
    purpose: str
    language: str
    name: str
    subject: str
    body: str
    provider_code: str
    variables: list[str]


class InboundOut(Schema):
    received: int = Field(..., description="replies in the push")
    opted_out: int = Field(..., description="customers opted out of marketing SMS")
    duplicates: int = Field(0, description="replies taken in before (a gateway's retry), not acted on again")
    stale: int = Field(0, description="replies more than a day old (or dated in the future), not acted on")
