"""The date maths of return visits (客户回访): which occasions a plan has on a given shop day, when a task falls
due, when a missed call is tried again, and how a day's tasks spread over agents with a daily capacity.
Pure: no ORM, no settings (callers pass the shop's time zone name).

Holidays, lunar ones included, come from care's calendar module (care/triggers/festivals.py) and shop-local days
from care's clock, so a visit before 中秋 falls on the same day care greets it.

Occasions (the third part of the exactly-once key (plan, customer, occasion)):
- after an order (delivery, first confirmation, every confirmation): ``order:<order id>``;
- after a resolved ticket: ``ticket:<ticket id>``;
- every N days: ``every:<period>``, the customer's N-day period, staggered by customer id so that a level's
  members do not all fall due on one day;
- before a holiday: ``<holiday>:<year>`` as care writes it (``mid_autumn:2026``);
- a one-off list: ``once``;
- a callback the agent promised: ``callback:<task id>``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from huitouke.care.triggers import clock, festivals

AFTER_DELIVERY = "after_delivery"
AFTER_FIRST_ORDER = "after_first_order_confirmed"
AFTER_EVERY_ORDER = "after_every_order"
EVERY_N_DAYS = "every_n_days"
BEFORE_HOLIDAY = "before_holiday"
AFTER_TICKET = "after_ticket_resolved"
ONE_OFF = "one_off"
TRIGGER_KINDS = (
    AFTER_DELIVERY,
    AFTER_FIRST_ORDER,
    AFTER_EVERY_ORDER,
    EVERY_N_DAYS,
    BEFORE_HOLIDAY,
    AFTER_TICKET,
    ONE_OFF,
)

#: A run that was missed (the worker was down) still creates the occasions of this many earlier days.
CATCH_UP_DAYS = 2
EPOCH = date(1970, 1, 1)
#: Holdout draws: a multiplicative hash of the customer id that SQL can compute the same way on both databases.
HOLDOUT_MODULUS = 10007
HOLDOUT_FACTOR = 7919


def epoch_day(day: date) -> int:
    """Days since 1970-01-01 (the day number the N-day periods are counted in)."""
    return (day - EPOCH).days


def event_window(today: date, days_after: int) -> tuple[date, date]:
    """The local days whose events (delivery, confirmation, resolution) fall due today when visits come
    `days_after` days later: today − N, and the CATCH_UP_DAYS before it (exactly once makes repeats harmless)."""
    if days_after < 0:
        raise ValueError("days_after must not be negative")
    last = today - timedelta(days=days_after)
    return last - timedelta(days=CATCH_UP_DAYS), last


def period_of(day: date, customer_id: int, every: int) -> int:
    """The customer's N-day period that `day` lies in; periods are staggered by customer id (id mod N)."""
    if every < 1:
        raise ValueError("every must be at least 1 day")
    return (epoch_day(day) + customer_id % every) // every


def period_started_within(day: date, customer_id: int, every: int, catch_up: int = CATCH_UP_DAYS) -> bool:
    """Whether the customer's current period began today or at most `catch_up` days ago (then it is due)."""
    return (epoch_day(day) + customer_id % every) % every <= min(catch_up, every - 1)


def periodic_occasion(day: date, customer_id: int, every: int) -> str:
    return f"every:{period_of(day, customer_id, every)}"


def holidays_due(today: date, keys: Iterable[str], days_before: int) -> list[tuple[str, date]]:
    """The holidays among `keys` whose visit day (holiday − N) is today or one of the CATCH_UP_DAYS before it,
    as long as the holiday itself has not passed. Lunar festivals come from care's calendar."""
    if days_before < 0:
        raise ValueError("days_before must not be negative")
    found: list[tuple[str, date]] = []
    for back in range(CATCH_UP_DAYS + 1):
        for key, holiday in festivals.holidays_on(today - timedelta(days=back), keys, days_before=days_before):
            if holiday >= today and (key, holiday) not in found:
                found.append((key, holiday))
    return found


def holiday_occasion(key: str, holiday: date) -> str:
    return festivals.occasion(key, holiday)


def in_quiet_hours(local: time, quiet_start: time | None, quiet_end: time | None) -> bool:
    """Whether a wall-clock time lies in [start, end); a window may run over midnight (21:00–09:00)."""
    if quiet_start is None or quiet_end is None or quiet_start == quiet_end:
        return False
    if quiet_start < quiet_end:
        return quiet_start <= local < quiet_end
    return local >= quiet_start or local < quiet_end


def next_allowed(at: datetime, tz: str, quiet_start: time | None, quiet_end: time | None) -> datetime:
    """The first instant at or after `at` outside the quiet hours (in the shop's zone), as an aware datetime."""
    local = clock.local_now(at, tz)
    if not in_quiet_hours(local.time(), quiet_start, quiet_end):
        return local
    assert quiet_end is not None  # in_quiet_hours is False without a window
    end_day = local.date() if local.time() < quiet_end else local.date() + timedelta(days=1)
    return clock.at_local(end_day, quiet_end, tz)


def day_due(day: date, tz: str, quiet_end: time | None) -> datetime:
    """When a task for a later shop day falls due: the end of the quiet hours that morning (or midnight)."""
    return clock.at_local(day, quiet_end or time(0, 0), tz)


def retry_at(at: datetime, hours: int, tz: str, quiet_start: time | None, quiet_end: time | None) -> datetime:
    """When a call nobody answered is tried again: `hours` later, moved out of the quiet hours."""
    if hours < 1:
        raise ValueError("the retry delay must be at least one hour")
    return next_allowed(at + timedelta(hours=hours), tz, quiet_start, quiet_end)


def may_retry(attempts_made: int, attempts_allowed: int) -> bool:
    """Whether another attempt is allowed after `attempts_made` unanswered ones."""
    return attempts_made < attempts_allowed


@dataclass(frozen=True)
class Slot:
    """Where the n-th new task of a run goes: the agent's position in the plan's list and the day offset."""

    agent: int
    day_offset: int


def slot(n: int, *, agents: int, capacity: int, used_today: int = 0, start: int = 0) -> Slot:
    """Where the n-th (0-based) new task of a run goes under round-robin over `agents` agents from position
    `start` with `capacity` tasks per agent per day (0 = unlimited): the agents take turns, and once the day's
    room (agents × capacity, less the `used_today` tasks they already have) is full the rest spill to the next
    day, the next, … The run's INSERT … SELECT computes the same formula in SQL."""
    if agents < 1:
        raise ValueError("a round-robin plan needs at least one agent")
    if n < 0 or capacity < 0 or used_today < 0:
        raise ValueError("n, capacity and used_today must not be negative")
    day = (used_today + n) // (agents * capacity) if capacity else 0
    return Slot((start + n) % agents, day)


def holdout_draw(seed: int, customer_id: int) -> int:
    """A number in [0, HOLDOUT_MODULUS) fixed by (seed, customer); SQL computes it with the same formula."""
    return (customer_id * HOLDOUT_FACTOR + seed) % HOLDOUT_MODULUS


def is_held_out(seed: int, customer_id: int, share: float) -> bool:
    """Whether the customer is held out of a plan with this holdout share (kept unvisited for comparison)."""
    return share > 0 and holdout_draw(seed, customer_id) < round(share * HOLDOUT_MODULUS)
