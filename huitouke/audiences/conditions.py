"""The segment language: a typed schema of conditions combined in AND/OR groups (pydantic, no ORM).

A segment definition is a `Group`: `{"field": "group", "op": "and"|"or", "conditions": [...]}` whose conditions are
other groups or one of the condition types below, told apart by their `field`. `parse_definition` validates a
definition (from a form, the API or the database) and turns pydantic's errors into one message per problem that
names the condition (its position and field) and the parameter, e.g.
`conditions[2] (total_spent): min must not be greater than max`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

LIFECYCLE_STAGES = ("prospect", "new", "active", "at_risk", "lapsed")
CONSENT_PURPOSES = ("care", "marketing", "new_products")
CONSENT_CHANNELS = ("sms", "email", "im", "phone")
CHURN_BANDS = ("low", "medium", "high")

NameList = Annotated[list[Annotated[str, Field(min_length=1, max_length=128)]], Field(min_length=1, max_length=500)]


class _Condition(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Range(_Condition):
    """At least one bound; min ≤ max."""

    @model_validator(mode="after")
    def _bounds(self) -> _Range:
        low, high = getattr(self, "min"), getattr(self, "max")  # noqa: B009 - subclasses declare them
        if low is None and high is None:
            raise ValueError("give min, max or both")
        if low is not None and high is not None and low > high:
            raise ValueError("min must not be greater than max")
        return self


class LevelCondition(_Condition):
    """Member level (by name, in any shop) is one of `levels`; `negate` = is none of them (or has no level)."""

    field: Literal["level"]
    levels: NameList
    negate: bool = False


class TagsCondition(_Condition):
    """Tags: has any / all / none of `tags`."""

    field: Literal["tags"]
    match: Literal["any", "all", "none"] = "any"
    tags: NameList


class ShopCondition(_Condition):
    """Bought in one of the named shops."""

    field: Literal["shop"]
    shops: NameList


class RegionCondition(_Condition):
    """Province in `provinces` or city in `cities` (either list may be empty, not both)."""

    field: Literal["region"]
    provinces: list[str] = []
    cities: list[str] = []

    @model_validator(mode="after")
    def _some(self) -> RegionCondition:
        if not self.provinces and not self.cities:
            raise ValueError("give at least one province or city")
        return self


class SpendCondition(_Range):
    """Total paid amount (the archive's denormalised total) between min and max, inclusive."""

    field: Literal["total_spent"]
    min: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    max: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)


class OrderCountCondition(_Range):
    """Number of counted orders between min and max, inclusive."""

    field: Literal["order_count"]
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)


class DateCondition(_Condition):
    """First or last purchase: on/after `after`, on/before `before`, within the last N days, or not within them."""

    field: Literal["first_order_at", "last_order_at"]
    after: date | None = None
    before: date | None = None
    within_days: int | None = Field(default=None, ge=1, le=36500)
    not_within_days: int | None = Field(default=None, ge=1, le=36500)

    @model_validator(mode="after")
    def _some(self) -> DateCondition:
        if self.after is None and self.before is None and self.within_days is None and self.not_within_days is None:
            raise ValueError("give after, before, within_days or not_within_days")
        if self.after is not None and self.before is not None and self.after > self.before:
            raise ValueError("after must not be later than before")
        return self


class BoughtCondition(_Condition):
    """Bought (or, with `negate`, never bought) a product by code/SKU or title, or any product of a category,
    optionally only within the last N days. Closed and fully refunded orders do not count as buying."""

    field: Literal["bought"]
    products: list[Annotated[str, Field(min_length=1, max_length=255)]] = []
    categories: list[Annotated[str, Field(min_length=1, max_length=64)]] = []
    within_days: int | None = Field(default=None, ge=1, le=36500)
    negate: bool = False

    @model_validator(mode="after")
    def _some(self) -> BoughtCondition:
        if not self.products and not self.categories:
            raise ValueError("give at least one product or category")
        return self


class BirthdayMonthCondition(_Condition):
    """Birthday (as stored, solar date) falls in one of the months 1–12."""

    field: Literal["birthday_month"]
    months: Annotated[list[Annotated[int, Field(ge=1, le=12)]], Field(min_length=1, max_length=12)]


class ConsentCondition(_Condition):
    """In the consent group of `purpose` (agreed on `channel`, or on any channel when it is empty); with
    `member` false: not in that group."""

    field: Literal["consent"]
    purpose: Literal["care", "marketing", "new_products"]
    channel: Literal["", "sms", "email", "im", "phone"] = ""
    member: bool = True


class LifecycleCondition(_Condition):
    """Lifecycle stage, from the purchase history (see `lifecycle_stage` in selectors for the exact rules)."""

    field: Literal["lifecycle"]
    stages: Annotated[
        list[Literal["prospect", "new", "active", "at_risk", "lapsed"]], Field(min_length=1, max_length=5)
    ]


class RfmCondition(_Condition):
    """RFM segment (analytics' latest scores) is one of `segments` (their codes, e.g. champions, at_risk)."""

    field: Literal["rfm_segment"]
    segments: NameList


class ClvCondition(_Range):
    """Predicted 12-month customer value (analytics' latest scores) between min and max."""

    field: Literal["clv"]
    min: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    max: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)


class ChurnCondition(_Condition):
    """Churn-risk band from the probability the customer is still active: high < 0.3 ≤ medium < 0.7 ≤ low."""

    field: Literal["churn_risk"]
    bands: Annotated[list[Literal["low", "medium", "high"]], Field(min_length=1, max_length=3)]


class Group(_Condition):
    """Conditions combined with AND (all must hold) or OR (any may hold). An empty group matches everyone."""

    field: Literal["group"] = "group"
    op: Literal["and", "or"] = "and"
    conditions: Annotated[list[Condition], Field(max_length=50)] = []

    def depth(self) -> int:
        inner = [c.depth() for c in self.conditions if isinstance(c, Group)]
        return 1 + max(inner, default=0)


Condition = Annotated[
    LevelCondition
    | TagsCondition
    | ShopCondition
    | RegionCondition
    | SpendCondition
    | OrderCountCondition
    | DateCondition
    | BoughtCondition
    | BirthdayMonthCondition
    | ConsentCondition
    | LifecycleCondition
    | RfmCondition
    | ClvCondition
    | ChurnCondition
    | Group,
    Field(discriminator="field"),
]


Group.model_rebuild()

#: Condition types by their `field` (the builder offers them in this order).
FIELDS: dict[str, type[_Condition]] = {
    "total_spent": SpendCondition,
    "order_count": OrderCountCondition,
    "last_order_at": DateCondition,
    "first_order_at": DateCondition,
    "level": LevelCondition,
    "tags": TagsCondition,
    "shop": ShopCondition,
    "region": RegionCondition,
    "bought": BoughtCondition,
    "birthday_month": BirthdayMonthCondition,
    "consent": ConsentCondition,
    "lifecycle": LifecycleCondition,
    "rfm_segment": RfmCondition,
    "clv": ClvCondition,
    "churn_risk": ChurnCondition,
}

MAX_DEPTH = 4


class DefinitionError(ValueError):
    """A segment definition that does not validate; `messages` has one line per problem."""

    def __init__(self, messages: list[str], where: list[str] | None = None) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages
        #: per message, the dotted path of the condition it is about ("conditions.1.conditions.0"; "" = the root)
        self.where = where if where is not None else [""] * len(messages)


def parse_definition(data: Any) -> Group:
    """Validate a definition (dict, or None for "everyone") into a Group, or raise DefinitionError."""
    if data is None or data == {}:
        return Group()
    if not isinstance(data, dict):
        raise DefinitionError(["the definition must be an object with op and conditions"])
    data = {"field": "group", **data}
    try:
        group = Group.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        raise DefinitionError([_message(data, e) for e in errors], [_where(e) for e in errors]) from None
    if group.depth() > MAX_DEPTH:
        raise DefinitionError([f"groups may be nested at most {MAX_DEPTH} deep"])
    return group


def _where(err: Any) -> str:
    """The dotted path of the innermost condition an error is about."""
    loc = list(err.get("loc", ()))
    path: list[str] = []
    for i in range(len(loc) - 1):
        if loc[i] == "conditions" and isinstance(loc[i + 1], int):
            path += ["conditions", str(loc[i + 1])]
    return ".".join(path)


def _message(data: Any, err: Any) -> str:
    """`conditions[2] (total_spent).min: Input should be …` — the path with each condition's field named."""
    parts: list[str] = []
    node = data
    loc = list(err.get("loc", ()))
    i = 0
    while i < len(loc):
        key = loc[i]
        if key == "conditions" and i + 1 < len(loc) and isinstance(loc[i + 1], int):
            index = loc[i + 1]
            items = node.get("conditions") if isinstance(node, dict) else None
            node = items[index] if isinstance(items, list) and index < len(items) else None
            name = node.get("field") if isinstance(node, dict) else None
            parts.append(f"conditions[{index}]" + (f" ({name})" if name else ""))
            i += 2
            # pydantic puts the union member's tag next; it is already named
            if i < len(loc) and isinstance(loc[i], str) and name and loc[i] == name:
                i += 1
            continue
        if isinstance(node, dict) and isinstance(key, str):
            node = node.get(key)
        parts.append(str(key) if isinstance(key, str) else f"[{key}]")
        i += 1
    where = ".".join(parts).replace(".[", "[") or "definition"
    msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    if err.get("type") == "union_tag_invalid":
        msg = f"unknown field {err['input'].get('field')!r}; use one of {', '.join([*FIELDS, 'group'])}"
    elif err.get("type") == "union_tag_not_found":
        msg = "each condition needs a field"
    return f"{where}: {msg}"
