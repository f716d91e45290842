"""SLA rules: policy matching, due times with pauses and platform deadlines, clock states (pure, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from huitouke.service.calendar import add_business_minutes, add_business_time, business_time_between, calendar_build
from huitouke.service.sla import (
    BREACHED,
    BREACHING_SOON,
    FIRST_RESPONSE,
    NEXT_RESPONSE,
    OK,
    RESOLUTION,
    Clock,
    ClockState,
    Pause,
    SlaError,
    SlaPolicy,
    TicketTimes,
    clock_evaluate,
    counted_time,
    paused_due,
    policy_match,
    ticket_clocks,
    ticket_sla,
)

SH = ZoneInfo("Asia/Shanghai")
CAL = calendar_build(
    timezone="Asia/Shanghai",
    periods=["09:00-12:00", "13:30-18:00"],
    weekdays=[1, 2, 3, 4, 5],
    public_holidays="CN",
    years=[2025, 2026],
)
US = timedelta(microseconds=1)


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SH)


MONDAY_10 = sh(2025, 9, 22, 10)  # an ordinary Monday, 10:00 in Shanghai


def evaluate(minutes: int, at: datetime, **kwargs) -> ClockState:
    pauses = kwargs.pop("pauses", ())
    threshold = kwargs.pop("threshold", 0.8)
    clock = Clock(name=FIRST_RESPONSE, started_at=kwargs.pop("start", MONDAY_10), minutes=minutes, **kwargs)
    return clock_evaluate(CAL, clock, pauses=pauses, at=at, threshold=threshold)


# --- policy matching ----------------------------------------------------------------------------------------------

POLICIES = [
    SlaPolicy(name="default", position=90, first_response_minutes=240),
    SlaPolicy(
        name="vip disputes", position=10, types=("dispute", "complaint"), levels=("gold",), first_response_minutes=30
    ),
    SlaPolicy(name="urgent", position=20, priorities=("urgent",), first_response_minutes=60),
    SlaPolicy(name="phone", position=30, channels=("phone", "wangwang"), first_response_minutes=120),
    SlaPolicy(name="also default, later", position=90, first_response_minutes=999),
]


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ({"type": "dispute", "priority": "urgent", "channel": "phone", "level": "gold"}, "vip disputes"),
        ({"type": "dispute", "priority": "urgent", "channel": "phone", "level": "silver"}, "urgent"),
        ({"type": "dispute", "priority": "urgent", "channel": "phone", "level": None}, "urgent"),
        ({"type": "return", "priority": "normal", "channel": "wangwang", "level": "gold"}, "phone"),
        ({"type": "return", "priority": "normal", "channel": "email", "level": "gold"}, "default"),  # ties: given order
        ({"type": "complaint", "priority": "low", "channel": "sms", "level": "gold"}, "vip disputes"),
    ],
)
def test_first_matching_policy_by_position_wins_and_empty_lists_match_any(attrs, expected):
    policy = policy_match(POLICIES, **attrs)

    assert policy is not None
    assert policy.name == expected


def test_no_policy_matches():
    only_disputes = [SlaPolicy(name="disputes", types=("dispute",), resolution_minutes=600)]

    assert policy_match(only_disputes, type="return", priority="normal", channel="sms") is None
    assert policy_match([], type="return", priority="normal", channel="sms") is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"first_response_minutes": 0}, "first_response_minutes"),
        ({"next_response_minutes": -5}, "next_response_minutes"),
        ({"resolution_minutes": 10**9}, "resolution_minutes"),
        ({"resolution_minutes": 1.5}, "resolution_minutes"),
        ({"types": "dispute"}, "types"),
        ({"levels": (1,)}, "levels"),
    ],
)
def test_bad_policies_name_the_field(kwargs, field):
    with pytest.raises(SlaError) as caught:
        SlaPolicy(name="bad", **kwargs)

    assert caught.value.field == field


# --- due times ----------------------------------------------------------------------------------------------------


def test_due_times_in_business_minutes():
    policy = SlaPolicy(name="p", first_response_minutes=120, resolution_minutes=1440, next_response_minutes=60)
    times = TicketTimes(created_at=MONDAY_10)

    states = ticket_sla(CAL, policy, times, at=MONDAY_10)

    assert set(states) == {FIRST_RESPONSE, RESOLUTION}  # no reply yet, so no next-response clock
    assert states[FIRST_RESPONSE].due == sh(2025, 9, 22, 12)  # used up exactly at the lunch break
    assert states[RESOLUTION].due == sh(2025, 9, 25, 11, 30)  # 390 + 450 + 450 + 150 minutes
    assert states[FIRST_RESPONSE].governed_by == "business"
    assert states[FIRST_RESPONSE].state == OK
    assert states[FIRST_RESPONSE].fraction == 0.0


def test_next_response_clock_runs_from_the_oldest_unanswered_customer_message():
    policy = SlaPolicy(name="p", first_response_minutes=120, next_response_minutes=60)
    times = TicketTimes(
        created_at=MONDAY_10, first_replied_at=sh(2025, 9, 22, 10, 30), awaiting_reply_since=sh(2025, 9, 22, 17, 30)
    )

    states = ticket_sla(CAL, policy, times, at=sh(2025, 9, 23, 9, 10))

    assert states[FIRST_RESPONSE].state == OK
    assert states[FIRST_RESPONSE].met
    assert states[NEXT_RESPONSE].due == sh(2025, 9, 23, 9, 30)
    assert states[NEXT_RESPONSE].fraction == 40 / 60
    assert [c.name for c in ticket_clocks(policy, TicketTimes(created_at=MONDAY_10))] == [FIRST_RESPONSE]


def test_a_pause_shifts_the_due_time_by_the_business_time_it_covers():
    # waiting for the customer from Monday 11:00 to Tuesday 10:00: 60 minutes counted before, 60 after
    pause_start, pause_end = sh(2025, 9, 22, 11), sh(2025, 9, 23, 10)

    state = evaluate(120, at=sh(2025, 9, 23, 10, 30), pauses=[Pause(pause_start, pause_end)])

    assert state.business_due == sh(2025, 9, 23, 11)
    paused_minutes = business_time_between(CAL, pause_start, pause_end)
    assert paused_minutes == timedelta(minutes=390)
    assert state.due == add_business_time(CAL, sh(2025, 9, 22, 12), paused_minutes)
    assert state.elapsed == timedelta(minutes=90)
    assert not state.paused


def test_while_paused_the_business_due_time_is_unknown_and_the_count_stops():
    pause = Pause(sh(2025, 9, 22, 11, 30))  # still waiting for the customer

    state = evaluate(120, at=sh(2025, 9, 24, 16), pauses=[pause])

    assert state.paused
    assert state.due is None
    assert state.business_due is None
    assert state.elapsed == timedelta(minutes=90)
    assert state.state == OK  # 90 / 120 = 0.75, below the threshold
    assert state.soon_at is None  # the threshold comes after the pause started: not known yet


def test_a_pause_after_the_threshold_keeps_the_ticket_breaching_soon():
    state = evaluate(120, at=sh(2025, 9, 24, 16), pauses=[Pause(sh(2025, 9, 22, 11, 45))])

    assert state.state == BREACHING_SOON
    assert state.soon_at == sh(2025, 9, 22, 11, 36)


def test_pauses_outside_working_time_change_nothing_and_overlapping_pauses_count_once():
    friday = sh(2025, 9, 19, 17)
    weekend = Pause(sh(2025, 9, 20, 8), sh(2025, 9, 21, 20))
    plain = evaluate(120, at=sh(2025, 9, 23), start=friday)
    with_weekend = evaluate(120, at=sh(2025, 9, 23), start=friday, pauses=[weekend])
    assert with_weekend.due == plain.due == sh(2025, 9, 22, 10)
    # the next weekend's Sunday is a 调休 working day: pausing over it does shift the due time
    friday = sh(2025, 9, 26, 17)
    weekend = Pause(sh(2025, 9, 27, 8), sh(2025, 9, 28, 20))
    assert evaluate(120, at=sh(2025, 9, 30), start=friday).due == sh(2025, 9, 28, 10)
    assert evaluate(120, at=sh(2025, 9, 30), start=friday, pauses=[weekend]).due == sh(2025, 9, 29, 10)

    overlapping = [
        Pause(sh(2025, 9, 22, 10, 30), sh(2025, 9, 22, 11)),
        Pause(sh(2025, 9, 22, 10, 45), sh(2025, 9, 22, 11, 15)),
    ]
    assert evaluate(60, at=sh(2025, 9, 22, 12), pauses=overlapping).due == sh(2025, 9, 22, 11, 45)
    # pauses before the clock started are ignored
    before = Pause(sh(2025, 9, 19, 9), sh(2025, 9, 22, 10))
    assert evaluate(60, at=sh(2025, 9, 22, 12), pauses=[before]).due == sh(2025, 9, 22, 11)


def test_time_used_up_exactly_when_the_wait_begins_is_due_then():
    closed = Pause(sh(2025, 9, 22, 11), sh(2025, 9, 22, 15))
    still_open = Pause(sh(2025, 9, 22, 11))

    assert evaluate(60, at=sh(2025, 9, 22, 16), pauses=[closed]).due == sh(2025, 9, 22, 11)
    state = evaluate(60, at=sh(2025, 9, 22, 16), pauses=[still_open])
    assert state.due == sh(2025, 9, 22, 11)
    assert state.state == BREACHED
    assert paused_due(CAL, MONDAY_10, timedelta(minutes=60), [still_open]) == sh(2025, 9, 22, 11)
    assert paused_due(CAL, MONDAY_10, timedelta(minutes=61), [still_open]) is None


def test_a_later_pause_is_not_known_yet_and_a_stop_freezes_the_clock():
    later = Pause(sh(2025, 9, 22, 10, 30), sh(2025, 9, 22, 11))

    assert evaluate(60, at=sh(2025, 9, 22, 10, 15), pauses=[later]).due == sh(2025, 9, 22, 11)
    during = evaluate(60, at=sh(2025, 9, 22, 10, 45), pauses=[later])  # its end is not known yet either
    assert (during.paused, during.due, during.elapsed) == (True, None, timedelta(minutes=30))
    assert evaluate(60, at=sh(2025, 9, 22, 11, 40), pauses=[later]).due == sh(2025, 9, 22, 11, 30)
    stopped = evaluate(60, at=sh(2025, 9, 25, 9), stopped_at=sh(2025, 9, 22, 10, 20), pauses=[later])
    assert stopped.state == OK
    assert stopped.met
    assert stopped.elapsed == timedelta(minutes=20)
    assert stopped.due == sh(2025, 9, 22, 11)


# --- platform deadline --------------------------------------------------------------------------------------------


def test_an_earlier_platform_deadline_governs():
    deadline = sh(2025, 9, 22, 11)
    policy = SlaPolicy(name="p", first_response_minutes=240, resolution_minutes=2000)
    times = TicketTimes(created_at=MONDAY_10, platform_deadline=deadline)

    states = ticket_sla(CAL, policy, times, at=sh(2025, 9, 22, 10, 48))

    first = states[FIRST_RESPONSE]
    assert first.due == deadline
    assert first.business_due == sh(2025, 9, 22, 15, 30)
    assert first.governed_by == "deadline"
    assert first.fraction == 0.8  # 48 of the 60 wall-clock minutes to the deadline
    assert first.state == BREACHING_SOON
    assert first.soon_at == sh(2025, 9, 22, 10, 48)
    assert states[RESOLUTION].due == deadline
    assert ticket_sla(CAL, policy, times, at=deadline + US)[FIRST_RESPONSE].state == BREACHED


def test_a_later_platform_deadline_changes_nothing():
    state = evaluate(120, at=sh(2025, 9, 22, 11), deadline=sh(2025, 9, 23, 10))

    assert state.due == state.business_due == sh(2025, 9, 22, 12)
    assert state.governed_by == "business"
    assert state.state == OK
    assert state.soon_at == sh(2025, 9, 22, 11, 36)


def test_the_deadline_runs_through_pauses_and_nights():
    state = evaluate(120, at=sh(2025, 9, 22, 22), deadline=sh(2025, 9, 22, 21), pauses=[Pause(sh(2025, 9, 22, 10, 30))])

    assert state.paused
    assert state.due == sh(2025, 9, 22, 21)
    assert state.state == BREACHED


def test_a_deadline_before_the_start_is_already_all_gone():
    state = evaluate(120, at=MONDAY_10, deadline=sh(2025, 9, 22, 9))

    assert state.fraction == 1.0
    assert state.state == BREACHED


# --- states and thresholds ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "state"),
    [
        (MONDAY_10 + timedelta(minutes=48) - US, OK),
        (MONDAY_10 + timedelta(minutes=48), BREACHING_SOON),  # exactly 80 % gone
        (sh(2025, 9, 22, 11), BREACHING_SOON),  # the due instant itself is still in time
        (sh(2025, 9, 22, 11) + US, BREACHED),
        (sh(2025, 9, 22, 12, 30), BREACHED),  # in the lunch break, after the due time
    ],
)
def test_breaching_soon_and_breached_boundaries(at, state):
    result = evaluate(60, at=at)

    assert result.state == state
    assert result.soon_at == MONDAY_10 + timedelta(minutes=48)
    assert result.due == sh(2025, 9, 22, 11)


@pytest.mark.parametrize(
    ("threshold", "soon_minutes"),
    [(0.5, 30), (Decimal("0.9"), 54), (1, 60), (0.01, 0.6), (1 / 3, 20)],
)
def test_configurable_threshold(threshold, soon_minutes):
    soon = MONDAY_10 + timedelta(minutes=soon_minutes)

    assert evaluate(60, at=soon, threshold=threshold).state == BREACHING_SOON
    assert evaluate(60, at=soon - US, threshold=threshold).state == OK
    assert evaluate(60, at=soon, threshold=threshold).soon_at == soon


@pytest.mark.parametrize("threshold", [0, -0.1, 1.01, "0.8", True, None, float("nan")])
def test_bad_thresholds_are_refused(threshold):
    with pytest.raises(SlaError, match="threshold"):
        evaluate(60, at=MONDAY_10, threshold=threshold)


def test_a_clock_stopped_late_stays_breached_and_one_stopped_in_time_stays_ok():
    late = evaluate(60, at=sh(2025, 9, 30, 9), stopped_at=sh(2025, 9, 22, 11, 1))
    in_time = evaluate(60, at=sh(2025, 9, 30, 9), stopped_at=sh(2025, 9, 22, 10, 59))

    assert (late.state, late.met) == (BREACHED, False)
    assert (in_time.state, in_time.met) == (OK, True)
    assert not in_time.paused


def test_bad_inputs_name_the_field():
    with pytest.raises(SlaError, match="pauses"):
        Pause(sh(2025, 9, 22, 11), sh(2025, 9, 22, 10))
    with pytest.raises(SlaError, match="timezone-aware"):
        Pause(datetime(2025, 9, 22, 11))
    with pytest.raises(SlaError, match="clock"):
        Clock(name="lunch", started_at=MONDAY_10, minutes=5)
    with pytest.raises(SlaError, match="first_response_minutes"):
        Clock(name=FIRST_RESPONSE, started_at=MONDAY_10, minutes=0)
    with pytest.raises(SlaError, match="created_at"):
        TicketTimes(created_at=datetime(2025, 9, 22, 10))
    with pytest.raises(SlaError, match="deadline_clocks"):
        TicketTimes(created_at=MONDAY_10, deadline_clocks=("lunch",))


# --- properties ---------------------------------------------------------------------------------------------------

instants = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 10, 31), timezones=st.just(UTC))
clock_minutes = st.integers(min_value=1, max_value=20 * 450)
PROPS = settings(max_examples=150, deadline=None)


@PROPS
@given(instants, clock_minutes, instants, st.timedeltas(timedelta(0), timedelta(days=15)))
def test_a_pause_shifts_the_due_time_by_exactly_its_business_time(start, minutes, pause_start, length):
    assume(pause_start >= start)
    plain = add_business_minutes(CAL, start, minutes)

    shifted = paused_due(CAL, start, timedelta(minutes=minutes), [Pause(pause_start, pause_start + length)])

    if pause_start < plain:
        assert shifted == add_business_time(CAL, plain, business_time_between(CAL, pause_start, pause_start + length))
    else:
        assert shifted == plain


@PROPS
@given(instants, st.lists(st.tuples(instants, st.timedeltas(timedelta(0), timedelta(days=5))), max_size=4), instants)
def test_counted_time_plus_paused_time_is_all_business_time(start, spells, at):
    pauses = [Pause(s, s + length) for s, length in spells]
    state = clock_evaluate(CAL, Clock(name=RESOLUTION, started_at=start, minutes=600), pauses=pauses, at=at)
    assume(at > start)
    # the business time of the union of the pauses, clipped to [start, at)
    clipped = sorted((max(s, start), min(s + length, at)) for s, length in spells if s + length > start and s < at)
    covered, union_end = timedelta(0), start
    for s, e in clipped:
        s = max(s, union_end)
        if e > s:
            covered += business_time_between(CAL, s, e)
            union_end = e

    assert state.elapsed + covered == business_time_between(CAL, start, at)
    assert counted_time(CAL, start, at, []) == business_time_between(CAL, start, at)


@PROPS
@given(instants, clock_minutes, instants, st.sampled_from([0.5, 0.8, 0.95, 1.0]))
def test_states_agree_with_soon_at_and_due(start, minutes, at, threshold):
    state = clock_evaluate(CAL, Clock(name=RESOLUTION, started_at=start, minutes=minutes), at=at, threshold=threshold)

    assert state.due == add_business_minutes(CAL, start, minutes)
    assert state.soon_at is not None
    assert state.soon_at <= state.due
    expected = BREACHED if at > state.due else BREACHING_SOON if at >= state.soon_at else OK
    assert state.state == expected
    assert state.fraction == (state.elapsed / timedelta(minutes=minutes))
    if at < state.soon_at:
        assert state.fraction < threshold
    # the fraction never goes down as time passes
    later = clock_evaluate(
        CAL, Clock(name=RESOLUTION, started_at=start, minutes=minutes), at=at + timedelta(hours=3), threshold=threshold
    )
    assert later.fraction >= state.fraction
