"""Holiday greetings: the dates of 元旦, 春节, 元宵, 端午, 七夕, 中秋, 国庆 and the shop events 618 and 双11.
Pure: no ORM, no settings.

No hand-written table of dates: the lunar festivals are lunar month/day rules converted by lunardate (春节 is
the 1st of the 1st month, 元宵 the 15th, 端午 5/5, 七夕 7/7, 中秋 8/15), 元旦 and 国庆 come from the `holidays`
library's Chinese calendar (its public holidays from 1950 on), and the shop events are the platforms' fixed
festival days (6月18日 and 11月11日). The tests check lunardate against the `holidays` library for every year
both know.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from functools import lru_cache

import holidays as holidays_lib
from lunardate import LunarDate

NEW_YEAR = "new_year"
SPRING_FESTIVAL = "spring_festival"
LANTERN = "lantern"
DRAGON_BOAT = "dragon_boat"
QIXI = "qixi"
MID_AUTUMN = "mid_autumn"
NATIONAL_DAY = "national_day"
SHOP_618 = "shop_618"
DOUBLE_11 = "double_11"

#: every holiday a rule can greet, in calendar order
HOLIDAYS = (NEW_YEAR, SPRING_FESTIVAL, LANTERN, DRAGON_BOAT, SHOP_618, QIXI, MID_AUTUMN, NATIONAL_DAY, DOUBLE_11)
#: how a greeting names each holiday ({date} in the templates), in the template's language: (Chinese, English)
HOLIDAY_NAMES = {
    NEW_YEAR: ("元旦", "the New Year"),
    SPRING_FESTIVAL: ("春节", "the Spring Festival"),
    LANTERN: ("元宵节", "the Lantern Festival"),
    DRAGON_BOAT: ("端午节", "the Dragon Boat Festival"),
    SHOP_618: ("618", "the 618 shopping festival"),
    QIXI: ("七夕", "Qixi, the Chinese Valentine's Day"),
    MID_AUTUMN: ("中秋节", "the Mid-Autumn Festival"),
    NATIONAL_DAY: ("国庆节", "National Day"),
    DOUBLE_11: ("双11", "the Double 11 shopping festival"),
}
#: the lunar festivals: (lunar month, day)
LUNAR_FESTIVALS = {SPRING_FESTIVAL: (1, 1), LANTERN: (1, 15), DRAGON_BOAT: (5, 5), QIXI: (7, 7), MID_AUTUMN: (8, 15)}
#: the two public holidays read from the holidays library: its English name of the first day
LIBRARY_HOLIDAYS = {NEW_YEAR: "New Year's Day", NATIONAL_DAY: "National Day"}
#: shop events on fixed solar days (month, day)
SHOP_EVENTS = {SHOP_618: (6, 18), DOUBLE_11: (11, 11)}


@lru_cache(maxsize=256)
def _china(year: int) -> holidays_lib.HolidayBase:
    return holidays_lib.country_holidays("CN", years=year, language="en_US")


def holiday_date(key: str, year: int) -> date | None:
    """The solar date of holiday `key` in `year`, or None when the calendars do not cover that year
    (lunardate: 1900–2099; the holidays library's China: from 1950). Raises KeyError for an unknown key."""
    if key in LUNAR_FESTIVALS:
        month, day = LUNAR_FESTIVALS[key]
        try:
            # months 1–8 of lunar year Y always fall within solar year Y
            return LunarDate(year, month, day).to_solar_date()
        except ValueError:
            return None
    if key in LIBRARY_HOLIDAYS:
        found = _china(year).get_named(LIBRARY_HOLIDAYS[key], lookup="exact")
        return min(found) if found else None
    if key in SHOP_EVENTS:
        month, day = SHOP_EVENTS[key]
        return date(year, month, day)
    raise KeyError(key)


def holidays_on(day: date, keys: Iterable[str], *, days_before: int = 0) -> list[tuple[str, date]]:
    """The holidays among `keys` greeted on `day` when greetings go out `days_before` days ahead: each as
    (key, the holiday's date). Usually none, sometimes two (中秋 fell on 国庆 in 2020)."""
    target = day + timedelta(days=days_before)
    return [(key, target) for key in keys if holiday_date(key, target.year) == target]


def holiday_name(key: str, language: str) -> str:
    """The holiday's name for a greeting in `language` (zh-hans or en)."""
    zh, en = HOLIDAY_NAMES[key]
    return zh if language.startswith("zh") else en


def occasion(key: str, holiday: date) -> str:
    """The occasion of one holiday greeting: the holiday and its year (e.g. "spring_festival:2026")."""
    return f"{key}:{holiday.year}"
