"""JSON shapes of the service API (tickets, replies, compensation, calendar, SLA policies)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from ninja import Field, Schema
from pydantic import field_validator

from huitouke.service.models import Compensation, Priority, TicketChannel, TicketStatus, TicketType

API_PAGE_SIZE_MAX = 200


class _Input(Schema):
    """Request bodies: text never contains NUL (PostgreSQL cannot store it)."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(t, str) and "\x00" in t for t in texts):
            raise ValueError("must not contain a NUL character")
        return value


class ErrorOut(Schema):
    code: str
    message: str
    field: str | None = None


class BreachOut(Schema):
    clock: str
    due: datetime
    at: datetime


class SlaOut(Schema):
    policy: str | None
    first_response_due: datetime | None
    next_response_due: datetime | None
    resolution_due: datetime | None
    paused: bool
    breaches: list[BreachOut]


class StepOut(Schema):
    key: str
    label: str
    done_at: datetime | None
    done_by: str | None


class CsatOut(Schema):
    rating: int
    comment: str
    answered_at: datetime


class SurveySentOut(Schema):
    survey_url: str


class TicketOut(Schema):
    id: int
    number: int
    status: str
    type: str
    channel: str
    priority: str
    customer_id: int
    order_no: str | None
    owner: str | None
    first_owner: str | None
    sla: SlaOut
    steps: list[StepOut]
    created_at: datetime
    updated_at: datetime
    shop: str
    subject: str
    description: str
    tags: list[str]
    csat: CsatOut | None = None


class TicketPage(Schema):
    items: list[TicketOut]
    count: int


class TicketFilterIn(Schema):
    status: str = Field("", description=f"{', '.join(TicketStatus.values)}, or unfinished")
    type: str = Field("", description=", ".join(TicketType.values))
    owner: str = Field("", description='username of the person working the ticket; "-" for nobody')
    breached: bool | None = Field(None, description="true: tickets that missed an SLA clock; false: none missed")
    queue: str = Field("all", description="mine, follow_ups, unassigned, breaching or all")
    priority: str = ""
    channel: str = ""
    shop: str = Field("", description="shop name")
    tag: str = ""
    sla_state: str = Field("", description="ok, breaching_soon or breached (the clocks still running)")
    customer_id: int | None = Field(None, ge=1, le=2**62)
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(50, ge=1, le=API_PAGE_SIZE_MAX)


class TicketIn(_Input):
    customer_id: int = Field(..., ge=1, le=2**62)
    order_no: str | None = Field(None, max_length=64, description="an order of the customer (in the shop)")
    shop: str | None = Field(None, max_length=100, description="shop name; default: the order's shop")
    type: str = Field(..., description=", ".join(TicketType.values))
    channel: str = Field(..., description=", ".join(TicketChannel.values))
    priority: str = Field(Priority.NORMAL, description=", ".join(Priority.values))
    subject: str = Field(..., max_length=200)
    description: str = Field("", max_length=20_000)
    created_at: datetime | None = Field(None, description="ISO-8601 with offset, for cases from elsewhere")
    tags: list[str] = Field(default_factory=list, max_length=20)
    platform_deadline: datetime | None = Field(None, description="the platform's own wall-clock deadline")


class TicketPatch(_Input):
    subject: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=20_000)
    type: str | None = None
    priority: str | None = None
    channel: str | None = None
    tags: list[str] | None = Field(None, max_length=20)
    platform_deadline: datetime | None = None


class ReplyIn(_Input):
    body: str = Field(..., max_length=5000)
    internal: bool = False
    channel: str | None = Field(None, description="sms, email or manual (a task to send by hand); default by ticket")


class ReplyOut(Schema):
    id: int
    kind: str
    internal: bool
    channel: str
    body: str
    author: str | None
    message_id: int | None
    created_at: datetime


class TransferIn(_Input):
    to: str = Field(..., max_length=150, description="username")
    note: str = Field(..., max_length=2000)


class AssignIn(_Input):
    ids: list[int] = Field(..., min_length=1, max_length=500, description="ticket ids")
    to: str = Field(..., max_length=150, description="username")


class AssignOut(Schema):
    assigned: int


class StatusIn(_Input):
    status: str = Field(..., description=", ".join(TicketStatus.values))
    note: str = Field("", max_length=2000)


class CompensationIn(_Input):
    kind: str = Field(..., description=", ".join(Compensation.Kind.values))
    amount: Decimal = Field(Decimal("0"), ge=0, lt=Decimal("1000000000"), decimal_places=2)
    cost: Decimal = Field(Decimal("0"), ge=0, lt=Decimal("1000000000"), decimal_places=2)
    note: str = Field("", max_length=2000)
    order_line: int | None = Field(None, ge=1, le=10_000, description="line number within the ticket's order")


class CompensationOut(Schema):
    id: int
    ticket_id: int
    kind: str
    amount: str
    cost: str
    note: str
    order_line: int | None
    status: str
    granted_by: str | None
    approved_by: str | None
    created_at: datetime


class CalendarIO(_Input):
    timezone: str = Field(..., max_length=64)
    periods: list[str] = Field(..., max_length=24, description='["09:00-12:00", "13:30-18:00"]')
    weekdays: list[int] = Field(..., max_length=7, description="ISO weekdays, Monday = 1")
    public_holidays: str | None = Field(..., description='"CN" or null')
    days_off: list[date] = Field(default_factory=list, max_length=5000)
    workdays: list[date] = Field(default_factory=list, max_length=5000)


class PolicyIn(_Input):
    name: str = Field(..., max_length=100)
    position: int = Field(100, ge=0, le=1_000_000)
    types: list[str] = Field(default_factory=list, max_length=50)
    priorities: list[str] = Field(default_factory=list, max_length=50)
    channels: list[str] = Field(default_factory=list, max_length=50)
    levels: list[str] = Field(default_factory=list, max_length=50)
    first_response_minutes: int = Field(..., ge=1, le=525_600)
    next_response_minutes: int = Field(..., ge=1, le=525_600)
    resolution_minutes: int = Field(..., ge=1, le=525_600)
    shop: str | None = Field(None, max_length=100, description="shop name; null: every shop")


class PolicyOut(Schema):
    id: int
    name: str
    position: int
    types: list[str]
    priorities: list[str]
    channels: list[str]
    levels: list[str]
    first_response_minutes: int
    next_response_minutes: int
    resolution_minutes: int
    shop: str | None
