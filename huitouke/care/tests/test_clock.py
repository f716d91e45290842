"""Shop time: local days, their UTC bounds, the send time of day, HH:MM parsing."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huitouke.care.triggers import clock

SH = "Asia/Shanghai"


def test_a_tick_at_23_59_59_and_one_at_00_00_01_shanghai_pick_different_days():
    late = datetime(2026, 5, 17, 15, 59, 59, tzinfo=UTC)  # 23:59:59 in Shanghai
    early = datetime(2026, 5, 17, 16, 0, 1, tzinfo=UTC)  # 00:00:01 on the 18th
    assert clock.local_today(late, SH) == date(2026, 5, 17)
    assert clock.local_today(early, SH) == date(2026, 5, 18)


def test_the_utc_date_is_not_the_shop_date():
    # 01:00 UTC on the 17th is 09:00 in Shanghai on the 17th; 20:00 UTC on the 16th is already the 17th there
    assert clock.local_today(datetime(2026, 5, 16, 20, 0, tzinfo=UTC), SH) == date(2026, 5, 17)
    assert clock.local_today(datetime(2026, 5, 16, 20, 0, tzinfo=UTC), "UTC") == date(2026, 5, 16)


def test_day_bounds_in_shanghai_start_at_16_00_utc_the_day_before():
    start, end = clock.day_bounds(date(2026, 5, 17), SH)
    assert start == datetime(2026, 5, 16, 16, 0, tzinfo=UTC)
    assert end == datetime(2026, 5, 17, 16, 0, tzinfo=UTC)


def test_days_bounds_span_whole_days_and_refuse_a_reversed_span():
    start, end = clock.days_bounds(date(2026, 5, 1), date(2026, 5, 3), SH)
    assert (end - start) == timedelta(days=3)
    with pytest.raises(ValueError, match="before the first"):
        clock.days_bounds(date(2026, 5, 3), date(2026, 5, 1), SH)


def test_daylight_saving_days_are_23_and_25_hours_long():
    spring_start, spring_end = clock.day_bounds(date(2026, 3, 8), "America/New_York")
    autumn_start, autumn_end = clock.day_bounds(date(2026, 11, 1), "America/New_York")
    assert spring_end - spring_start == timedelta(hours=23)
    assert autumn_end - autumn_start == timedelta(hours=25)


def test_a_naive_instant_is_refused():
    with pytest.raises(ValueError, match="time zone"):
        clock.local_today(datetime(2026, 5, 17, 12, 0), SH)


@pytest.mark.parametrize(
    ("utc", "send_time", "due"),
    [
        (datetime(2026, 5, 17, 1, 59, tzinfo=UTC), time(10, 0), False),  # 09:59 local
        (datetime(2026, 5, 17, 2, 0, tzinfo=UTC), time(10, 0), True),  # 10:00 local
        (datetime(2026, 5, 17, 15, 59, 59, tzinfo=UTC), time(10, 0), True),  # 23:59:59: a late tick still sends
        (datetime(2026, 5, 17, 16, 0, 1, tzinfo=UTC), time(10, 0), False),  # 00:00:01 next day: not yet
        (datetime(2026, 5, 17, 16, 0, 1, tzinfo=UTC), None, True),  # no send time: as soon as it happens
        (datetime(2026, 5, 17, 16, 0, 0, tzinfo=UTC), time(0, 0), True),
    ],
)
def test_send_time_reached(utc, send_time, due):
    assert clock.send_time_reached(utc, SH, send_time) is due


instants = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2090, 1, 1),
    timezones=st.sampled_from([UTC]),
)
zones = st.sampled_from([SH, "UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kathmandu"])


@given(instants, zones)
def test_every_instant_lies_in_exactly_its_local_day(at, tz):
    day = clock.local_today(at, tz)
    start, end = clock.day_bounds(day, tz)
    assert start <= at < end
    before_start, before_end = clock.day_bounds(day - timedelta(days=1), tz)
    assert before_end == start  # consecutive days leave no gap and do not overlap
    assert not before_start <= at < before_end


@given(st.times())
def test_hhmm_round_trip(t):
    text = f"{t.hour:02d}:{t.minute:02d}"
    assert clock.parse_hhmm(text) == time(t.hour, t.minute)


@pytest.mark.parametrize("text", ["24:00", "9", "09:60", "ab:cd", "", "09:30:00", "-1:30", "123:00"])
def test_bad_times_of_day_are_refused(text):
    with pytest.raises(ValueError, match="time of day"):
        clock.parse_hhmm(text)
