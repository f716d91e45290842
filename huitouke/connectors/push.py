"""The JSON shape of a pushed order and its mapping to the import's `OrderRow`, order by order: one bad order is
rejected with its index, field and reason, and never stops the others. Pure: no ORM, no settings (the shops a
batch names are looked up by the caller and handed in).

The fields are the normalised order's (`orders.importers.rows.OrderRow`), named as the API documents them:
`created_at` is the order time, `carrier` the logistics company, a line's `product_id` the seller's item id.
Times without an offset are read in the shop's time zone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from huitouke.core.text import CONTROLS_MESSAGE, controls_in, has_controls
from huitouke.orders.importers import rows as r
from huitouke.orders.importers.rows import LineRow, OrderRow

#: orders one push may carry (more is refused whole, 413)
MAX_BATCH = 1000
#: lines one order may carry
MAX_LINES = 500

_AMOUNT_LIMIT = Decimal(10) ** 10

# Text fields by their column's length (the writer would cut longer text; the push refuses it instead).
T16 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=16)]
T32 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)]
T64 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]
T128 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)]
T254 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254)]
T255 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)]
T1000 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]


Amount = Annotated[Decimal, Field(ge=0, lt=_AMOUNT_LIMIT, decimal_places=2)]
Status = Literal["pending", "paid", "shipped", "delivered", "completed", "closed", "refunded"]
RefundState = Literal["", "requested", "refunded"]
Platform = Literal["taobao", "jd", "pdd", "shopify", "woocommerce", "other"]

#: statuses that mean the buyer has paid: such an order needs its payment time
_PAID_STATUSES = frozenset({r.PAID, r.SHIPPED, r.DELIVERED, r.COMPLETED})


class _Plain(BaseModel):
    """Base of the pushed shapes' fields: plain pydantic (the API validates up to 1,000 orders per request, one by
    one)."""

    model_config = ConfigDict(extra="forbid")


class _Pushed(_Plain):
    """The check every request body's text gets (`core.schemas.TextInput`): no control characters."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_controls(cls, value: Any) -> Any:
        if isinstance(value, str) and controls_in(value):
            raise ValueError(CONTROLS_MESSAGE)
        return value


class _LineFields(_Plain):
    product_id: T64 = Field("", description="the seller's item id or code (商家编码); with sku, the product key")
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
    sku: T128 = ""
    quantity: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    price: Amount = Field(Decimal(0), description="unit price")
    amount: Amount | None = Field(None, description="the line's amount; default price × quantity")
    refund_state: RefundState = ""


class _OrderFields(_Plain):
    """The fields of an order but its lines (each shape below names its own line shape)."""

    shop: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] = Field(
        ..., description="the shop's name in Huitouke (it must exist)"
    )
    platform: Platform | None = Field(None, description="the buyer's platform; default the shop's")
    order_no: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    buyer_handle: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)] = Field(
        ..., description="the buyer's id on the platform (会员名, e-mail …): who the order belongs to"
    )
    buyer_name: T64 = ""
    phone: T32 = ""
    email: T254 = ""
    province: T32 = ""
    city: T32 = ""
    district: T32 = ""
    address: T255 = ""
    postcode: T16 = ""
    status: Status
    goods_amount: Amount = Decimal(0)
    shipping_fee: Amount = Decimal(0)
    total_amount: Amount = Decimal(0)
    paid_amount: Amount | None = Field(None, description="default: the total once paid, else 0")
    refund_amount: Amount = Decimal(0)
    created_at: datetime = Field(..., description="when the order was placed (ISO 8601; no offset: shop time)")
    paid_at: datetime | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    confirmed_at: datetime | None = None
    closed_at: datetime | None = None
    carrier: T64 = ""
    tracking_no: T64 = ""
    gift: T255 = ""
    buyer_remark: T1000 = ""
    seller_memo: T1000 = ""
    accepts_marketing: bool | None = Field(None, description="the buyer's answer to e-mail marketing, if asked")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.status in _PAID_STATUSES and self.paid_at is None:
            raise ValueError(f"paid_at: an order with status {self.status} needs its payment time")
        return self


class PushedLine(_Pushed, _LineFields):
    """One product line of a pushed order."""


class PushedOrder(_Pushed, _OrderFields):
    """One order of a push, with its lines (the fields of the normalised order)."""

    lines: Annotated[list[PushedLine], Field(max_length=MAX_LINES)] = Field(default_factory=list)


class _QuickLine(_LineFields):
    """PushedLine without the per-field check for control characters, for a line known to hold none."""


class _QuickOrder(_OrderFields):
    """PushedOrder without the per-field check for control characters (a call into Python per field, half the
    validation's time), for an order whose text holds none (`_quick`): it gives the same order or the same
    errors, as the check would find nothing."""

    lines: Annotated[list[_QuickLine], Field(max_length=MAX_LINES)] = Field(default_factory=list)


#: the raw values whose text `_quick` sees whole (a value of another type takes the checked shape)
_SCALARS = (str, int, float, bool, type(None))


def _quick(item: dict[Any, Any]) -> bool:
    """Whether a raw order is plain JSON (text, numbers, booleans, nulls and a list of lines of those) with no
    control character in any text: then `_QuickOrder` validates it as PushedOrder would. The validated text
    comes from these raw strings (stripped), so a clean raw order gives clean fields."""
    texts: list[str] = []
    for value in item.values():
        if type(value) is str:
            texts.append(value)
        elif type(value) is list:
            for line in value:
                if type(line) is not dict:
                    return False
                for cell in line.values():
                    if type(cell) is str:
                        texts.append(cell)
                    elif not isinstance(cell, _SCALARS):
                        return False
        elif not isinstance(value, _SCALARS):
            return False
    return not has_controls("".join(texts))


@dataclass(frozen=True)
class Rejection:
    """A pushed order that was not written: its position in the batch, the field at fault and why."""

    index: int
    field: str
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "message": self.message}


@dataclass(frozen=True)
class ShopInfo:
    """What the mapping needs of a shop the batch names."""

    id: int
    platform: str
    timezone: str


def _field(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _first_error(exc: ValidationError) -> tuple[str, str]:
    error = exc.errors()[0]
    message = str(error.get("msg", "invalid"))
    field = _field(error.get("loc", ()))
    if error.get("type") == "value_error":  # our own checks name their field first: "paid_at: …"
        message = message.removeprefix("Value error, ")
        named, sep, rest = message.partition(": ")
        if sep and named.isidentifier():
            return named, rest
    return field or "order", message


def _aware(value: datetime | None, tz: ZoneInfo) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=tz)


def order_row(order: PushedOrder | _QuickOrder, *, index: int, shop: ShopInfo) -> OrderRow:
    """The import's row for a validated pushed order (`index` becomes its row number, as a file's row would)."""
    tz = ZoneInfo(shop.timezone)
    lines = tuple(
        LineRow(
            line_no=n,
            title=line.title,
            sku=line.sku,
            external_id=line.product_id,
            quantity=line.quantity,
            unit_price=line.price,
            amount=line.price * line.quantity if line.amount is None else line.amount,
            attributes="",
            refund_state=line.refund_state,
        )
        for n, line in enumerate(order.lines, start=1)
    )
    paid = order.paid_amount
    if paid is None:
        paid = order.total_amount if order.status in _PAID_STATUSES or order.status == r.REFUNDED else Decimal(0)
    ordered_at = _aware(order.created_at, tz)
    assert ordered_at is not None  # a required field
    return OrderRow(
        row_no=index,
        order_no=order.order_no,
        platform=order.platform or shop.platform,
        shop_name=order.shop,
        buyer_handle=order.buyer_handle,
        buyer_name=order.buyer_name,
        phone=order.phone,
        email=order.email.lower(),
        province=order.province,
        city=order.city,
        district=order.district,
        address=order.address,
        postcode=order.postcode,
        status=order.status,
        goods_amount=order.goods_amount,
        shipping_fee=order.shipping_fee,
        total_amount=order.total_amount,
        paid_amount=paid,
        refund_amount=order.refund_amount,
        ordered_at=ordered_at,
        paid_at=_aware(order.paid_at, tz),
        shipped_at=_aware(order.shipped_at, tz),
        confirmed_at=_aware(order.confirmed_at, tz),
        delivered_at=_aware(order.delivered_at, tz),
        closed_at=_aware(order.closed_at, tz),
        logistics_company=order.carrier,
        tracking_no=order.tracking_no,
        buyer_remark=order.buyer_remark,
        seller_memo=order.seller_memo,
        gift=order.gift,
        accepts_marketing=order.accepts_marketing,
        lines=lines,
    )


def batch_rows(
    items: Sequence[Any], shops: Mapping[str, ShopInfo]
) -> tuple[list[tuple[int, int, OrderRow]], list[Rejection]]:
    """Validate and map every item of a batch: (index, shop id, row) of the good ones, and the rejections. An
    order number given twice for one shop keeps its first occurrence and rejects the others (the batch would
    otherwise write one order twice in one statement)."""
    rows: list[tuple[int, int, OrderRow]] = []
    rejected: list[Rejection] = []
    seen: dict[tuple[int, str], int] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            rejected.append(Rejection(index, "order", "an order is a JSON object"))
            continue
        try:
            order: PushedOrder | _QuickOrder = (
                _QuickOrder.model_validate(item) if _quick(item) else PushedOrder.model_validate(item)
            )
        except ValidationError as exc:
            field, message = _first_error(exc)
            rejected.append(Rejection(index, field, message))
            continue
        shop = shops.get(order.shop)
        if shop is None:
            rejected.append(Rejection(index, "shop", f"no shop is named {order.shop!r}"))
            continue
        key = (shop.id, order.order_no)
        if key in seen:
            rejected.append(Rejection(index, "order_no", f"the same order is at index {seen[key]} of this batch"))
            continue
        seen[key] = index
        rows.append((index, shop.id, order_row(order, index=index, shop=shop)))
    return rows, rejected


def shop_names(items: Sequence[Any]) -> set[str]:
    """The shop names a batch mentions (to look them up once)."""
    return {item["shop"].strip() for item in items if isinstance(item, dict) and isinstance(item.get("shop"), str)}
