"""JSON shapes of the level API: one level as it comes in (LevelIn) and the shop's levels going out (LevelsOut)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ninja import Field, Schema

from huitouke.core.api import Int64
from huitouke.core.schemas import TextInput


class LevelIn(TextInput):
    """One level of the ordered list, lowest first. The service checks that thresholds rise and names the field
    (``levels[1].min_amount``)."""

    name: str = Field(..., max_length=32, description="e.g. 普通会员, 银卡, VIP")
    min_amount: Decimal = Field(..., max_digits=12, decimal_places=2, description='minimum paid amount, "200.00"')
    min_orders: int = Field(..., description="minimum number of completed orders; either threshold qualifies")
    discount: int = Field(..., description="what the member pays out of 100: 95 = 9.5折")
    benefits: str = Field("", description="free text shown to staff")


class ShopRef(Schema):
    id: int
    name: str


class LevelOut(Schema):
    rank: int
    name: str
    min_amount: str
    min_orders: int
    discount: int
    benefits: str


class LevelCount(Schema):
    name: str
    members: int


class LevelsOut(Schema):
    """A shop's levels, lowest first, and how many members each level holds."""

    shop: ShopRef
    levels: list[LevelOut]
    distribution: list[LevelCount]


class AtRiskFilter(Schema):
    """Query parameters of the at-risk list: the shop (may be omitted when there is one) and the page."""

    shop: Int64 | None = None
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(50, ge=1, le=500)


class AtRiskCustomer(Schema):
    id: int
    name: str


class AtRiskOut(Schema):
    """A member who drops at the first review after `deadline` unless they spend `amount_needed` more OR place
    `orders_needed` more orders first (either is enough). `amount` and `orders` are what counts today."""

    customer: AtRiskCustomer
    level: str
    amount: str
    orders: int
    amount_needed: str
    orders_needed: int
    deadline: datetime


class AtRiskPageOut(Schema):
    """One page of a shop's at-risk members, soonest deadline first. `reviewing` is false when the shop never
    drops members (then nobody is at risk)."""

    shop: ShopRef
    reviewing: bool
    grace_days: int
    window_months: int | None
    count: int
    items: list[AtRiskOut]
