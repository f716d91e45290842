"""Pure member-level maths (会员等级): which level a customer qualifies for, what it takes to reach the next one,
whether a shop's level list is valid, and when a member may drop. No ORM, no settings.

Levels are given lowest first. A customer qualifies for a level when they meet its minimum paid amount OR its
minimum number of orders (seed 004: either one qualifies); they hold the highest level they qualify for.
Levels are referred to by their index in the list; ``None`` means "no level".
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal, Protocol

Downgrade = Literal["never", "review"]


class Thresholds(Protocol):
    """What the maths needs of a level: a LevelSpec, a Level row or anything with these attributes."""

    @property
    def name(self) -> str: ...
    @property
    def min_amount(self) -> Decimal: ...
    @property
    def min_orders(self) -> int: ...
    @property
    def discount(self) -> int: ...


@dataclass(frozen=True)
class LevelSpec:
    """One level as the owner defines it: discount is what the member pays out of 100 (95 = 9.5折)."""

    name: str
    min_amount: Decimal
    min_orders: int
    discount: int
    benefits: str = ""


@dataclass(frozen=True)
class LevelError:
    """One problem of a level list: the level's index (0 = lowest), the field, a readable (English) message, and
    for pages that word it in the reader's language, a `code` and the name of the level below (`below`)."""

    index: int
    field: str
    message: str
    code: str = ""
    below: str = ""

    @property
    def path(self) -> str:
        """The field as forms and the API name it: ``levels[1].min_orders``."""
        return f"levels[{self.index}].{self.field}"


@dataclass(frozen=True)
class Progress:
    """What it takes to reach the next level: either the amount OR the orders is enough."""

    next_index: int
    next_name: str
    amount_needed: Decimal
    orders_needed: int


def counts_towards_level(paid: Decimal, refund: Decimal) -> bool:
    """A paid order (one of Order.COUNTED) counts unless it was fully refunded; services run the same rule in SQL
    as `refund_amount = 0 OR refund_amount < paid_amount`."""
    return not refund or refund < paid


def qualifies(spec: Thresholds, amount: Decimal, orders: int) -> bool:
    """True when either threshold of `spec` is met."""
    return amount >= spec.min_amount or orders >= spec.min_orders


def qualifying_index(specs: Sequence[Thresholds], amount: Decimal, orders: int) -> int | None:
    """The index of the highest level whose amount OR order threshold is met; None if none is."""
    for i in range(len(specs) - 1, -1, -1):
        if qualifies(specs[i], amount, orders):
            return i
    return None


def qualifying_level(specs: Sequence[Thresholds], amount: Decimal, orders: int) -> Thresholds | None:
    """The highest level met (see `qualifying_index`), or None."""
    i = qualifying_index(specs, amount, orders)
    return None if i is None else specs[i]


#: the highest thresholds a level may have: what the columns hold, and far above any real customer (#14)
MAX_MIN_AMOUNT = Decimal("9999999999.99")
MAX_MIN_ORDERS = 1_000_000


def validate_levels(specs: Sequence[Thresholds]) -> list[LevelError]:
    """Every problem of a level list, lowest level first: names non-empty and unique, discount 1-100,
    thresholds not negative, not beyond MAX_MIN_AMOUNT / MAX_MIN_ORDERS, and strictly higher than those of the
    level below (both of them). Empty = valid."""
    errors: list[LevelError] = []
    seen: set[str] = set()
    for i, spec in enumerate(specs):
        name = spec.name.strip()
        label = name or f"level {i + 1}"
        if not name:
            errors.append(LevelError(i, "name", f"level {i + 1}: the name is empty", "name_empty"))
        elif name in seen:
            errors.append(
                LevelError(i, "name", f"level {i + 1}: the name {name} is used by a lower level", "name_taken")
            )
        seen.add(name)
        if not 1 <= spec.discount <= 100:
            errors.append(
                LevelError(i, "discount", f"{label}: the discount must be 1-100 (95 = 9.5折)", "discount_range")
            )
        if spec.min_amount < 0:
            errors.append(LevelError(i, "min_amount", f"{label}: the minimum amount must not be negative", "negative"))
        if spec.min_orders < 0:
            errors.append(LevelError(i, "min_orders", f"{label}: the minimum orders must not be negative", "negative"))
        if spec.min_amount > MAX_MIN_AMOUNT:
            errors.append(
                LevelError(i, "min_amount", f"{label}: the minimum amount must be at most {MAX_MIN_AMOUNT}", "too_high")
            )
        if spec.min_orders > MAX_MIN_ORDERS:
            errors.append(
                LevelError(i, "min_orders", f"{label}: the minimum orders must be at most {MAX_MIN_ORDERS}", "too_high")
            )
        if i:
            below = specs[i - 1]
            if spec.min_amount <= below.min_amount:
                errors.append(
                    LevelError(
                        i,
                        "min_amount",
                        f"{label}: the minimum amount must be higher than {below.name}'s",
                        "not_rising",
                        below.name,
                    )
                )
            if spec.min_orders <= below.min_orders:
                errors.append(
                    LevelError(
                        i,
                        "min_orders",
                        f"{label}: the minimum orders must be higher than {below.name}'s",
                        "not_rising",
                        below.name,
                    )
                )
    return errors


def progress(specs: Sequence[Thresholds], amount: Decimal, orders: int, *, held: int | None = None) -> Progress | None:
    """What the customer still needs for the level above the one they hold (`held`, else the one they qualify
    for): the amount still to spend and the orders still to place; either is enough. None at the top."""
    current = _higher(held, qualifying_index(specs, amount, orders))
    nxt = 0 if current is None else current + 1
    if nxt >= len(specs):
        return None
    spec = specs[nxt]
    return Progress(
        next_index=nxt,
        next_name=spec.name,
        amount_needed=max(Decimal(0), spec.min_amount - amount),
        orders_needed=max(0, spec.min_orders - orders),
    )


def level_after_regrade(held: int | None, qualifying: int | None) -> int | None:
    """A regrade only moves members up: they keep the higher of the level held and the level qualified for.
    Drops happen only at a review (`level_after_review`)."""
    return _higher(held, qualifying)


def level_after_review(
    held: int | None,
    qualifying: int | None,
    *,
    downgrade: Downgrade,
    grace_days: int,
    last_qualified_at: datetime | None,
    as_of: datetime,
) -> int | None:
    """The level after a periodic review. Upgrades always apply. With policy "never" nobody drops; with
    "review" a member who qualifies for less than they hold drops to what they qualify for, but only once
    `grace_days` have passed since they last qualified for the level they hold (unknown = passed)."""
    if downgrade == "never" or _order(qualifying) >= _order(held):
        return _higher(held, qualifying)
    if last_qualified_at is not None and not grace_passed(last_qualified_at, as_of, grace_days):
        return held
    return qualifying


def grace_passed(last_qualified_at: datetime, as_of: datetime, grace_days: int) -> bool:
    """True when at least `grace_days` days lie between the last qualification and `as_of`."""
    return last_qualified_at + timedelta(days=grace_days) <= as_of


def months_before(moment: datetime, months: int) -> datetime:
    """The same wall time `months` calendar months earlier, the day clamped to the month's end
    (31 May - 3 months = 28/29 Feb): where a rolling window of N months starts."""
    total = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(total, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _order(index: int | None) -> int:
    return -1 if index is None else index


def _higher(a: int | None, b: int | None) -> int | None:
    return a if _order(a) >= _order(b) else b


def same_thresholds(old: Sequence[Thresholds], new: Sequence[Thresholds]) -> bool:
    """True when both lists have the same thresholds level by level: renaming a level or changing its discount
    or benefits moves nobody, while any other change means every customer is graded afresh."""
    return len(old) == len(new) and all(
        a.min_amount == b.min_amount and a.min_orders == b.min_orders for a, b in zip(old, new, strict=True)
    )


Move = Literal["up", "down", "stay"]


def move(before: int | None, after: int | None) -> Move:
    """How a customer moves from the level held (`before`, None = none) to `after`."""
    if _order(after) > _order(before):
        return "up"
    if _order(after) < _order(before):
        return "down"
    return "stay"


def grace_ends(last_qualified_at: datetime | None, grace_days: int, now: datetime) -> datetime:
    """When a member who no longer qualifies loses the level at a review: `grace_days` after they last qualified
    (the first review from then on drops them); `now` when that is unknown or already past."""
    if last_qualified_at is None:
        return now
    return max(last_qualified_at + timedelta(days=grace_days), now)
