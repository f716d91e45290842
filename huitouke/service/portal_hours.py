"""The shop's service hours as the self-service page shows them, in the page's language: working weekdays
(runs of days joined: "Monday to Friday"), the working periods of a day, the time zone, whether public holidays
are off, and whether the team works right now or when it starts again (from the shop's business calendar)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from huitouke.orders.models import Shop
from huitouke.service.calendar import is_working_time, next_working_instant, parse_period
from huitouke.service.selectors import calendar_for_shop, calendar_settings


@dataclass(frozen=True)
class ServiceHours:
    days: str
    periods: str
    timezone: str
    holidays_off: bool
    open_now: bool
    next_open: str


def _chinese() -> bool:
    return (get_language() or "").lower().startswith("zh")


def weekday_runs(days: Sequence[int]) -> list[tuple[int, int]]:
    """ISO weekdays grouped into runs of consecutive days: [1, 2, 3, 5, 6] -> [(1, 3), (5, 6)]."""
    runs: list[tuple[int, int]] = []
    for day in sorted(set(days)):
        if runs and day == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _day(iso: int) -> str:
    return str(WEEKDAYS[iso - 1])


def format_days(days: Sequence[int]) -> str:
    sep = "、" if _chinese() else ", "
    parts = []
    for first, last in weekday_runs(days):
        if first == last:
            parts.append(_day(first))
        elif last == first + 1:
            parts.append(f"{_day(first)}{sep}{_day(last)}")
        else:
            parts.append(_("%(first)s to %(last)s") % {"first": _day(first), "last": _day(last)})
    return sep.join(parts)


def format_periods(periods: Sequence[str]) -> str:
    sep = "、" if _chinese() else ", "
    out = []
    for text in periods:
        start, end = parse_period(text)
        out.append(f"{start:%H:%M}–{'24:00' if end.hour == 0 and end.minute == 0 else f'{end:%H:%M}'}")
    return sep.join(out)


def service_hours(*, shop: Shop, now: datetime | None = None) -> ServiceHours:
    now = now or timezone.now()
    s = calendar_settings(shop=shop)
    cal = calendar_for_shop(shop=shop, around=now)
    open_now = is_working_time(cal, now)
    next_open = ""
    if not open_now:
        try:
            at = next_working_instant(cal, now).astimezone(ZoneInfo(s.timezone))
        except ValueError:
            at = None
        if at is not None:
            next_open = _("%(weekday)s %(date)s at %(time)s") % {
                "weekday": _day(at.isoweekday()),
                "date": f"{at.month}/{at.day}" if not _chinese() else f"{at.month}月{at.day}日",
                "time": f"{at:%H:%M}",
            }
    return ServiceHours(
        days=format_days(s.weekdays),
        periods=format_periods(s.periods),
        timezone=s.timezone,
        holidays_off=bool(s.public_holidays),
        open_now=open_now,
        next_open=next_open,
    )
