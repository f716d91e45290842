"""Replenishment (回购提醒): remind a customer before they run out, i.e. before they start looking elsewhere
(the "re-evaluation" stage after a purchase). Pure: no ORM.

A product's repurchase cycle is the median of the intervals, in days, between one customer's consecutive
purchases of it (several purchases on one day count once), over all customers; it is only trusted once at
least `min_samples` intervals exist, and a shop can set a product's cycle by hand instead. The reminder goes
`lead_days` before the cycle ends: on last purchase + cycle − lead (at least one day after the purchase).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from itertools import pairwise


def median(values: Sequence[float]) -> float:
    """The median (the mean of the two middle values for an even count); raises ValueError when empty."""
    if not values:
        raise ValueError("the median of nothing")
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[mid])
    return (ordered[mid - 1] + ordered[mid]) / 2


def repeat_intervals(purchase_days: Iterable[date]) -> list[int]:
    """Days between one customer's consecutive purchases of one product (same-day purchases count once)."""
    days = sorted(set(purchase_days))
    return [(b - a).days for a, b in pairwise(days)]


def cycle_days(intervals: Sequence[float], *, min_samples: int = 3, override: int | None = None) -> int | None:
    """The repurchase cycle in whole days: the override when set, else the rounded median of the intervals
    when there are at least `min_samples` of them, else None (not enough data to remind)."""
    if override is not None:
        return override
    if len(intervals) < max(min_samples, 1):
        return None
    return max(round(median(intervals)), 1)


def cycle_from_median(
    median_days: float | None, samples: int, *, min_samples: int = 3, override: int | None = None
) -> int | None:
    """The same rule as cycle_days, from a median already computed over `samples` intervals."""
    if override is not None:
        return override
    if median_days is None or samples < max(min_samples, 1):
        return None
    return max(round(median_days), 1)


def offset_days(cycle: int, lead_days: int) -> int:
    """Days from the last purchase to the reminder: cycle − lead, at least 1."""
    return max(cycle - lead_days, 1)


def reminder_day(last_purchase: date, cycle: int, lead_days: int) -> date:
    """The day to remind a customer whose last purchase was on `last_purchase`."""
    return last_purchase + timedelta(days=offset_days(cycle, lead_days))


def last_purchase_day_due(today: date, cycle: int, lead_days: int) -> date:
    """The last-purchase day whose reminder is due `today` (the inverse of reminder_day)."""
    return today - timedelta(days=offset_days(cycle, lead_days))
