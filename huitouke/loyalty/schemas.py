"""JSON shapes of the level API: one level as it comes in (LevelIn) and the shop's levels going out (LevelsOut)."""

from __future__ import annotations

from decimal import Decimal

from ninja import Field, Schema
from pydantic import field_validator


class LevelIn(Schema):
    """One level of the ordered list, lowest first. The service checks that thresholds rise and names the field
    (``levels[1].min_amount``)."""

    name: str = Field(..., max_length=32, description="e.g. 普通会员, 银卡, VIP")
    min_amount: Decimal = Field(..., max_digits=12, decimal_places=2, description='minimum paid amount, "200.00"')
    min_orders: int = Field(..., description="minimum number of completed orders; either threshold qualifies")
    discount: int = Field(..., description="what the member pays out of 100: 95 = 9.5折")
    benefits: str = Field("", description="free text shown to staff")

    @field_validator("name", "benefits", mode="after")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("must not contain a NUL character")
        return value


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
