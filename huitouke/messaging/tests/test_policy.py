"""The pure contact policy: one test per reason, quiet hours and the budget window (hypothesis where times vary)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huitouke.messaging.policy import (
    EXPIRE,
    HOLD,
    SEND,
    SUPPRESS,
    Decision,
    Facts,
    PolicySettings,
    budget_frees_at,
    decide,
    in_quiet_hours,
    marketing_answer,
    quiet_hours_end,
)

SH = ZoneInfo("Asia/Shanghai")
DEFAULT = PolicySettings()
# 14:00 in Shanghai: outside the default quiet hours (21:00-09:00)
NOON = datetime(2025, 5, 17, 14, 0, tzinfo=SH).astimezone(UTC)
NIGHT = datetime(2025, 5, 17, 23, 30, tzinfo=SH).astimezone(UTC)


def facts(purpose="care", **kw):
    kw.setdefault("address", "13800000000")
    if purpose == "marketing":
        kw.setdefault("consent", True)  # the customer agreed (the default opt-in model asks for it)
    return Facts(purpose=purpose, **kw)


@pytest.mark.parametrize("purpose", ["service", "transactional", "care", "marketing"])
def test_a_plain_message_is_sent(purpose):
    assert decide(facts(purpose), DEFAULT, NOON) == Decision(SEND)


@pytest.mark.parametrize("purpose", ["service", "transactional", "care", "marketing"])
def test_erased_customers_get_nothing(purpose):
    assert decide(facts(purpose, erased=True), DEFAULT, NOON) == Decision(SUPPRESS, "erased")


@pytest.mark.parametrize(("purpose", "expected"), [("care", "opted_out"), ("marketing", "opted_out")])
def test_an_opt_out_suppresses_care_and_marketing(purpose, expected):
    assert decide(facts(purpose, consent=False), DEFAULT, NOON) == Decision(SUPPRESS, expected)


@pytest.mark.parametrize("purpose", ["service", "transactional"])
def test_service_and_transactional_ignore_opt_outs(purpose):
    assert decide(facts(purpose, consent=False), DEFAULT, NOON).action == SEND


@pytest.mark.parametrize(("consent", "action"), [(None, SUPPRESS), (False, SUPPRESS), (True, SEND)])
def test_marketing_needs_a_yes_under_the_default_opt_in_model(consent, action):
    assert PolicySettings().marketing_consent == "opt_in"  # the default: only customers who agreed
    decision = decide(facts("marketing", consent=consent), PolicySettings(), NOON)
    assert decision.action == action
    if consent is None:
        assert decision.reason == "no_opt_in"


@pytest.mark.parametrize(("consent", "action"), [(None, SEND), (False, SUPPRESS), (True, SEND)])
def test_the_opt_out_model_sends_marketing_to_everyone_who_did_not_say_no(consent, action):
    decision = decide(facts("marketing", consent=consent), PolicySettings(marketing_consent="opt_out"), NOON)
    assert decision.action == action
    if consent is False:
        assert decision.reason == "opted_out"


@pytest.mark.parametrize("model", ["opt_in", "opt_out"])
def test_the_consent_model_does_not_touch_care(model):
    assert decide(facts("care"), PolicySettings(marketing_consent=model), NOON).action == SEND


T0 = datetime(2025, 5, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ([], None),
        ([(T0, True)], True),
        ([(T0, False)], False),
        ([(T0, False), (T0 + timedelta(days=1), True)], True),  # joined the group again after an unsubscribe
        ([(T0 + timedelta(days=1), False), (T0, True)], False),  # left it later
        ([(T0, True), (T0, False)], False),  # two answers at once: the no
        ([(T0, False), (T0, True)], False),
    ],
)
def test_the_latest_marketing_answer_counts(answers, expected):
    assert marketing_answer(answers) is expected


@pytest.mark.parametrize("reason", ["open_ticket", "negative_review"])
def test_hooks_suppress_marketing_only(reason):
    assert decide(facts("marketing", blocked_by=reason), DEFAULT, NOON) == Decision(SUPPRESS, reason)
    assert decide(facts("care", blocked_by=reason), DEFAULT, NOON).action == SEND


def test_no_address_is_suppressed():
    assert decide(facts("service", address=""), DEFAULT, NOON) == Decision(SUPPRESS, "no_address")


def test_deadline_passed_expires_before_anything_else():
    deadline = NOON - timedelta(minutes=1)
    assert decide(facts("care", erased=True, deadline=deadline), DEFAULT, NOON) == Decision(EXPIRE, "deadline_passed")


def test_quiet_hours_hold_care_until_nine_in_the_morning_shop_time():
    decision = decide(facts("care"), DEFAULT, NIGHT)
    assert decision.action == HOLD
    assert decision.reason == "quiet_hours"
    assert decision.until == datetime(2025, 5, 18, 9, 0, tzinfo=SH)


def test_quiet_hours_after_midnight_release_the_same_morning():
    early = datetime(2025, 5, 18, 3, 15, tzinfo=SH)
    assert decide(facts("marketing"), DEFAULT, early).until == datetime(2025, 5, 18, 9, 0, tzinfo=SH)


def test_quiet_hours_use_the_shop_time_zone():
    berlin = PolicySettings(tz="Europe/Berlin")
    # 23:30 in Shanghai is 17:30 in Berlin (summer time): not quiet there
    assert decide(facts("care"), berlin, NIGHT).action == SEND


@pytest.mark.parametrize("purpose", ["service", "transactional"])
def test_quiet_hours_do_not_hold_service_or_transactional(purpose):
    assert decide(facts(purpose), DEFAULT, NIGHT).action == SEND


def test_quiet_hours_past_the_deadline_expire():
    deadline = NIGHT + timedelta(hours=1)
    assert decide(facts("care", deadline=deadline), DEFAULT, NIGHT) == Decision(EXPIRE, "quiet_hours")


def test_equal_start_and_end_turn_quiet_hours_off():
    off = PolicySettings(quiet_start=time(0, 0), quiet_end=time(0, 0))
    assert decide(facts("care"), off, NIGHT).action == SEND


def test_budget_holds_until_the_oldest_contact_leaves_the_window():
    sent = [NOON - timedelta(days=6), NOON - timedelta(days=2)]
    decision = decide(facts("care", contacts=sent), DEFAULT, NOON)  # 2 care per 7 days used
    assert decision == Decision(HOLD, "contact_budget", NOON + timedelta(days=1))


def test_budget_counts_only_the_window():
    old = [NOON - timedelta(days=8), NOON - timedelta(days=7, seconds=1)]
    assert decide(facts("care", contacts=old), DEFAULT, NOON).action == SEND


def test_marketing_budget_is_one_per_week():
    decision = decide(facts("marketing", contacts=[NOON - timedelta(days=3)]), DEFAULT, NOON)
    assert decision.action == HOLD
    assert decision.until == NOON + timedelta(days=4)


def test_over_budget_past_the_deadline_expires():
    sent = [NOON - timedelta(days=1)]
    decision = decide(facts("marketing", contacts=sent, deadline=NOON + timedelta(days=2)), DEFAULT, NOON)
    assert decision == Decision(EXPIRE, "contact_budget")


def test_a_zero_budget_never_frees():
    shop = PolicySettings(budget_marketing=0)
    assert decide(facts("marketing"), shop, NOON) == Decision(SUPPRESS, "contact_budget")


def test_service_has_no_budget():
    many = [NOON - timedelta(hours=h) for h in range(1, 20)]
    assert decide(facts("service", contacts=many), DEFAULT, NOON).action == SEND


def test_staff_alerts_without_customer_skip_customer_rules():
    alert = Facts(purpose="service", address="hooks.example", has_customer=False, erased=True, consent=False)
    assert decide(alert, DEFAULT, NIGHT).action == SEND


times = st.times()


@given(times, times, times)
def test_in_quiet_hours_matches_a_minute_walk(t, start, end):
    """Against a brute force: walk from `start` forward minute by minute until `end`."""
    t, start, end = (x.replace(second=0, microsecond=0) for x in (t, start, end))
    if start == end:
        assert not in_quiet_hours(t, start, end)
        return
    minutes = lambda x: x.hour * 60 + x.minute  # noqa: E731
    span = (minutes(end) - minutes(start)) % 1440
    inside = (minutes(t) - minutes(start)) % 1440 < span
    assert in_quiet_hours(t, start, end) == inside


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)))
def test_quiet_end_is_the_next_allowed_minute(now):
    end = quiet_hours_end(now, DEFAULT)
    local = now.astimezone(SH)
    if end is None:
        assert not in_quiet_hours(local.time(), DEFAULT.quiet_start, DEFAULT.quiet_end)
        return
    assert end > now
    assert end - now <= timedelta(hours=12)
    assert end.astimezone(SH).time() == time(9, 0)
    assert not in_quiet_hours(end.astimezone(SH).time(), DEFAULT.quiet_start, DEFAULT.quiet_end)


@given(
    st.lists(st.integers(min_value=0, max_value=7 * 24 * 60), max_size=6),
    st.integers(min_value=1, max_value=4),
)
def test_budget_frees_when_one_more_fits(minutes_ago, limit):
    contacts = [NOON - timedelta(minutes=m) for m in minutes_ago]
    frees = budget_frees_at(contacts, limit, 7)
    if len(contacts) < limit:
        assert frees is None
        return
    assert frees is not None
    window = timedelta(days=7)
    # at `frees` fewer than `limit` of the contacts are still inside the window; a minute before, not
    assert sum(1 for c in contacts if c > frees - window) < limit
    assert sum(1 for c in contacts if c > frees - window - timedelta(minutes=1)) >= limit
