"""The three SLA clocks of a ticket computed from its facts (pure: no ORM).

A clock starts at an instant (the ticket's creation, or the customer's latest message for the next response),
runs for the policy's business minutes on the shop's calendar, and is stretched by every pause that ended after
it started (the business time spent waiting for the customer, or resolved before a reopen). A platform deadline
is a wall-clock limit: when it comes before the business due time it governs. The "breaching soon" instant is
when `soon_percent` of the clock's time is gone (business time; wall time when the platform deadline governs).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from huitouke.service.calendar import BusinessCalendar, add_business_time, business_time_between

Pause = tuple[datetime, datetime]


@dataclass(frozen=True)
class ClockTimes:
    due: datetime
    warn_at: datetime


def paused_business_time(cal: BusinessCalendar, pauses: Iterable[Pause], since: datetime) -> timedelta:
    """Business time inside the pauses, counting only the part after `since` (pauses may not overlap)."""
    total = timedelta(0)
    for start, end in pauses:
        start = max(start, since)
        if end > start:
            total += business_time_between(cal, start, end)
    return total


def clock_times(
    cal: BusinessCalendar,
    *,
    start: datetime,
    minutes: int,
    pauses: Sequence[Pause] = (),
    deadline: datetime | None = None,
    soon_percent: int = 80,
) -> ClockTimes:
    """Due time and breaching-soon instant of one clock (see the module docstring)."""
    if minutes < 1:
        raise ValueError("a clock runs for at least one business minute")
    if not 1 <= soon_percent <= 99:
        raise ValueError("soon_percent is 1 to 99")
    paused = paused_business_time(cal, pauses, start)
    span = timedelta(minutes=minutes)
    due = add_business_time(cal, start, span + paused)
    warn = add_business_time(cal, start, span * soon_percent / 100 + paused)
    if deadline is not None and deadline < due:
        due = deadline
        wall = max(deadline - start, timedelta(0))
        warn = min(warn, start + wall * soon_percent / 100)
    return ClockTimes(due=due, warn_at=min(warn, due))


def pauses_parse(raw: object) -> list[Pause]:
    """The ticket's stored pauses ([[iso, iso], …]) as datetime pairs; anything malformed is skipped."""
    out: list[Pause] = []
    if not isinstance(raw, list):
        return out
    for item in raw:
        if isinstance(item, list | tuple) and len(item) == 2:
            try:
                a, b = datetime.fromisoformat(str(item[0])), datetime.fromisoformat(str(item[1]))
            except ValueError:
                continue
            if a.tzinfo is not None and b.tzinfo is not None and b > a:
                out.append((a, b))
    return out
