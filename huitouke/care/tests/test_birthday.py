"""Birthdays: solar with 29 February, lunar across 2026–2030 with a leap month and short months, the set of
dates of birth the selector looks up, and one occasion per year."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lunardate import LunarDate

from huitouke.care.triggers import birthday as bd
from huitouke.care.triggers.birthday import LUNAR, SOLAR


@pytest.mark.parametrize(
    ("year", "expected"),
    [(2026, date(2026, 2, 28)), (2027, date(2027, 2, 28)), (2028, date(2028, 2, 29)), (2100, date(2100, 2, 28))],
)
def test_29_february_is_celebrated_on_28_february_in_common_years(year, expected):
    assert bd.solar_birthday_in(date(2000, 2, 29), year) == expected
    assert bd.birthday_occasion(date(2000, 2, 29), SOLAR, expected) == str(year)
    assert bd.birthday_occasion(date(2000, 2, 29), SOLAR, expected + timedelta(days=1)) is None


def test_someone_born_on_28_february_is_not_greeted_twice_in_a_leap_year():
    assert bd.birthday_occasion(date(1999, 2, 28), SOLAR, date(2028, 2, 28)) == "2028"
    assert bd.birthday_occasion(date(1999, 2, 28), SOLAR, date(2028, 2, 29)) is None


def test_no_greeting_on_the_day_of_birth():
    assert bd.birthday_occasion(date(2026, 5, 17), SOLAR, date(2026, 5, 17)) is None
    assert bd.birthday_occasion(date(2026, 5, 17), LUNAR, date(2026, 5, 17)) is None
    assert bd.birthdays_in_year(date(2026, 5, 17), SOLAR, 2026) == []


# 1990-01-27 was the Spring Festival (lunar 1/1): the lunar birthday is every year's Spring Festival
SPRING_FESTIVAL_BORN = date(1990, 1, 27)
# 2009-06-23 was the 1st of the leap 5th month (闰五月); 2028 has a leap 5th month again
LEAP_FIFTH_BORN = date(2009, 6, 23)
# 1995-01-30 was lunar 1994/12/30 (除夕); most of 2025–2030's 12th months have only 29 days
DAY_30_BORN = date(1995, 1, 30)


@pytest.mark.parametrize(
    ("birth", "year", "expected"),
    [
        (SPRING_FESTIVAL_BORN, 2026, [(date(2026, 2, 17), "L2026")]),
        (SPRING_FESTIVAL_BORN, 2027, [(date(2027, 2, 6), "L2027")]),
        (SPRING_FESTIVAL_BORN, 2028, [(date(2028, 1, 26), "L2028")]),
        (SPRING_FESTIVAL_BORN, 2029, [(date(2029, 2, 13), "L2029")]),
        (SPRING_FESTIVAL_BORN, 2030, [(date(2030, 2, 3), "L2030")]),
        # leap-born: the ordinary 5th month in years without a leap 5th month, the leap month in 2028
        (LEAP_FIFTH_BORN, 2026, [(date(2026, 6, 15), "L2026")]),
        (LEAP_FIFTH_BORN, 2027, [(date(2027, 6, 5), "L2027")]),
        (LEAP_FIFTH_BORN, 2028, [(date(2028, 6, 23), "L2028")]),
        (LEAP_FIFTH_BORN, 2029, [(date(2029, 6, 12), "L2029")]),
        (LEAP_FIFTH_BORN, 2030, [(date(2030, 6, 1), "L2030")]),
        # born on the 30th: the 29th (the month's last day) when the month is short, the 30th in lunar 2029
        (DAY_30_BORN, 2026, [(date(2026, 2, 16), "L2025")]),
        (DAY_30_BORN, 2027, [(date(2027, 2, 5), "L2026")]),
        (DAY_30_BORN, 2028, [(date(2028, 1, 25), "L2027")]),
        (DAY_30_BORN, 2029, [(date(2029, 2, 12), "L2028")]),
        (DAY_30_BORN, 2030, [(date(2030, 2, 2), "L2029")]),
    ],
)
def test_lunar_birthdays_2026_to_2030(birth, year, expected):
    assert bd.birthdays_in_year(birth, LUNAR, year) == expected
    for day, occasion in expected:
        assert bd.birthday_occasion(birth, LUNAR, day) == occasion
        assert birth in bd.lunar_births_for(day)


def test_the_checked_dates_really_are_those_lunar_days():
    # the expectations above, read back through lunardate: independent of the module under test
    assert LunarDate.from_solar_date(2028, 6, 23) == LunarDate(2028, 5, 1, True)
    assert LunarDate.from_solar_date(2026, 6, 15) == LunarDate(2026, 5, 1, False)
    assert LunarDate.from_solar_date(2026, 2, 16) == LunarDate(2025, 12, 29, False)
    assert LunarDate.from_solar_date(2026, 2, 17) == LunarDate(2026, 1, 1, False)
    assert LunarDate.from_solar_date(2030, 2, 2) == LunarDate(2029, 12, 30, False)
    assert LunarDate.from_solar_date(1995, 1, 30) == LunarDate(1994, 12, 30, False)


def test_an_ordinary_5th_month_birth_is_not_celebrated_again_in_the_2028_leap_month():
    born = LunarDate(1990, 5, 1).to_solar_date()
    assert bd.birthdays_in_year(born, LUNAR, 2028) == [(date(2028, 5, 24), "L2028")]
    assert bd.birthday_occasion(born, LUNAR, date(2028, 6, 23)) is None


def test_a_solar_year_can_hold_two_lunar_birthdays_each_its_own_occasion():
    born = LunarDate(1990, 11, 13).to_solar_date()
    assert bd.birthdays_in_year(born, LUNAR, 2026) == [(date(2026, 1, 1), "L2025"), (date(2026, 12, 21), "L2026")]
    # born on lunar 12/1: two greetings in solar 2027, none in 2028 (lunar 2028's 12/1 is 2029-01-15)
    born = LunarDate(1990, 12, 1).to_solar_date()
    assert bd.birthdays_in_year(born, LUNAR, 2027) == [(date(2027, 1, 8), "L2026"), (date(2027, 12, 28), "L2027")]
    assert bd.birthdays_in_year(born, LUNAR, 2028) == []
    assert bd.birthdays_in_year(born, LUNAR, 2029) == [(date(2029, 1, 15), "L2028")]


def test_solar_births_for_28_february_of_a_common_year_include_29_february():
    assert bd.solar_births_for(date(2027, 2, 28)) == [(2, 28), (2, 29)]
    assert bd.solar_births_for(date(2028, 2, 28)) == [(2, 28)]
    assert bd.solar_births_for(date(2028, 2, 29)) == [(2, 29)]


def test_month_length_of_a_missing_leap_month_is_none():
    assert bd.month_length(2026, 5, True) is None
    assert bd.month_length(2028, 5, True) in (29, 30)
    assert bd.month_length(1899, 1) is None


def test_dates_outside_the_lunar_range_have_no_lunar_birthday():
    assert bd.birthday_occasion(date(1899, 5, 1), LUNAR, date(2026, 5, 1)) is None
    assert bd.lunar_births_for(date(2101, 1, 1)) == []
    assert bd.birthdays_in_year(date(1899, 5, 1), LUNAR, 2026) == []
    with pytest.raises(ValueError, match="range"):
        bd.to_lunar(date(1899, 12, 31))


births = st.dates(min_value=date(1901, 1, 1), max_value=date(2060, 12, 31))
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2098, 12, 31))


@settings(max_examples=300, deadline=None)
@given(births, days)
def test_the_selector_lookup_agrees_with_the_per_customer_rule(birth, day):
    """lunar_births_for(day) (what the database is asked) holds exactly the births celebrated on `day`."""
    first = bd.to_lunar(birth).year  # only that lunar birth year matters for this birth: keeps the test quick
    looked_up = birth in bd.lunar_births_for(day, first_year=first)
    assert looked_up == (bd.birthday_occasion(birth, LUNAR, day) is not None)


@settings(max_examples=200, deadline=None)
@given(births, st.integers(min_value=0, max_value=3))
def test_lunar_birthday_falls_in_the_birth_month_and_on_the_birth_day_or_the_months_last(birth, offset):
    """Independent oracle: read the celebrated day back through lunardate."""
    born = bd.to_lunar(birth)
    lunar_year = min(born.year + 1 + offset * 17, 2099)
    day = bd.lunar_birthday_in(born, lunar_year)
    assert day is not None
    seen = LunarDate.from_solar_date(day.year, day.month, day.day)
    assert (seen.year, seen.month) == (lunar_year, born.month)
    assert seen.day == born.day or (born.day == 30 and seen.day == 29)
    assert seen.is_leap_month == (born.leap and LunarDate.leap_month_for_year(lunar_year) == born.month)


@settings(max_examples=25, deadline=None)
@given(births, st.sampled_from([SOLAR, LUNAR]), st.integers(min_value=2026, max_value=2030))
def test_every_greeting_day_of_a_year_is_found_and_each_occasion_is_unique(birth, kind, year):
    scanned = []
    day = date(year, 1, 1)
    while day.year == year:
        occasion = bd.birthday_occasion(birth, kind, day)
        if occasion is not None:
            scanned.append((day, occasion))
        day += timedelta(days=1)
    assert scanned == bd.birthdays_in_year(birth, kind, year)
    assert len({o for _d, o in scanned}) == len(scanned)
    if kind == SOLAR:
        assert len(scanned) == (1 if year > birth.year else 0)
