"""The pure date maths of return visits: occasions, holidays (lunar too), periods, retries, quiet hours, spill."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huitouke.visits import schedule

SH = ZoneInfo("Asia/Shanghai")
TZ = "Asia/Shanghai"


def test_event_window_is_n_days_back_with_catch_up() -> None:
    assert schedule.event_window(date(2026, 5, 17), 7) == (date(2026, 5, 8), date(2026, 5, 10))
    assert schedule.event_window(date(2026, 5, 17), 0) == (date(2026, 5, 15), date(2026, 5, 17))
    with pytest.raises(ValueError, match="negative"):
        schedule.event_window(date(2026, 5, 17), -1)


def test_mid_autumn_2026_visit_three_days_before_the_lunar_date() -> None:
    # 中秋 2026 is 25 September (lunar 8/15)
    assert schedule.holidays_due(date(2026, 9, 22), ["mid_autumn"], 3) == [("mid_autumn", date(2026, 9, 25))]
    # caught up on the two following days, not after the holiday
    assert schedule.holidays_due(date(2026, 9, 24), ["mid_autumn"], 3) == [("mid_autumn", date(2026, 9, 25))]
    assert schedule.holidays_due(date(2026, 9, 21), ["mid_autumn"], 3) == []
    assert schedule.holidays_due(date(2026, 9, 26), ["mid_autumn"], 1) == []
    assert schedule.holiday_occasion("mid_autumn", date(2026, 9, 25)) == "mid_autumn:2026"


def test_spring_festival_2027_and_a_solar_shop_event() -> None:
    # 春节 2027 is 6 February
    assert schedule.holidays_due(date(2027, 1, 30), ["spring_festival", "double_11"], 7) == [
        ("spring_festival", date(2027, 2, 6))
    ]
    assert schedule.holidays_due(date(2026, 11, 4), ["double_11"], 7) == [("double_11", date(2026, 11, 11))]


def test_every_n_days_periods_are_staggered_and_change_once_per_period() -> None:
    day = date(2026, 5, 17)
    ed = schedule.epoch_day(day)
    assert ed == 20590
    # customer 10 with N=90: offset 10, period (20590 + 10) // 90 = 228
    assert schedule.periodic_occasion(day, 10, 90) == "every:228"
    assert schedule.period_started_within(day, 10, 90) is ((20590 + 10) % 90 <= 2)


@given(st.integers(1, 400), st.integers(1, 10**9), st.dates(date(2000, 1, 1), date(2090, 1, 1)))
def test_each_customer_has_exactly_one_period_start_in_every_n_consecutive_days(
    every: int, customer_id: int, start: date
) -> None:
    from datetime import timedelta

    starts = [
        d
        for d in (start + timedelta(days=k) for k in range(every))
        if (schedule.epoch_day(d) + customer_id % every) % every == 0
    ]
    assert len(starts) == 1
    periods = {schedule.period_of(start + timedelta(days=k), customer_id, every) for k in range(every)}
    assert len(periods) <= 2


@pytest.mark.parametrize(
    ("clock", "start", "end", "quiet"),
    [
        (time(22, 0), time(21, 0), time(9, 0), True),
        (time(8, 59), time(21, 0), time(9, 0), True),
        (time(9, 0), time(21, 0), time(9, 0), False),
        (time(12, 30), time(12, 0), time(13, 30), True),
        (time(13, 30), time(12, 0), time(13, 30), False),
        (time(3, 0), None, None, False),
    ],
)
def test_quiet_hours(clock: time, start: time | None, end: time | None, quiet: bool) -> None:
    assert schedule.in_quiet_hours(clock, start, end) is quiet


def test_next_allowed_moves_out_of_the_quiet_night() -> None:
    late = datetime(2026, 5, 17, 22, 30, tzinfo=SH)
    assert schedule.next_allowed(late, TZ, time(21, 0), time(9, 0)) == datetime(2026, 5, 18, 9, 0, tzinfo=SH)
    early = datetime(2026, 5, 17, 7, 0, tzinfo=SH)
    assert schedule.next_allowed(early, TZ, time(21, 0), time(9, 0)) == datetime(2026, 5, 17, 9, 0, tzinfo=SH)
    noon = datetime(2026, 5, 17, 12, 0, tzinfo=SH)
    assert schedule.next_allowed(noon, TZ, time(21, 0), time(9, 0)) == noon


def test_retry_after_hours_skips_the_quiet_hours() -> None:
    at = datetime(2026, 5, 17, 18, 0, tzinfo=SH)
    assert schedule.retry_at(at, 2, TZ, time(21, 0), time(9, 0)) == datetime(2026, 5, 17, 20, 0, tzinfo=SH)
    assert schedule.retry_at(at, 4, TZ, time(21, 0), time(9, 0)) == datetime(2026, 5, 18, 9, 0, tzinfo=SH)
    with pytest.raises(ValueError, match="at least one hour"):
        schedule.retry_at(at, 0, TZ, None, None)


@pytest.mark.parametrize(("made", "allowed", "again"), [(1, 3, True), (2, 3, True), (3, 3, False), (1, 1, False)])
def test_attempts(made: int, allowed: int, again: bool) -> None:
    assert schedule.may_retry(made, allowed) is again


def test_capacity_spills_to_the_next_days() -> None:
    # 2 agents × 3 a day, 1 already used today: 5 more fit today, the 6th goes tomorrow
    slots = [schedule.slot(n, agents=2, capacity=3, used_today=1) for n in range(12)]
    assert [s.day_offset for s in slots] == [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2]
    assert [s.agent for s in slots[:4]] == [0, 1, 0, 1]
    assert schedule.slot(5, agents=3, capacity=0, start=2) == schedule.Slot(1, 0)
    with pytest.raises(ValueError, match="at least one agent"):
        schedule.slot(0, agents=0, capacity=1)


@given(st.integers(1, 20), st.integers(1, 50), st.integers(0, 100), st.integers(0, 500))
def test_no_agent_gets_more_than_capacity_on_a_day(agents: int, capacity: int, used: int, count: int) -> None:
    load: dict[tuple[int, int], int] = {}
    for n in range(count):
        s = schedule.slot(n, agents=agents, capacity=capacity, used_today=used)
        load[(s.day_offset, s.agent)] = load.get((s.day_offset, s.agent), 0) + 1
    for (_day, _agent), n in load.items():
        assert n <= capacity


@given(st.integers(0, 2**40), st.integers(0, 1000))
def test_holdout_share_zero_holds_nobody(customer_id: int, seed: int) -> None:
    assert not schedule.is_held_out(seed, customer_id, 0.0)
    assert 0 <= schedule.holdout_draw(seed, customer_id) < schedule.HOLDOUT_MODULUS


def test_holdout_share_is_close_to_the_asked_share() -> None:
    held = sum(schedule.is_held_out(3, cid, 0.2) for cid in range(1, 20001))
    assert 3800 <= held <= 4200


_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))


@given(
    st.datetimes(datetime(2020, 1, 1), datetime(2040, 1, 1), timezones=st.just(SH)),
    _times,
    _times,
)
def test_next_allowed_is_never_inside_the_quiet_hours_and_never_a_day_late(
    at: datetime, start: time, end: time
) -> None:
    allowed = schedule.next_allowed(at, TZ, start, end)
    assert allowed >= at
    assert allowed - at < timedelta(days=1)
    assert not schedule.in_quiet_hours(allowed.astimezone(SH).time(), start, end)
    if not schedule.in_quiet_hours(at.time(), start, end):
        assert allowed == at


@given(
    st.lists(
        st.tuples(st.sampled_from(["rating", "text", "choice"]), st.text("茶叶好吗abc ？", min_size=1)), max_size=20
    )
)
def test_question_lines_round_trip(specs: list[tuple[str, str]]) -> None:
    from huitouke.visits.forms import questions_parse, questions_text

    questions = []
    for i, (kind, text) in enumerate(specs):
        text = text.strip() or "好吗"
        q: dict[str, object] = {"key": f"q{i + 1}", "text": text, "kind": kind}
        if kind == "choice":
            q["choices"] = ["会", "不会"]
        questions.append(q)
    assert questions_parse(questions_text(questions)) == questions
