"""Holiday dates: lunar festivals by lunardate, checked against the holidays library; fixed days; greetings
ahead of the day."""

from __future__ import annotations

from datetime import date

import holidays as holidays_lib
import pytest

from huitouke.care.triggers import festivals as f


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (f.NEW_YEAR, date(2026, 1, 1)),
        (f.SPRING_FESTIVAL, date(2026, 2, 17)),
        (f.LANTERN, date(2026, 3, 3)),
        (f.DRAGON_BOAT, date(2026, 6, 19)),
        (f.SHOP_618, date(2026, 6, 18)),
        (f.QIXI, date(2026, 8, 19)),
        (f.MID_AUTUMN, date(2026, 9, 25)),
        (f.NATIONAL_DAY, date(2026, 10, 1)),
        (f.DOUBLE_11, date(2026, 11, 11)),
    ],
)
def test_the_2026_dates(key, expected):
    assert f.holiday_date(key, 2026) == expected


@pytest.mark.parametrize(
    ("year", "spring", "lantern", "qixi", "mid_autumn"),
    [
        (2027, date(2027, 2, 6), date(2027, 2, 20), date(2027, 8, 8), date(2027, 9, 15)),
        (2028, date(2028, 1, 26), date(2028, 2, 9), date(2028, 8, 26), date(2028, 10, 3)),
        (2029, date(2029, 2, 13), date(2029, 2, 27), date(2029, 8, 16), date(2029, 9, 22)),
        (2030, date(2030, 2, 3), date(2030, 2, 17), date(2030, 8, 5), date(2030, 9, 12)),
    ],
)
def test_lunar_festivals_2027_to_2030(year, spring, lantern, qixi, mid_autumn):
    assert f.holiday_date(f.SPRING_FESTIVAL, year) == spring
    assert f.holiday_date(f.LANTERN, year) == lantern
    assert f.holiday_date(f.QIXI, year) == qixi
    assert f.holiday_date(f.MID_AUTUMN, year) == mid_autumn


LIBRARY_NAMES = {
    f.SPRING_FESTIVAL: "Chinese New Year (Spring Festival)",
    f.DRAGON_BOAT: "Dragon Boat Festival",
    f.MID_AUTUMN: "Mid-Autumn Festival",
}


@pytest.mark.parametrize("key", list(LIBRARY_NAMES))
def test_lunardate_agrees_with_the_holidays_library_every_year_both_know(key):
    checked = 0
    for year in range(1950, 2100):
        found = holidays_lib.country_holidays("CN", years=year, language="en_US").get_named(
            LIBRARY_NAMES[key], lookup="exact"
        )
        if not found:
            continue  # the library adds 端午/中秋 as public holidays only from 2008
        assert f.holiday_date(key, year) == min(found), year
        checked += 1
    assert checked >= 90


def test_years_the_calendars_do_not_cover_have_no_date():
    assert f.holiday_date(f.SPRING_FESTIVAL, 2100) is None
    assert f.holiday_date(f.NATIONAL_DAY, 1940) is None
    with pytest.raises(KeyError):
        f.holiday_date("labour_day", 2026)


def test_greetings_days_before_the_holiday_name_the_holiday_day():
    assert f.holidays_on(date(2026, 2, 14), f.HOLIDAYS, days_before=3) == [(f.SPRING_FESTIVAL, date(2026, 2, 17))]
    assert f.holidays_on(date(2026, 2, 17), f.HOLIDAYS) == [(f.SPRING_FESTIVAL, date(2026, 2, 17))]
    assert f.holidays_on(date(2026, 2, 17), [f.NEW_YEAR]) == []
    assert f.holidays_on(date(2026, 5, 17), f.HOLIDAYS) == []
    # across the year end: 3 days before 元旦 2027
    assert f.holidays_on(date(2026, 12, 29), f.HOLIDAYS, days_before=3) == [(f.NEW_YEAR, date(2027, 1, 1))]


def test_two_holidays_on_one_day_are_both_greeted():
    # 2020: the Mid-Autumn Festival fell on National Day
    assert f.holidays_on(date(2020, 10, 1), f.HOLIDAYS) == [
        (f.MID_AUTUMN, date(2020, 10, 1)),
        (f.NATIONAL_DAY, date(2020, 10, 1)),
    ]


def test_each_holiday_is_one_occasion_per_year():
    assert f.occasion(f.SPRING_FESTIVAL, date(2026, 2, 17)) == "spring_festival:2026"
    every_day = [date.fromordinal(n) for n in range(date(2026, 1, 1).toordinal(), date(2027, 1, 1).toordinal())]
    found = [(k, d) for day in every_day for k, d in f.holidays_on(day, f.HOLIDAYS)]
    assert sorted(k for k, _d in found) == sorted(f.HOLIDAYS)  # each once in 2026
