"""API shapes of reviews and credit (names and keys as issue #17 gives them)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from ninja import Schema
from pydantic import Field

from huitouke.reviews.credit import NUMBER_BOUNDS


class ReviewIn(Schema):
    shop: str = Field(..., min_length=1, max_length=100)
    order_no: str = Field(..., min_length=1, max_length=64)
    item_id: str | None = Field(None, max_length=64)
    role: Literal["buyer", "seller"]
    result: Literal["good", "neutral", "bad"]
    content: str | None = Field(None, max_length=2000)
    created_at: datetime
    anonymous: bool | None = None


class ReviewOut(Schema):
    id: int
    shop: str
    order_no: str
    item_id: str
    item_title: str
    customer_id: int
    nick: str
    role: str
    result: str
    content: str
    created_at: datetime
    anonymous: bool
    is_default: bool
    reply: str
    scores: bool | None
    not_scored_reason: str
    points: int
    case_outcome: str | None


class ReviewPage(Schema):
    items: list[ReviewOut]
    count: int


class ReviewListParams(Schema):
    result: Literal["good", "neutral", "bad"] | None = None
    scored: bool | None = None
    shop: str | None = Field(None, max_length=100)
    page: int = Field(1, ge=1, le=1_000_000)


class CreditParams(Schema):
    shop: str = Field("", max_length=100)
    at: date | None = None


class LevelOut(Schema):
    index: int
    name: str


class CreditOut(Schema):
    preset: str
    score: int
    level: LevelOut
    next_level_at: int | None
    reviews: int
    scored: int
    not_scored: dict[str, int]


def _bounds(name: str) -> tuple[int, int]:
    return NUMBER_BOUNDS[name]


class CreditSettingsIn(Schema):
    preset: Literal["course", "taobao"]
    rating_period_days: int = Field(..., ge=_bounds("rating_period_days")[0], le=_bounds("rating_period_days")[1])
    default_good_after_days: int = Field(
        ..., ge=_bounds("default_good_after_days")[0], le=_bounds("default_good_after_days")[1]
    )
    monthly_cap: int = Field(..., ge=_bounds("monthly_cap")[0], le=_bounds("monthly_cap")[1])
    same_item_days: int = Field(..., ge=_bounds("same_item_days")[0], le=_bounds("same_item_days")[1])
    tmall: bool | None = Field(None, description="a Tmall shop: orders carry no credit (omitted: unchanged)")
    alert_email: str | None = Field(
        None,
        max_length=500,
        description="e-mail addresses (comma-separated) told of each negative review; omitted: unchanged, '': none",
    )
    alert_robot_url: str | None = Field(
        None,
        max_length=500,
        description="WeCom / DingTalk group-robot URL told of each negative review; omitted: unchanged, '': none",
    )


class CreditSettingsOut(CreditSettingsIn):
    shop: str
    tmall: bool | None
    alert_email: str | None
    alert_robot_url: str | None
