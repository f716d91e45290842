"""Business calendar maths: hand-computed cases (国庆 with its 调休 days, a lunch break, a DST zone) and properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huitouke.service.calendar import (
    BusinessCalendar,
    CalendarError,
    add_business_minutes,
    add_business_time,
    business_minutes_between,
    business_seconds_between,
    business_time_between,
    calendar_build,
    format_period,
    is_working_day,
    is_working_time,
    next_working_instant,
    parse_period,
    public_holidays_for,
)

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
US = timedelta(microseconds=1)


def cn_calendar(**overrides):
    settings_ = {
        "timezone": "Asia/Shanghai",
        "periods": ["09:00-12:00", "13:30-18:00"],
        "weekdays": [1, 2, 3, 4, 5],
        "public_holidays": "CN",
        "years": [2025, 2026],
    }
    return calendar_build(**(settings_ | overrides))


CN = cn_calendar()
NY_CAL = calendar_build(
    timezone="America/New_York", periods=["09:00-17:00"], weekdays=range(1, 8), public_holidays=None
)
ROUND_THE_CLOCK_NY = calendar_build(
    timezone="America/New_York", periods=["00:00-24:00"], weekdays=range(1, 8), public_holidays=None
)


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SH)


# --- the library's holiday data ---------------------------------------------------------------------------------


def test_national_day_2025_and_its_makeup_days_come_from_the_library():
    days_off, makeup = public_holidays_for("CN", [2025])

    assert {d for d in days_off if d.month in (9, 10)} == {
        date(2025, 10, 1),
        date(2025, 10, 2),
        date(2025, 10, 3),
        date(2025, 10, 6),
        date(2025, 10, 7),
        date(2025, 10, 8),
    }
    assert makeup == {date(2025, 1, 26), date(2025, 2, 8), date(2025, 4, 27), date(2025, 9, 28), date(2025, 10, 11)}
    assert [is_working_day(CN, date(2025, 10, d)) for d in range(1, 12)] == [False] * 8 + [True, True, True]
    assert is_working_day(CN, date(2025, 9, 28))  # a Sunday worked to make up for 国庆
    assert not is_working_day(CN, date(2025, 9, 27))  # the Saturday before is an ordinary weekend


def test_makeup_days_only_for_the_years_asked_even_across_a_new_year():
    # 2002's New Year holiday was made up on 2001-12-29/30: asking for 2001 needs 2002's data, asking for 2002
    # must not bring 2001's dates along.
    assert public_holidays_for("CN", [2001])[1] >= {date(2001, 12, 29), date(2001, 12, 30)}
    assert all(d.year == 2002 for d in public_holidays_for("CN", [2002])[1])
    assert all(d.year == 2025 for d in public_holidays_for("CN", [2025])[0] | public_holidays_for("CN", [2025])[1])


def test_the_year_2025_has_248_working_days_of_seven_and_a_half_hours():
    minutes = business_minutes_between(CN, sh(2025, 1, 1), sh(2026, 1, 1))

    assert minutes == 248 * 450
    # adding the whole year's business time from the first working minute ends with the last one
    assert add_business_minutes(CN, sh(2025, 1, 2, 9), 248 * 450) == sh(2025, 12, 31, 18)


# --- hand-computed cases ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "minutes", "expected"),
    [
        # last working hour before 国庆, then nothing until Thursday 10-09
        (sh(2025, 9, 30, 17), 120, sh(2025, 10, 9, 10)),
        # Friday evening, then the make-up Sunday 09-28 (the Saturday is off)
        (sh(2025, 9, 26, 17, 30), 60, sh(2025, 9, 28, 9, 30)),
        # Friday 10-10, then the make-up Saturday 10-11
        (sh(2025, 10, 10, 17), 120, sh(2025, 10, 11, 10)),
        # created during the holiday: the clock starts on the first working morning
        (sh(2025, 10, 3, 15), 30, sh(2025, 10, 9, 9, 30)),
        # a lunch break is skipped
        (sh(2025, 9, 22, 11, 30), 60, sh(2025, 9, 22, 14)),
        # exactly used up at a period's end: the result is the end, not the next start
        (sh(2025, 9, 22, 11), 60, sh(2025, 9, 22, 12)),
        (sh(2025, 9, 22, 17), 60, sh(2025, 9, 22, 18)),
        # starting in the lunch break or at a period's end
        (sh(2025, 9, 22, 12, 10), 1, sh(2025, 9, 22, 13, 31)),
        (sh(2025, 9, 22, 12), 1, sh(2025, 9, 22, 13, 31)),
        # one working day and a bit: Monday 10:00 + 3 days and a half hour
        (sh(2025, 9, 22, 10), 1440, sh(2025, 9, 25, 11, 30)),
        # zero minutes is the start itself, even outside working time
        (sh(2025, 10, 1, 3, 4, 5), 0, sh(2025, 10, 1, 3, 4, 5)),
    ],
)
def test_add_business_minutes_across_national_day_and_lunch(start, minutes, expected):
    result = add_business_minutes(CN, start, minutes)

    assert result == expected
    assert result.tzinfo is UTC
    assert business_minutes_between(CN, start, result) == minutes


@pytest.mark.parametrize(
    ("a", "b", "minutes"),
    [
        (sh(2025, 9, 30, 9), sh(2025, 10, 9, 9), 450),
        (sh(2025, 9, 29), sh(2025, 10, 13), 5 * 450),  # 09-29, 09-30, 10-09, 10-10, 10-11 (make-up Saturday)
        (sh(2025, 9, 27), sh(2025, 9, 29), 450),  # the make-up Sunday only
        (sh(2025, 9, 22, 11, 59), sh(2025, 9, 22, 13, 31), 2),
        (sh(2025, 9, 22, 12, 30), sh(2025, 9, 22, 13), 0),
        (sh(2025, 10, 9, 9), sh(2025, 9, 30, 9), -450),
    ],
)
def test_business_minutes_between(a, b, minutes):
    assert business_minutes_between(CN, a, b) == minutes
    assert business_seconds_between(CN, a, b) == minutes * 60


def test_between_is_exact_to_the_microsecond():
    a = sh(2025, 9, 22, 9, 0, 0)
    b = a + timedelta(seconds=1, microseconds=7)

    assert business_time_between(CN, a, b) == timedelta(seconds=1, microseconds=7)
    assert add_business_time(CN, sh(2025, 9, 22, 11, 59, 59), timedelta(seconds=2)) == sh(2025, 9, 22, 13, 30, 1)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (sh(2025, 9, 22, 9), sh(2025, 9, 22, 9)),
        (sh(2025, 9, 22, 10, 15, 1), sh(2025, 9, 22, 10, 15, 1)),
        (sh(2025, 9, 22, 12), sh(2025, 9, 22, 13, 30)),  # a period's end is outside working time
        (sh(2025, 9, 22, 12, 15), sh(2025, 9, 22, 13, 30)),
        (sh(2025, 9, 30, 18), sh(2025, 10, 9, 9)),
        (sh(2025, 10, 1, 10), sh(2025, 10, 9, 9)),
        (sh(2025, 9, 27, 8), sh(2025, 9, 28, 9)),
    ],
)
def test_next_working_instant(at, expected):
    assert next_working_instant(CN, at) == expected
    assert is_working_time(CN, expected)


def test_shop_days_off_and_workdays_override_weekdays_holidays_and_makeup_days():
    cal = cn_calendar(
        days_off=[date(2025, 9, 29), date(2025, 9, 28)],  # a Monday, and the public make-up Sunday
        workdays=[date(2025, 10, 8), date(2025, 10, 4)],  # a public holiday, and a Saturday in the holiday
    )

    assert not is_working_day(cal, date(2025, 9, 29))
    assert not is_working_day(cal, date(2025, 9, 28))
    assert is_working_day(cal, date(2025, 10, 8))
    assert is_working_day(cal, date(2025, 10, 4))
    assert is_working_day(cal, date(2025, 10, 11))  # the other make-up day stays
    # Friday 09-26 17:00 + 60: 30 min on Friday, nothing on 09-28/29 now, then Tuesday 09-30
    assert add_business_minutes(cal, sh(2025, 9, 26, 17, 30), 60) == sh(2025, 9, 30, 9, 30)
    assert add_business_minutes(cal, sh(2025, 9, 30, 17), 120) == sh(2025, 10, 4, 10)


def test_weekdays_setting_and_no_public_holidays():
    cal = cn_calendar(weekdays=[1, 2, 3, 4, 5, 6], public_holidays=None)

    assert is_working_day(cal, date(2025, 10, 1))  # no public holidays
    assert is_working_day(cal, date(2025, 10, 4))  # Saturdays work
    assert not is_working_day(cal, date(2025, 10, 5))
    assert not is_working_day(cal, date(2025, 9, 28))  # no make-up days without the public set
    assert add_business_minutes(cal, sh(2025, 10, 4, 17), 120) == sh(2025, 10, 6, 10)


# --- a daylight-saving zone ---------------------------------------------------------------------------------------


def ny(year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, fold: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NY, fold=fold)


def test_new_york_office_hours_across_the_spring_change():
    # Saturday 16:00 EST (21:00Z) + 120: one hour on Saturday, then Sunday 09:00-10:00 EDT (13:00-14:00Z)
    result = add_business_minutes(NY_CAL, ny(2025, 3, 8, 16), 120)

    assert result == datetime(2025, 3, 9, 14, tzinfo=UTC)
    assert business_minutes_between(NY_CAL, ny(2025, 3, 8), ny(2025, 3, 10)) == 16 * 60


def test_new_york_round_the_clock_days_are_23_and_25_hours_long_on_change_days():
    assert business_minutes_between(ROUND_THE_CLOCK_NY, ny(2025, 3, 9), ny(2025, 3, 10)) == 23 * 60
    assert business_minutes_between(ROUND_THE_CLOCK_NY, ny(2025, 11, 2), ny(2025, 11, 3)) == 25 * 60
    assert add_business_minutes(ROUND_THE_CLOCK_NY, ny(2025, 3, 9, 1, 30), 60) == ny(2025, 3, 9, 3, 30)


def test_periods_touching_the_missing_and_the_repeated_hour():
    cal = calendar_build(
        timezone="America/New_York", periods=["01:00-02:30", "03:00-04:00"], weekdays=range(1, 8), public_holidays=None
    )

    # spring: 02:00-03:00 does not exist, so the first period ends at 03:00 EDT (07:00Z) and meets the second
    assert business_minutes_between(cal, ny(2025, 3, 9), ny(2025, 3, 10)) == 120
    assert add_business_minutes(cal, ny(2025, 3, 9), 60) == datetime(2025, 3, 9, 7, tzinfo=UTC)
    # autumn: 01:00 EDT (05:00Z) to 02:30 EST (07:30Z) is two and a half real hours
    assert business_minutes_between(cal, ny(2025, 11, 2), ny(2025, 11, 3)) == 150 + 60
    # the repeated 01:30 (EST, 06:30Z) is inside the long first period (aware datetimes with fold=1 never compare
    # equal across zones, hence the UTC)
    second_half_past_one = ny(2025, 11, 2, 1, 30, fold=1).astimezone(UTC)
    assert second_half_past_one == datetime(2025, 11, 2, 6, 30, tzinfo=UTC)
    assert next_working_instant(cal, second_half_past_one) == second_half_past_one


# --- settings validation ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone", "unknown time zone"),
        ({"timezone": ""}, "timezone", "required"),
        ({"periods": []}, "periods", "at least one"),
        ({"periods": "09:00-12:00"}, "periods", "list"),
        ({"periods": ["9-12"]}, "periods[0]", "not a period"),
        ({"periods": ["09:00-12:00", "13:30-25:00"]}, "periods[1]", "impossible"),
        ({"periods": ["09:00-12:60"]}, "periods[0]", "impossible"),
        ({"periods": ["12:00-09:00"]}, "periods[0]", "not before"),
        ({"periods": ["09:00-09:00"]}, "periods[0]", "not before"),
        ({"periods": ["13:30-18:00", "09:00-12:00"]}, "periods[1]", "in order"),
        ({"periods": ["09:00-12:00", "11:00-13:00"]}, "periods[1]", "overlap"),
        ({"weekdays": [0, 1]}, "weekdays", "ISO weekday"),
        ({"weekdays": [8]}, "weekdays", "ISO weekday"),
        ({"weekdays": [True]}, "weekdays", "ISO weekday"),
        ({"weekdays": []}, "weekdays", "at least one"),
        ({"public_holidays": "US"}, "public_holidays", "unknown holiday set"),
        ({"years": [1900]}, "years", "1950"),
        ({"days_off": ["2025-10-01"]}, "days_off", "not a date"),
        ({"workdays": [datetime(2025, 10, 1)]}, "workdays", "not a date"),
        ({"days_off": [date(2025, 10, 1)], "workdays": [date(2025, 10, 1)]}, "workdays", "also listed in days_off"),
    ],
)
def test_bad_settings_name_the_field(overrides, field, fragment):
    with pytest.raises(CalendarError, match=fragment) as caught:
        cn_calendar(**overrides)

    assert caught.value.field == field
    assert isinstance(caught.value, ValueError)


def test_periods_can_run_to_midnight_and_round_trip_as_text():
    assert parse_period("18:00-24:00") == (time(18), time(0))
    assert format_period(parse_period("18:00-24:00")) == "18:00-24:00"
    assert format_period(parse_period(" 9:05 - 12:30 ")) == "09:05-12:30"
    cal = cn_calendar(periods=["00:00-24:00"], public_holidays=None, weekdays=[1])
    assert business_minutes_between(cal, sh(2025, 9, 22), sh(2025, 9, 29)) == 24 * 60


def test_naive_datetimes_and_negative_minutes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_minutes(CN, datetime(2025, 9, 22, 9), 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        business_minutes_between(CN, sh(2025, 9, 22), datetime(2025, 9, 23))
    with pytest.raises(ValueError, match=">= 0"):
        add_business_minutes(CN, sh(2025, 9, 22), -1)
    with pytest.raises(ValueError, match="negative"):
        add_business_time(CN, sh(2025, 9, 22), timedelta(seconds=-1))


def test_a_calendar_without_working_time_fails_clearly_instead_of_looping():
    mondays = frozenset(date(2025, 1, 6) + timedelta(weeks=w) for w in range(120))
    cal = BusinessCalendar(tz=SH, periods=((time(9), time(17)),), weekdays=frozenset({1}), holidays=mondays)

    with pytest.raises(ValueError, match="no working time in the 366 days"):
        add_business_minutes(cal, sh(2025, 1, 1), 1)
    with pytest.raises(ValueError, match="no working time in the 366 days"):
        next_working_instant(cal, sh(2025, 1, 1))
    assert business_minutes_between(cal, sh(2025, 1, 1), sh(2026, 1, 1)) == 0
    # once the listed days off run out the Mondays work again
    assert add_business_minutes(cal, sh(2027, 4, 1), 1) == sh(2027, 4, 26, 9, 1)  # the last one off is 04-19


def test_days_start_when_the_zone_says_even_if_midnight_does_not_exist():
    santiago = ZoneInfo("America/Santiago")
    cal = calendar_build(
        timezone="America/Santiago", periods=["00:00-02:00"], weekdays=range(1, 8), public_holidays=None
    )

    # 2025-09-07: clocks jump from 00:00 to 01:00, so the day starts at 01:00 (04:00Z) and its period lasts an hour
    day = datetime(2025, 9, 7, 1, tzinfo=santiago)
    assert day == datetime(2025, 9, 7, 4, tzinfo=UTC)
    assert business_minutes_between(cal, day - timedelta(hours=2), day + timedelta(hours=3)) == 60
    assert business_minutes_between(cal, datetime(2025, 9, 6, tzinfo=santiago), day) == 120
    assert next_working_instant(cal, datetime(2025, 9, 6, 23, 30, tzinfo=santiago)) == day
    assert is_working_time(cal, day)
    assert not is_working_time(cal, datetime(2025, 9, 7, 2, tzinfo=santiago))


def test_instants_at_the_ends_of_time_fail_with_a_clear_error():
    far = datetime(9999, 12, 31, 12, tzinfo=UTC)

    with pytest.raises(ValueError, match="supported range"):
        add_business_minutes(CN, far, 1)
    with pytest.raises(ValueError, match="supported range"):
        business_minutes_between(CN, datetime(1, 1, 1, 12, tzinfo=UTC), sh(2025, 1, 1))
    with pytest.raises(CalendarError, match="at most 50 years"):
        cn_calendar(years=range(10**9))


def test_far_apart_questions_reuse_and_rebuild_the_running_totals():
    cal = cn_calendar(public_holidays=None)

    assert business_minutes_between(cal, sh(2026, 1, 5), sh(2026, 1, 12)) == 5 * 450  # index built in 2026
    assert business_minutes_between(cal, sh(2024, 1, 1), sh(2024, 1, 8)) == 5 * 450  # extended backwards
    assert business_minutes_between(cal, sh(2095, 1, 3), sh(2095, 1, 10)) == 5 * 450  # too far: rebuilt there
    assert business_minutes_between(cal, sh(2024, 1, 1), sh(2024, 1, 8)) == 5 * 450
    assert add_business_minutes(cal, sh(1990, 1, 1, 9), 450 * 5) == sh(1990, 1, 5, 18)
    with pytest.raises(ValueError, match="at most"):
        business_minutes_between(cal, sh(1960, 1, 1), sh(2090, 1, 1))


# --- properties ---------------------------------------------------------------------------------------------------

CALENDARS = [
    CN,
    NY_CAL,
    cn_calendar(periods=["08:00-08:01", "08:30-11:45", "23:00-24:00"], weekdays=[2, 4, 6], days_off=[date(2025, 3, 6)]),
    calendar_build(
        timezone="America/New_York", periods=["01:00-02:30", "03:00-04:00"], weekdays=range(1, 8), public_holidays=None
    ),
    # Chile moves its clocks at midnight: some local days start at 01:00 or see 23:00 twice
    calendar_build(
        timezone="America/Santiago", periods=["00:00-00:30", "22:00-24:00"], weekdays=[1, 3, 6, 7], public_holidays=None
    ),
]
calendars = st.sampled_from(CALENDARS)
instants = st.datetimes(min_value=datetime(2024, 12, 1), max_value=datetime(2026, 11, 30), timezones=st.just(UTC))
minutes = st.integers(min_value=0, max_value=40 * 450)
PROPS = settings(max_examples=150, deadline=None)


@PROPS
@given(calendars, instants, minutes, minutes)
def test_adding_is_monotone_in_minutes(cal, start, a, b):
    lo, hi = sorted((a, b))

    assert add_business_minutes(cal, start, lo) <= add_business_minutes(cal, start, hi)


@PROPS
@given(calendars, instants, instants, minutes)
def test_adding_is_monotone_in_the_start(cal, s1, s2, n):
    lo, hi = sorted((s1, s2))

    assert add_business_minutes(cal, lo, n) <= add_business_minutes(cal, hi, n)


@PROPS
@given(calendars, instants, minutes, minutes)
def test_adding_is_additive(cal, start, a, b):
    assert add_business_minutes(cal, add_business_minutes(cal, start, a), b) == add_business_minutes(cal, start, a + b)


@PROPS
@given(calendars, instants, st.integers(min_value=1, max_value=40 * 450))
def test_a_positive_amount_lands_in_working_time_at_the_earliest_instant(cal, start, n):
    result = add_business_minutes(cal, start, n)

    assert result > start
    # the minute just done was working time: the result is inside a period or exactly at its end
    assert is_working_time(cal, result - US)
    # and not one microsecond earlier would do
    assert business_time_between(cal, start, result - US) < timedelta(minutes=n)


@PROPS
@given(calendars, instants, minutes)
def test_between_undoes_adding(cal, start, n):
    assert business_minutes_between(cal, start, add_business_minutes(cal, start, n)) == n


@PROPS
@given(calendars, instants, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20)))
def test_between_undoes_adding_to_the_microsecond(cal, start, amount):
    assert business_time_between(cal, start, add_business_time(cal, start, amount)) == amount


@PROPS
@given(calendars, instants, instants, instants)
def test_between_is_additive_and_antisymmetric(cal, a, b, c):
    ab, bc, ac = (business_time_between(cal, x, y) for x, y in ((a, b), (b, c), (a, c)))

    assert ab + bc == ac
    assert business_time_between(cal, b, a) == -ab
    assert abs(ab) <= abs(b - a)


@PROPS
@given(calendars, instants)
def test_next_working_instant_is_working_and_skips_no_business_time(cal, at):
    found = next_working_instant(cal, at)

    assert found >= at
    assert is_working_time(cal, found)
    assert business_time_between(cal, at, found) == timedelta(0)
    assert (found == at) == is_working_time(cal, at)


def reference_between(cal: BusinessCalendar, a: datetime, b: datetime) -> timedelta:
    """Straightforward day-by-day sum, for zones without DST."""
    total = timedelta(0)
    day = a.astimezone(cal.tz).date() - timedelta(days=1)
    while day <= b.astimezone(cal.tz).date():
        if is_working_day(cal, day):
            for start, end in cal.periods:
                s = datetime.combine(day, start, tzinfo=cal.tz)
                e = datetime.combine(day + timedelta(days=1) if end == time(0) else day, end, tzinfo=cal.tz)
                overlap = min(e, b) - max(s, a)
                total += max(overlap, timedelta(0))
        day += timedelta(days=1)
    return total


@PROPS
@given(st.sampled_from([CALENDARS[0], CALENDARS[2]]), instants, st.timedeltas(timedelta(0), timedelta(days=60)))
def test_between_agrees_with_a_day_by_day_reference(cal, a, span):
    assert business_time_between(cal, a, a + span) == reference_between(cal, a, a + span)
