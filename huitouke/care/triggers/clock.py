"""Shop time: "today" for a UTC instant, the UTC bounds of a shop-local day, and whether a rule's send time of
day has come. Pure: no ORM, no settings (the caller passes the shop's time-zone name).

Every "today" in care is the shop's local date: a tick at 23:59:59 Asia/Shanghai (15:59:59 UTC) still belongs
to that day, one at 00:00:01 to the next. Local days are half-open UTC intervals [start, end), so a moment on
the boundary belongs to exactly one day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

DEFAULT_TZ = "Asia/Shanghai"


@cache
def zone(name: str) -> ZoneInfo:
    """The time zone called `name` (e.g. "Asia/Shanghai"); raises ZoneInfoNotFoundError for an unknown one."""
    return ZoneInfo(name)


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("the instant needs a time zone (an aware datetime)")
    return at


def local_now(at: datetime, tz: str) -> datetime:
    """The instant `at` on the shop's wall clock."""
    return _aware(at).astimezone(zone(tz))


def local_today(at: datetime, tz: str) -> date:
    """The shop-local date of the instant `at`."""
    return local_now(at, tz).date()


def day_start(day: date, tz: str) -> datetime:
    """The first instant of the shop-local `day` (aware, in the shop's zone)."""
    return datetime.combine(day, time.min, tzinfo=zone(tz))


def day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    """[start, end) of the shop-local `day` in UTC; `end` is the next day's start (23 or 25 hours later on the
    days daylight saving time starts or ends)."""
    return day_start(day, tz).astimezone(UTC), day_start(day + timedelta(days=1), tz).astimezone(UTC)


def days_bounds(first: date, last: date, tz: str) -> tuple[datetime, datetime]:
    """[start of `first`, end of `last`) — every instant of the local days first…last."""
    if last < first:
        raise ValueError("the last day is before the first")
    return day_start(first, tz).astimezone(UTC), day_start(last + timedelta(days=1), tz).astimezone(UTC)


def at_local(day: date, clock: time, tz: str) -> datetime:
    """`clock` o'clock on the shop-local `day`, as an aware datetime."""
    return datetime.combine(day, clock, tzinfo=zone(tz))


def send_time_reached(at: datetime, tz: str, send_time: time | None) -> bool:
    """Whether a rule with this send time of day fires at `at`: from its send time until the end of the local
    day (so a tick that was missed at the exact minute still sends later that day); no send time = always."""
    if send_time is None:
        return True
    return local_now(at, tz).time() >= send_time


def parse_hhmm(text: str) -> time:
    """ "09:30" → time(9, 30). Raises ValueError naming what is wrong."""
    value = text.strip()
    parts = value.split(":")
    if len(parts) != 2 or not all(p.isdigit() and 1 <= len(p) <= 2 for p in parts):
        raise ValueError(f"{text!r} is not a time of day like 09:30")
    hour, minute = int(parts[0]), int(parts[1])
    if hour > 23 or minute > 59:
        raise ValueError(f"{text!r} is not a time of day like 09:30")
    return time(hour, minute)


_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def format_day(day: date, language: str, *, year: bool = True) -> str:
    """A day as a message says it: 2026年5月17日 / 5月17日 in Chinese, 17 May 2026 / 17 May in English."""
    if language.startswith("zh"):
        return f"{day.year}年{day.month}月{day.day}日" if year else f"{day.month}月{day.day}日"
    text = f"{day.day} {_MONTHS_EN[day.month - 1]}"
    return f"{text} {day.year}" if year else text
