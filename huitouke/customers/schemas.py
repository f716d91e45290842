"""JSON shapes of the customer API: what comes in (CustomerIn/CustomerPatch), what goes out (CustomerOut)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from ninja import Field, Schema

from huitouke.core.api import Int64
from huitouke.core.schemas import TextInput
from huitouke.customers.models import Platform

API_PAGE_SIZE_MAX = 200


class _Input(TextInput):
    """Base of request bodies: text never holds control characters (NUL, \x07, \x0b …), refused naming the
    field (`core.schemas.TextInput`)."""


class IdentityIn(_Input):
    platform: str = Field(..., description=f"one of {', '.join(Platform.values)}")
    handle: str = Field(..., description="the buyer handle on that platform (淘宝会员名, JD pin …)")


class IdentityOut(Schema):
    platform: str
    handle: str


class _Profile(_Input):
    """The editable profile fields; the service validates choices, lengths and formats and names the field."""

    name: str = Field("", description="display name; defaults to the first identity's handle")
    real_name: str = ""
    gender: str = Field("", description='"", "f" or "m"')
    birthday: date | None = Field(None, description="the real (solar) date of birth, YYYY-MM-DD")
    birthday_calendar: str = Field("solar", description='"solar" or "lunar": which calendar the customer keeps it by')
    phone: str = ""
    email: str = ""
    province: str = ""
    city: str = ""
    district: str = ""
    address: str = Field("", description="street address, without province/city/district")
    pref_choice: str = Field("", description='"", "alone" or "recommend"')
    pref_decision: str = Field("", description='"", "quick" or "slow"')
    pref_price: str = Field("", description='"", "easy" or "strict"')
    pref_knowledge: str = Field("", description='"", "novice", "partial" or "expert"')


class CustomerIn(_Profile):
    identities: list[IdentityIn] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list, description="tag names; new ones are created")


class CustomerPatch(_Profile):
    """Only the fields sent are changed; `tags`, when sent, replaces the customer's tags."""

    tags: list[str] | None = Field(None, description="the complete new list of tag names")


class CustomerOut(Schema):
    """A customer as the API shows it. Phone, email and address are masked unless the caller holds
    core.unmask_pii."""

    id: int
    name: str
    real_name: str
    gender: str
    identities: list[IdentityOut]
    phone: str
    email: str
    province: str
    city: str
    district: str
    address: str
    level: str | None = Field(None, description="the highest member level held in any shop")
    order_count: int
    total_spent: str = Field(..., description='a decimal string, e.g. "123.45"')
    first_order_at: datetime | None
    last_order_at: datetime | None
    birthday: date | None
    birthday_calendar: str
    pref_choice: str
    pref_decision: str
    pref_price: str
    pref_knowledge: str
    tags: list[str]
    merged_into: int | None
    created_at: datetime
    updated_at: datetime


class CustomerPage(Schema):
    items: list[CustomerOut]
    count: int


class CustomerFilter(Schema):
    """Query parameters of the customer list (the same filters as the list page and exports)."""

    search: str = Field(
        "",
        description="display name or buyer handle (prefix match); real name, phone or email by the whole value, or a "
        "phone's last 4 digits (they are encrypted at rest); without core.unmask_pii such searches are audited and "
        "rate-limited (429)",
    )
    tag: str = Field("", description="tag name")
    province: str = ""
    shop: str = Field("", description="shop id")
    level: str = Field("", description="level id")
    last_order_from: date | None = None
    last_order_to: date | None = None
    spent_min: Decimal | None = Field(None, ge=0, description="amount like 199.00")
    spent_max: Decimal | None = Field(None, ge=0, description="amount like 199.00")
    orders_min: Int64 | None = Field(None, ge=0)
    orders_max: Int64 | None = Field(None, ge=0)
    sort: str = Field(
        "last_order", description="last_order, -last_order, spent, -spent, orders, -orders, created, name"
    )
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(settings.HUITOUKE_PAGE_SIZE, ge=1, le=API_PAGE_SIZE_MAX)


class NoteIn(_Input):
    body: str
    pinned: bool = False
    follow_up_on: date | None = Field(
        None, description="business date (shop time) to get back to the customer; today or later, ≤ 2 years ahead"
    )
    follow_up_owner: str | None = Field(
        None, description="username of the staff member who follows up (default: the token's user)"
    )


class NoteOut(Schema):
    id: int
    customer_id: int
    body: str
    pinned: bool
    author: str | None
    created_at: datetime
    follow_up_on: date | None = None
    follow_up_owner: str | None = None
    follow_up_done_at: datetime | None = None


class TagIn(_Input):
    name: str


class TagOut(Schema):
    name: str
    color: str
