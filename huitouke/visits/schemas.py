"""Schemas of the visits API."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from huitouke.core.api import Int64
from huitouke.core.schemas import TextInput


class QuestionIO(TextInput):
    key: str | None = None
    text: str
    kind: Literal["rating", "choice", "text"] = "text"
    choices: list[str] | None = None


class PlanIn(TextInput):
    name: str = Field(max_length=64)
    shop: str | None = None
    trigger: str
    days: int = Field(0, ge=0, le=3650)
    holidays: list[str] = Field([], max_length=20)
    segment_id: Int64 | None = None
    level_ids: list[Int64] = Field([], max_length=100)
    customer_ids: list[Int64] = Field([], max_length=10_000)
    channel: str = "phone"
    script: str = Field("", max_length=4000)
    questions: list[QuestionIO] = Field([], max_length=20)
    attempts: int = Field(3, ge=1, le=10)
    retry_hours: int = Field(4, ge=1, le=720)
    assignment: str = "round_robin"
    agent_ids: list[Int64] = Field([], max_length=500)
    daily_capacity: int = Field(40, ge=0, le=10000)
    quiet_start: time | None = None
    quiet_end: time | None = None
    holdout_share: Decimal = Field(Decimal("0"), ge=0, le=Decimal("0.5"))
    enabled: bool = True


class PlanOut(Schema):
    id: int
    name: str
    shop: str
    trigger: str
    days: int
    holidays: list[str]
    segment_id: int | None
    level_ids: list[int]
    channel: str
    script: str
    questions: list[dict[str, Any]]
    attempts: int
    retry_hours: int
    assignment: str
    agents: list[str]
    daily_capacity: int
    quiet_start: time | None
    quiet_end: time | None
    holdout_share: Decimal
    enabled: bool


class TaskOut(Schema):
    id: int
    plan_id: int
    plan: str
    customer_id: int
    customer: str
    phone: str
    occasion: str
    assignee: str | None
    due_at: datetime
    status: str
    overdue: bool
    attempts: int
    outcome: str
    satisfaction: int | None
    answers: dict[str, Any]
    feedback: str
    new_products_opt_in: bool | None
    ticket_id: int | None
    callback_on: date | None
    done_at: datetime | None


class TaskPage(Schema):
    items: list[TaskOut]
    count: int
    page: int


class TaskFilterIn(Schema):
    assignee: str | None = None
    status: Literal["due", "overdue", "done"] | None = None
    page: int = Field(1, ge=1, le=100000)


class OutcomeIn(TextInput):
    outcome: str
    satisfaction: int | None = Field(None, ge=1, le=5)
    feedback: str = Field("", max_length=4000)
    answers: dict[str, Any] | None = None
    new_products_opt_in: bool | None = None
    follow_up: str | None = None
