"""Each trigger's parameters: a typed schema with defaults (pydantic), validated when a rule is saved and again
when it runs. Pure: no ORM. Errors name the parameter: `params.days: Input should be greater than or equal to 1`.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from huitouke.care.triggers import festivals

Days = Annotated[int, Field(ge=1, le=3650)]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PaidTodayParams(_Params):
    """Customers whose payment came in today (shop time): one message per customer and day."""


class UnpaidReminderParams(_Params):
    """Orders created and still unpaid `after_minutes` after they were placed, reminded once each, but only
    before the platform closes them (`close_after_minutes` after they were placed)."""

    after_minutes: int = Field(default=30, ge=5, le=10080)
    close_after_minutes: int = Field(default=1440, ge=10, le=20160)

    @model_validator(mode="after")
    def _window(self) -> UnpaidReminderParams:
        if self.close_after_minutes <= self.after_minutes:
            raise ValueError("close_after_minutes must be more than after_minutes")
        return self


class ShippedParams(_Params):
    """Orders shipped within the last `lookback_hours` (so a tick that was missed still catches them)."""

    lookback_hours: int = Field(default=24, ge=1, le=168)


class DeliveredFollowupParams(_Params):
    """Orders delivered (or confirmed, with after=confirmed) `days` days ago: ask about satisfaction and for a
    review (先发制人)."""

    days: int = Field(default=3, ge=0, le=60)
    after: str = Field(default="delivered", pattern="^(delivered|confirmed)$")


class UnconfirmedReceiptParams(_Params):
    """Orders received `days` days ago (delivered, or shipped + the carrier's usual transit days) and still
    not confirmed."""

    days: int = Field(default=7, ge=1, le=60)


class BirthdayParams(_Params):
    """Customers whose birthday (solar or lunar) is today, or `days_ahead` days from today."""

    days_ahead: int = Field(default=0, ge=0, le=30)


class NoContactParams(_Params):
    """Customers nobody has contacted (message sent, note written, purchase) for `days` days."""

    days: Days = 30


class DormantParams(_Params):
    """Customers whose last purchase was `days` or more days ago (and, with `max_days`, at most that many):
    one win-back per customer per dormant spell."""

    days: Days = 180
    max_days: Days | None = None

    @model_validator(mode="after")
    def _range(self) -> DormantParams:
        if self.max_days is not None and self.max_days < self.days:
            raise ValueError("max_days must not be less than days")
        return self


class LevelUpParams(_Params):
    """Customers whose member level went up within the last `lookback_hours`. A first level reached by a new
    member counts only with `include_joins`; `levels` limits the greeting to reaching those levels."""

    lookback_hours: int = Field(default=24, ge=1, le=168)
    include_joins: bool = False
    levels: list[Annotated[str, Field(min_length=1, max_length=32)]] = []


class HolidayParams(_Params):
    """Holiday greetings, `days_before` the holiday, to every customer (or those who bought within
    `bought_within_days`)."""

    holidays: list[str] = Field(default_factory=lambda: list(festivals.HOLIDAYS), min_length=1)
    days_before: int = Field(default=0, ge=0, le=30)
    bought_within_days: Days | None = None

    @model_validator(mode="after")
    def _known(self) -> HolidayParams:
        unknown = [h for h in self.holidays if h not in festivals.HOLIDAYS]
        if unknown:
            raise ValueError(f"unknown holiday {unknown[0]!r}; choose from {', '.join(festivals.HOLIDAYS)}")
        return self


class ReplenishmentParams(_Params):
    """Remind `lead_days` before a product's repurchase cycle ends. `cycles` sets a product's cycle by hand
    ({"product id": days}); learned cycles need `min_samples` repeat intervals; `products` limits the rule."""

    lead_days: int = Field(default=3, ge=0, le=90)
    min_samples: int = Field(default=3, ge=1, le=10000)
    cycles: dict[str, Annotated[int, Field(ge=1, le=1000)]] = {}
    products: list[int] = []

    @model_validator(mode="after")
    def _ids(self) -> ReplenishmentParams:
        bad = [k for k in self.cycles if not k.isdigit()]
        if bad:
            raise ValueError(f"cycles: {bad[0]!r} is not a product id")
        return self


class NewProductParams(_Params):
    """Announce the listed products (marked new) once each, to the customers who asked for new-product news
    (opt_in_only) or to everyone in the rule's audience. An enabled rule needs at least one product."""

    products: list[int] = Field(default_factory=list, max_length=50)
    opt_in_only: bool = True


PARAMS: dict[str, type[_Params]] = {
    "paid_today": PaidTodayParams,
    "unpaid_reminder": UnpaidReminderParams,
    "shipped": ShippedParams,
    "delivered_followup": DeliveredFollowupParams,
    "unconfirmed_receipt": UnconfirmedReceiptParams,
    "birthday": BirthdayParams,
    "no_contact": NoContactParams,
    "dormant": DormantParams,
    "level_up": LevelUpParams,
    "holiday": HolidayParams,
    "replenishment": ReplenishmentParams,
    "new_product": NewProductParams,
}


class ParamsError(ValueError):
    """The parameters do not fit the trigger; `messages` name each parameter (`params.days: …`)."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


def parse_params(trigger: str, params: Any) -> _Params:
    """Validate `params` for `trigger`; raises ParamsError naming the parameter (or the trigger when unknown)."""
    schema = PARAMS.get(trigger)
    if schema is None:
        raise ParamsError([f"trigger: unknown trigger {trigger!r}; choose from {', '.join(PARAMS)}"])
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ParamsError(["params: expected an object of parameters"])
    try:
        return schema.model_validate(params)
    except ValidationError as exc:
        messages = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            msg = str(err["msg"]).removeprefix("Value error, ")
            messages.append(f"params.{where}: {msg}" if where else f"params: {msg}")
        raise ParamsError(messages) from None


def normalised(trigger: str, params: Any) -> dict[str, Any]:
    """The parameters with every default filled in (what a rule stores)."""
    return parse_params(trigger, params).model_dump(mode="json")
