"""Birthdays, solar or lunar (农历), and the yearly occasion on which each is celebrated. Pure: no ORM.

The archive keeps the real date of birth (`Customer.birthday`, a solar date) and whether the customer keeps
their birthday by the lunar calendar (`birthday_calendar`).

Solar: the same month and day every year; someone born on 29 February celebrates on 28 February in years that
have no 29 February. The occasion is the solar year ("2026").

Lunar: the date of birth is converted to its lunar month and day (with lunardate, which covers 1900–2099).
The birthday in a lunar year is the solar date, in that year, of that lunar month and day:

- born in a leap month (闰月): celebrated in that leap month in years that have the same leap month, and in the
  ordinary month of the same number otherwise (the common custom);
- born on day 30 of a month that has only 29 days in a given year: celebrated on day 29, the month's last day;
- the occasion is the lunar year ("L2026"), not the solar year: a lunar year is ~354 days, so now and then a
  solar year holds two lunar birthdays of one person (one in early January, one in late December) and each is
  celebrated once; some solar years hold none.

No one is greeted on the day they were born: the first birthday is the one in the following (solar or lunar) year.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from lunardate import LunarDate

SOLAR, LUNAR = "solar", "lunar"
#: lunardate's range: lunar years 1900 to 2099 (solar 1900-01-31 to 2100-02-08)
LUNAR_FIRST_YEAR, LUNAR_LAST_YEAR = 1900, 2099
_LUNAR_FIRST_DAY = date(1900, 1, 31)
_LUNAR_LAST_DAY = LunarDate(LUNAR_LAST_YEAR, 12, 1).to_solar_date() + timedelta(days=28)


@dataclass(frozen=True)
class LunarDay:
    """A day of the lunar calendar: year, month (1–12), day (1–30) and whether the month is a leap month."""

    year: int
    month: int
    day: int
    leap: bool = False


def in_lunar_range(day: date) -> bool:
    """Whether lunardate can convert this solar date."""
    return _LUNAR_FIRST_DAY <= day <= _LUNAR_LAST_DAY


def to_lunar(day: date) -> LunarDay:
    """The lunar date of a solar date; raises ValueError outside 1900-01-31 … 2100."""
    if not in_lunar_range(day):
        raise ValueError(f"{day} is outside the lunar calendar's range (1900–2099)")
    lunar = LunarDate.from_solar_date(day.year, day.month, day.day)
    return LunarDay(lunar.year, lunar.month, lunar.day, bool(lunar.is_leap_month))


def leap_month_of(year: int) -> int | None:
    """The leap month of a lunar year (e.g. 6 for 2025), or None."""
    return LunarDate.leap_month_for_year(year)


def month_length(year: int, month: int, leap: bool = False) -> int | None:
    """Days (29 or 30) in a lunar month, or None when that month does not exist (a leap month the year lacks)."""
    if not LUNAR_FIRST_YEAR <= year <= LUNAR_LAST_YEAR:
        return None
    if leap and leap_month_of(year) != month:
        return None
    try:
        LunarDate(year, month, 30, leap).to_solar_date()
    except ValueError:
        return 29
    return 30


def to_solar(day: LunarDay) -> date | None:
    """The solar date of a lunar day, or None when that day does not exist."""
    try:
        return LunarDate(day.year, day.month, day.day, day.leap).to_solar_date()
    except ValueError:
        return None


def solar_birthday_in(birth: date, year: int) -> date:
    """The solar birthday in `year`: same month and day; 29 February becomes 28 February in common years."""
    if birth.month == 2 and birth.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return date(year, birth.month, birth.day)


def lunar_birthday_in(born: LunarDay, lunar_year: int) -> date | None:
    """The solar date of the lunar birthday of someone born on `born`, in lunar year `lunar_year` (see the
    module docstring for leap months and day 30). None when the year is outside lunardate's range."""
    if not LUNAR_FIRST_YEAR <= lunar_year <= LUNAR_LAST_YEAR:
        return None
    leap = born.leap and leap_month_of(lunar_year) == born.month
    length = month_length(lunar_year, born.month, leap)
    if length is None:  # cannot happen: the ordinary month always exists, the leap one was just checked
        return None
    return to_solar(LunarDay(lunar_year, born.month, min(born.day, length), leap))


def birthday_occasion(birth: date, calendar_kind: str, day: date) -> str | None:
    """The occasion ("2026" solar, "L2026" lunar) when `day` is this customer's birthday, else None."""
    if calendar_kind == LUNAR:
        if not (in_lunar_range(birth) and in_lunar_range(day)):
            return None
        lunar_year = to_lunar(day).year
        born = to_lunar(birth)
        if lunar_year <= born.year:
            return None
        return f"L{lunar_year}" if lunar_birthday_in(born, lunar_year) == day else None
    if day.year <= birth.year:
        return None
    return str(day.year) if solar_birthday_in(birth, day.year) == day else None


def birthdays_in_year(birth: date, calendar_kind: str, year: int) -> list[tuple[date, str]]:
    """Every (solar date, occasion) on which the customer is greeted within solar `year`: one for solar
    birthdays (none in the year of birth); zero, one or two for lunar ones."""
    if calendar_kind != LUNAR:
        return [(solar_birthday_in(birth, year), str(year))] if year > birth.year else []
    if not in_lunar_range(birth):
        return []
    born = to_lunar(birth)
    out = []
    for lunar_year in (year - 1, year):
        if lunar_year <= born.year:
            continue
        day = lunar_birthday_in(born, lunar_year)
        if day is not None and day.year == year:
            out.append((day, f"L{lunar_year}"))
    return out


def solar_births_for(day: date) -> list[tuple[int, int]]:
    """The (month, day) pairs of solar dates of birth celebrated on `day`: its own, plus 29 February on
    28 February of a common year."""
    pairs = [(day.month, day.day)]
    if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
        pairs.append((2, 29))
    return pairs


def lunar_births_for(day: date, *, first_year: int = LUNAR_FIRST_YEAR) -> list[date]:
    """Every solar date of birth (lunar birth year from `first_year`, before the lunar year of `day`) whose
    lunar birthday falls on `day`, in ascending order. This is what the birthday selector looks up, so the
    database compares dates instead of converting calendars (a few hundred dates per day)."""
    if not in_lunar_range(day):
        return []
    today = to_lunar(day)
    length = month_length(today.year, today.month, today.leap) or 29
    days = [29, 30] if today.day == length == 29 else [today.day]
    if today.leap:
        # this year has the leap month: only those born in a leap month of this number celebrate in it
        kinds = [True]
    elif leap_month_of(today.year) == today.month:
        # the ordinary month of a year that also has its leap twin: leap-born customers wait for the leap one
        kinds = [False]
    else:
        kinds = [False, True]
    births: list[date] = []
    for year in range(max(first_year, LUNAR_FIRST_YEAR), today.year):
        for leap in kinds:
            if leap and leap_month_of(year) != today.month:
                continue
            for d in days:
                solar = to_solar(LunarDay(year, today.month, d, leap))
                if solar is not None:
                    births.append(solar)
    return sorted(births)
