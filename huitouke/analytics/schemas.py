"""API shapes of analytics: a customer's scores, the segment distribution, product repurchase cycles."""

from __future__ import annotations

from datetime import date, datetime

from ninja import Schema


class ScoreOut(Schema):
    customer_id: int
    recency_days: int
    frequency: int
    monetary: str
    r_score: int
    f_score: int
    m_score: int
    segment: str
    segment_name: str
    p_alive: float | None
    expected_purchases_90d: float | None
    clv_12m: str | None
    next_purchase_on: date | None
    computed_at: datetime


class SegmentCount(Schema):
    segment: str
    name: str
    customers: int


class MovementOut(Schema):
    source: str
    target: str
    customers: int
    customer_filter: str


class SegmentsOut(Schema):
    computed_at: datetime | None
    week: date | None
    previous_week: date | None
    segments: list[SegmentCount]
    movements: list[MovementOut]
    bgnbd: dict[str, object] | None
    gamma_gamma: dict[str, object] | None
    fit_error: str


class CycleOut(Schema):
    product_id: int
    buyers: int
    repeat_buyers: int
    repurchase_rate: float | None
    median_interval_days: float | None
